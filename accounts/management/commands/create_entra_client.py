import json

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts.connections.credentials import expiry_after_days
from accounts.connections.locations import entra_connection_settings
from accounts.connections.selectors import connection_free_name
from accounts.connections.services import DEFAULT_CONNECTION_NAME, entra_client_create
from accounts.exceptions import AccountsError
from accounts.models import ActivityAction
from accounts.services import organization_get
from accounts.services.activity import admin_activity_record


NO_BASE_URL = (
    "Say where Entra reaches the portal: --base-url http://HOST:PORT, or set PORTAL_BASE_URL "
    "(the demo of make run is at http://127.0.0.1:8000)."
)


class Command(BaseCommand):
    help = (
        "Create a provisioning connection with its own OAuth client (authorization code with "
        "https://portal.azure.com/TokenAuthorize, or client credentials) and print as one JSON "
        "object what to enter in Entra. The client secret is shown once."
    )

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument(
            "--name",
            default=None,
            help=f'The connection\'s name (default: "{DEFAULT_CONNECTION_NAME}", numbered when taken).',
        )
        parser.add_argument(
            "--redirect-uri",
            action="append",
            default=[],
            dest="redirect_uris",
            help="An extra https redirect URI besides https://portal.azure.com/TokenAuthorize (repeatable).",
        )
        parser.add_argument(
            "--secret-expires-days",
            type=int,
            default=None,
            help="The client secret expires after this many days (default: never); reminders go out "
            "14 and 3 days before.",
        )
        parser.add_argument(
            "--base-url",
            default=None,
            help="The portal's public URL with its port, e.g. http://127.0.0.1:8000 "
            "(default: PORTAL_BASE_URL).",
        )

    def handle(self, *args, slug, name, redirect_uris, secret_expires_days, base_url, **options):
        base = (base_url or settings.PORTAL_BASE_URL or "").rstrip("/")
        if not base:
            # Without it the URLs would say http://localhost/… with no port, which Entra cannot reach.
            raise CommandError(NO_BASE_URL)
        try:
            organization = organization_get(slug=slug)
            name = name or connection_free_name(base=DEFAULT_CONNECTION_NAME, organization=organization)
            issued = entra_client_create(
                organization=organization,
                name=name,
                extra_redirect_uris=redirect_uris,
                secret_expires_at=expiry_after_days(secret_expires_days),
            )
        except AccountsError as exc:
            raise CommandError(exc.message) from None
        admin_activity_record(
            action=ActivityAction.CONNECTION_CREATED,
            summary=f"Connected Microsoft Entra ID as “{issued.connection.name}” (new OAuth client).",
            target=issued.connection,
            command="create_entra_client",
        )
        self.stdout.write(json.dumps(entra_connection_settings(base, issued), indent=2))
