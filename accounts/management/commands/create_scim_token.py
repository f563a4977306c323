from django.core.management.base import BaseCommand, CommandError

from accounts.connections.services import scim_token_create
from accounts.exceptions import AccountsError
from accounts.services import organization_get


class Command(BaseCommand):
    help = (
        "Issue a SCIM bearer token (Entra's Secret Token) and print only the token. "
        "It never expires unless --expires-days is given."
    )

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--name", dest="label", help="A label to find and revoke the token by.")
        parser.add_argument("--expires-days", type=int, default=None)

    def handle(self, *args, slug, label, expires_days, **options):
        try:
            organization = organization_get(slug=slug)
            issued = scim_token_create(organization=organization, label=label, expires_days=expires_days)
        except AccountsError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(issued.secret)
