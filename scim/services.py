"""Provisioning connections and their credentials (secret tokens, OAuth clients)."""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.exceptions import InvalidAttributeValue, UniquenessConflict
from accounts.models import Organization
from scim.models import ProvisioningConnection, ScimSecretToken


TOKEN_PREFIX = "wat_"
DEFAULT_CONNECTION_NAME = "Microsoft Entra ID"
# last_used_at is a hint for admins, not an audit record: refresh it at most this often so a
# busy connection does not write on every request.
LAST_USED_RESOLUTION = timedelta(minutes=5)
LABEL_TAKEN = "A token labelled '{label}' is already active for this organization."
NO_SUCH_TOKEN = "No active token labelled '{label}' in organization '{slug}'."
BAD_EXPIRY = "--expires-days must be a positive number of days."
CONNECTION_TAKEN = "A provisioning connection named '{name}' already exists in this organization."


@dataclass(frozen=True)
class IssuedToken:
    token: ScimSecretToken
    secret: str  # shown once, never stored


def token_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@transaction.atomic
def connection_get_or_create(*, organization: Organization, name: str = DEFAULT_CONNECTION_NAME):
    connection, _ = ProvisioningConnection.objects.get_or_create(organization=organization, name=name)
    return connection


def scim_token_create(
    *,
    organization: Organization,
    label: str | None = None,
    expires_days: int | None = None,
    connection_name: str = DEFAULT_CONNECTION_NAME,
) -> IssuedToken:
    """Issue a secret token; by default it never expires, as Entra's Secret Token must not."""
    if expires_days is not None and expires_days <= 0:
        raise InvalidAttributeValue(BAD_EXPIRY)
    now = timezone.now()
    label = label or f"token-{now:%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    try:
        with transaction.atomic():
            connection = connection_get_or_create(organization=organization, name=connection_name)
            if ScimSecretToken.objects.filter(
                connection__organization=organization, label=label, revoked_at__isnull=True
            ).exists():
                raise UniquenessConflict(LABEL_TAKEN.format(label=label))
            token = ScimSecretToken.objects.create(
                connection=connection,
                label=label,
                digest=token_digest(secret),
                prefix=secret[:10],
                expires_at=now + timedelta(days=expires_days) if expires_days else None,
            )
    except IntegrityError:
        raise UniquenessConflict(LABEL_TAKEN.format(label=label)) from None
    return IssuedToken(token=token, secret=secret)


@transaction.atomic
def scim_token_revoke(*, organization: Organization, label: str) -> int:
    revoked = ScimSecretToken.objects.filter(
        connection__organization=organization, label=label, revoked_at__isnull=True
    ).update(revoked_at=timezone.now())
    if not revoked:
        raise InvalidAttributeValue(NO_SUCH_TOKEN.format(label=label, slug=organization.slug))
    return revoked


def scim_token_authenticate(secret: str) -> ScimSecretToken | None:
    """The usable token with this secret, with its connection and organization, or None."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    token = (
        ScimSecretToken.objects.select_related("connection__organization")
        .filter(digest=token_digest(secret))
        .first()
    )
    if token is None or not token.is_usable():
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        ScimSecretToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


@dataclass(frozen=True)
class IssuedClient:
    connection: ProvisioningConnection
    client_id: str
    client_secret: str  # shown once; stored hashed by django-oauth-toolkit


def entra_client_create(*, organization: Organization, name: str = DEFAULT_CONNECTION_NAME) -> IssuedClient:
    """
    A provisioning connection with its own confidential OAuth client for Entra's
    client-credentials grant ("OAuth2 Client Credentials Grant" in Entra's provisioning settings).
    """
    from oauth2_provider.generators import generate_client_secret
    from oauth2_provider.models import get_application_model

    application_model = get_application_model()
    secret = generate_client_secret()
    with transaction.atomic():
        if ProvisioningConnection.objects.filter(organization=organization, name=name).exists():
            raise UniquenessConflict(CONNECTION_TAKEN.format(name=name))
        application = application_model.objects.create(
            name=f"{organization.slug}: {name}",
            client_type=application_model.CLIENT_CONFIDENTIAL,
            authorization_grant_type=application_model.GRANT_CLIENT_CREDENTIALS,
            client_secret=secret,
        )
        connection = ProvisioningConnection.objects.create(
            organization=organization, name=name, application=application
        )
    return IssuedClient(connection=connection, client_id=application.client_id, client_secret=secret)


def oauth_token_authenticate(secret: str):
    """
    The connection an OAuth access token (client-credentials) belongs to, or None when the token
    is unknown, expired, lacks the `scim` scope or belongs to no provisioning connection. One
    query: django-oauth-toolkit stores the token's SHA-256 (RFC 9700 token storage).
    """
    from oauth2_provider.models import get_access_token_model

    if len(secret) > 512:
        return None
    token = (
        get_access_token_model()
        .objects.select_related("application__provisioning_connection__organization")
        .filter(token_checksum=hashlib.sha256(secret.encode()).hexdigest())
        .first()
    )
    if token is None or not token.is_valid(["scim"]) or token.application is None:
        return None
    return getattr(token.application, "provisioning_connection", None)
