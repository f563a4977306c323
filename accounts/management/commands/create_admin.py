from django.core.management.base import BaseCommand, CommandError

from accounts.exceptions import AccountsError
from accounts.models import ActivityAction
from accounts.services import admin_create, organization_get
from accounts.services.activity import admin_activity_record


class Command(BaseCommand):
    help = (
        "Create an organization admin who can use the portal: manage.py create_admin SLUG EMAIL --password PW"
    )

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("email")
        parser.add_argument("--password", required=True)

    def handle(self, *args, slug, email, password, **options):
        try:
            organization = organization_get(slug=slug)
            account = admin_create(organization=organization, email=email, password=password)
        except AccountsError as exc:
            raise CommandError(exc.message) from None
        admin_activity_record(
            action=ActivityAction.ADMIN_CREATED,
            summary=f"Created admin {account.user_name}.",
            target=account,
            command="create_admin",
        )
        self.stdout.write(f"Created admin {account.user_name} of {organization.slug}.")
