import json

from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse

from accounts.exceptions import AccountsError
from accounts.services import organization_get
from scim.locations import base_location
from scim.services import DEFAULT_CONNECTION_NAME, entra_client_create


class Command(BaseCommand):
    help = (
        "Create a provisioning connection with its own OAuth client for Entra's client-credentials "
        "grant, and print as one JSON object what to enter in Entra (the secret is shown once)."
    )

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--name", default=DEFAULT_CONNECTION_NAME)
        parser.add_argument(
            "--base-url", default=None, help="The portal's public URL (default: PORTAL_BASE_URL)."
        )

    def handle(self, *args, slug, name, base_url, **options):
        try:
            organization = organization_get(slug=slug)
            issued = entra_client_create(organization=organization, name=name)
        except AccountsError as exc:
            raise CommandError(exc.message) from None
        base = (base_url or base_location()).rstrip("/")
        self.stdout.write(
            json.dumps(
                {
                    "organization": organization.slug,
                    "connection": issued.connection.name,
                    "tenant_url": base + reverse("scim:root"),
                    "token_url": base + reverse("oauth2_provider:token"),
                    "client_id": issued.client_id,
                    "client_secret": issued.client_secret,
                    "scope": "scim",
                },
                indent=2,
            )
        )
