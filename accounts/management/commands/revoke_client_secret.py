from django.core.management.base import BaseCommand, CommandError

from accounts.connections.credentials import client_secret_revoke, connection_named, ended_tokens_sentence
from accounts.connections.services import DEFAULT_CONNECTION_NAME
from accounts.exceptions import AccountsError
from accounts.models import ActivityAction
from accounts.services import organization_get
from accounts.services.activity import admin_activity_record


class Command(BaseCommand):
    help = (
        "Revoke one of a connection's OAuth client secrets by its first characters (as the portal "
        "shows them): manage.py revoke_client_secret SLUG PREFIX [--connection NAME]"
    )

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("prefix")
        parser.add_argument("--connection", default=DEFAULT_CONNECTION_NAME, help="The connection's name.")

    def handle(self, *args, slug, prefix, connection, **options):
        try:
            organization = organization_get(slug=slug)
            target = connection_named(organization=organization, name=connection)
            revoked = client_secret_revoke(connection=target, prefix=prefix)
            prefix = revoked.credential.prefix
        except AccountsError as exc:
            raise CommandError(exc.message) from None
        admin_activity_record(
            action=ActivityAction.CLIENT_SECRET_REVOKED,
            summary=f"Revoked client secret {prefix}… of the OAuth client.",
            target=target,
            command="revoke_client_secret",
        )
        self.stdout.write(
            f"Revoked client secret {prefix}… of {target.name} ({organization.slug}); "
            f"{ended_tokens_sentence(revoked.access_tokens_ended)}."
        )
