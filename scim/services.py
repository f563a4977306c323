"""Provisioning connections and their secret tokens: issue, revoke, authenticate."""

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
