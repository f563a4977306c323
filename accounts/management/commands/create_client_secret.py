from django.core.management.base import BaseCommand, CommandError

from accounts.connections.credentials import client_secret_create, connection_named, expiry_after_days
from accounts.connections.services import DEFAULT_CONNECTION_NAME
from accounts.exceptions import AccountsError
from accounts.models import ActivityAction
from accounts.services import organization_get
from accounts.services.activity import admin_activity_record


class Command(BaseCommand):
    help = (
        "Rotate a connection's OAuth client secret: issue a new one beside the current one (at most "
        "two live) and print only the new secret. Revoke the old one in the portal once Entra uses "
        "the new one. It never expires unless --expires-days is given."
    )

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--connection", default=DEFAULT_CONNECTION_NAME, help="The connection's name.")
        parser.add_argument("--expires-days", type=int, default=None)

    def handle(self, *args, slug, connection, expires_days, **options):
        try:
            organization = organization_get(slug=slug)
            issued = client_secret_create(
                connection=connection_named(organization=organization, name=connection),
                expires_at=expiry_after_days(expires_days),
            )
        except AccountsError as exc:
            raise CommandError(exc.message) from None
        admin_activity_record(
            action=ActivityAction.CLIENT_SECRET_ISSUED,
            summary=f"Issued client secret {issued.credential.prefix}… of the OAuth client.",
            target=issued.credential.connection,
            command="create_client_secret",
        )
        self.stdout.write(issued.secret)
