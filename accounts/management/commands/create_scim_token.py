from django.core.management.base import BaseCommand, CommandError

from accounts.connections.services import scim_token_create
from accounts.exceptions import AccountsError
from accounts.models import ActivityAction
from accounts.services import organization_get
from accounts.services.activity import admin_activity_record


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
        admin_activity_record(
            action=ActivityAction.TOKEN_ISSUED,
            summary=f"Issued secret token {issued.token.label} ({issued.token.prefix}…).",
            target=issued.token.connection,
            command="create_scim_token",
        )
        self.stdout.write(issued.secret)
