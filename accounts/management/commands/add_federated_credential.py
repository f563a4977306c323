import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts.connections.federation.services import (
    default_audience,
    federated_credential_create,
    federated_credential_description,
)
from accounts.connections.models import ProvisioningConnection
from accounts.exceptions import AccountsError
from accounts.models import ActivityAction
from accounts.services import organization_get
from accounts.services.activity import admin_activity_record


NO_AUDIENCE = (
    "Say which audience the assertions carry: --audience AUD, or set PORTAL_BASE_URL "
    "(the default audience is its /o/token/)."
)
NO_CONNECTION = "Organization '{slug}' has no provisioning connection named '{name}'."
UNREADABLE = "Cannot read the JWK Set file {path}: {error}"


class Command(BaseCommand):
    help = (
        "Let a provisioning connection get tokens with a signed JWT from an identity provider "
        "(Workload Identity Federation, RFC 7523) instead of a client secret, and print as JSON "
        "what was created."
    )

    def add_arguments(self, parser):
        parser.add_argument("slug", help="The organization.")
        parser.add_argument("--connection", required=True, help="The provisioning connection's name.")
        parser.add_argument(
            "--issuer",
            required=True,
            help="The assertions' iss, e.g. https://login.microsoftonline.com/TENANT/v2.0.",
        )
        parser.add_argument("--subject", required=True, help="The assertions' sub.")
        parser.add_argument("--audience", default=None, help="The assertions' aud (default: our token URL).")
        keys = parser.add_mutually_exclusive_group(required=True)
        keys.add_argument(
            "--jwks-url", default=None, help="Where the issuer publishes its signing keys (https)."
        )
        keys.add_argument("--jwks-file", default=None, help="A file with the JWK Set, for air-gapped tests.")

    def handle(self, *args, slug, connection, issuer, subject, audience, jwks_url, jwks_file, **options):
        base = settings.PORTAL_BASE_URL
        if not audience and not base:
            raise CommandError(NO_AUDIENCE)
        jwks = None
        if jwks_file:
            try:
                jwks = Path(jwks_file).read_text()
            except (OSError, UnicodeDecodeError) as exc:
                raise CommandError(UNREADABLE.format(path=jwks_file, error=exc)) from None
        try:
            organization = organization_get(slug=slug)
            target = (
                ProvisioningConnection.objects.select_related("organization", "application")
                .filter(organization=organization, name=connection)
                .first()
            )
            if target is None:
                raise CommandError(NO_CONNECTION.format(slug=slug, name=connection))
            credential = federated_credential_create(
                connection=target,
                issuer=issuer,
                subject=subject,
                audience=audience,
                base=base,
                jwks_url=jwks_url,
                jwks=jwks,
            )
        except AccountsError as exc:
            raise CommandError(exc.message) from None
        admin_activity_record(
            action=ActivityAction.CHANGED,
            summary=f"Added federated credential {credential.subject} of {credential.issuer}.",
            target=target,
            command="add_federated_credential",
        )
        token_url = default_audience(base) if base else None
        self.stdout.write(
            json.dumps(federated_credential_description(credential, token_url=token_url), indent=2)
        )
