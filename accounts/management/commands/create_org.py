from django.core.management.base import BaseCommand, CommandError

from accounts.exceptions import AccountsError
from accounts.services import organization_create


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
        self.stdout.write(f"Created organization {organization.slug} ({organization.name}).")
