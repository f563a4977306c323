from django.core.management.base import BaseCommand, CommandError

from accounts.exceptions import AccountsError
from accounts.models import ActivityAction
from accounts.services import organization_create
from accounts.services.activity import admin_activity_record


class Command(BaseCommand):
    help = "Create an organization: manage.py create_org SLUG --name NAME"

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--name", required=True)

    def handle(self, *args, slug, name, **options):
        try:
            organization = organization_create(slug=slug, name=name)
        except AccountsError as exc:
            raise CommandError(exc.message) from None
        admin_activity_record(
            action=ActivityAction.ORGANIZATION_CREATED,
            summary=f"Created organization {organization.slug} ({organization.name}).",
            target=organization,
            command="create_org",
        )
        self.stdout.write(f"Created organization {organization.slug} ({organization.name}).")
