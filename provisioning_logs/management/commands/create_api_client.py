import json

from django.core.management.base import BaseCommand, CommandError

from accounts.exceptions import AccountsError
from accounts.models import ActivityAction
from accounts.services import organization_get
from accounts.services.activity import admin_activity_record
from accounts.sso.locations import portal_base
from provisioning_logs.api.clients import api_client_create, api_client_settings


class Command(BaseCommand):
    help = (
        "Create an audit API client of an organization (OAuth 2 client credentials, scope audit:read) "
        "and print as one JSON object what the SIEM or tool needs. The client secret is shown once."
    )

    def add_arguments(self, parser):
        parser.add_argument("slug", help="The organization's slug.")
        parser.add_argument("--name", required=True, help="What the client is, for example 'Splunk'.")
        parser.add_argument(
            "--base-url", default=None, help="The portal's public URL (default: PORTAL_BASE_URL)."
        )

    def handle(self, *args, slug, name, base_url, **options):
        try:
            issued = api_client_create(organization=organization_get(slug=slug), name=name)
        except AccountsError as exc:
            raise CommandError(exc.message) from None
        admin_activity_record(
            action=ActivityAction.API_CLIENT_CREATED,
            summary=f"Created API client {issued.client.name}.",
            target=issued.client,
            command="create_api_client",
        )
        self.stdout.write(json.dumps(api_client_settings(issued, base_url or portal_base()), indent=2))
