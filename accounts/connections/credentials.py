"""
Rotation of a connection's credentials without downtime: at most two live (unrevoked, unexpired)
secret tokens and two live client secrets per connection, so the admin issues the new one, enters
it in Entra, watches "last used" move to it and then revokes the old one. Optional expiry dates;
the reminders before them are mailed by provisioning_logs.credential_expiry.
"""

import hashlib
import ipaddress
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.contrib.auth.hashers import check_password, make_password
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from oauth2_provider.models import get_access_token_model, get_refresh_token_model

from accounts.connections.issued_tokens import AccessTokenCredential
from accounts.connections.models import ConnectionClientSecret, ProvisioningConnection
from accounts.exceptions import InvalidAttributeValue, UniquenessConflict


MAX_LIVE_CREDENTIALS = 2
# last_used_at is a hint for admins, not an audit record: refresh it at most this often so a
# busy connection does not write on every request.
LAST_USED_RESOLUTION = timedelta(minutes=5)
SECRET_PREFIX_LENGTH = 8
TOO_MANY_TOKENS = (
    "This connection already has two live secret tokens. Revoke the one Entra no longer uses "
    "(compare “Last used”) before issuing another."
)
TOO_MANY_SECRETS = (
    "This connection already has two live client secrets. Revoke the one Entra no longer uses "
    "(compare “Last used”) before issuing another."
)
BAD_EXPIRY = "--expires-days must be a positive number of days."
EXPIRY_IN_THE_PAST = "The expiry date must be in the future."
NO_OAUTH_CLIENT = "This connection has no OAuth client, so it has no client secrets."
NO_SUCH_SECRET = "This client secret does not exist or is revoked already."
AMBIGUOUS_PREFIX = "More than one live client secret starts with '{prefix}': give more of it."
NO_SUCH_CONNECTION = "Organization '{slug}' has no provisioning connection named '{name}'."


def live(*, now: datetime | None = None) -> Q:
    """The credentials that authenticate right now (one definition for tokens and secrets)."""
    now = now or timezone.now()
    return Q(revoked_at__isnull=True) & (Q(expires_at__isnull=True) | Q(expires_at__gt=now))


def expiry_after_days(days: int | None, *, now: datetime | None = None) -> datetime | None:
    """The expiry of the commands' --expires-days (None: never expires)."""
    if days is None:
        return None
    if days <= 0:
        raise InvalidAttributeValue(BAD_EXPIRY)
    return (now or timezone.now()) + timedelta(days=days)


def expiry_on(day: date | None) -> datetime | None:
    """The expiry of the portal's date field: the credential stops working at 00:00 UTC that day."""
    return None if day is None else datetime.combine(day, time.min, tzinfo=UTC)


def check_expiry(expires_at: datetime | None, *, now: datetime) -> None:
    if expires_at is not None and expires_at <= now:
        raise InvalidAttributeValue(EXPIRY_IN_THE_PAST)


def lock_room_for_one_more(connection: ProvisioningConnection, credentials, *, message: str, now) -> None:
    """
    Inside the caller's transaction: lock the connection row, so concurrent issues of the same
    connection queue here and the second one counts the first one's credential.
    """
    ProvisioningConnection.objects.select_for_update().filter(pk=connection.pk).first()
    if credentials.filter(live(now=now)).count() >= MAX_LIVE_CREDENTIALS:
        raise UniquenessConflict(message)


def mark_use(credential, *, client_address: str | None, now: datetime | None = None) -> bool:
    """
    Refresh the credential's last use (and from where), at most every LAST_USED_RESOLUTION;
    whether it was written.
    """
    now = now or timezone.now()
    if credential.last_used_at is not None and now - credential.last_used_at <= LAST_USED_RESOLUTION:
        return False
    address = _ip_or_none(client_address)
    type(credential).objects.filter(pk=credential.pk).update(last_used_at=now, last_used_from=address)
    credential.last_used_at, credential.last_used_from = now, address
    return True


def _ip_or_none(address: str | None) -> str | None:
    # The column is an address (inet on PostgreSQL): a peer that is not one (a unix socket) is None.
    try:
        return str(ipaddress.ip_address(address)) if address else None
    except ValueError:
        return None


def connection_named(*, organization, name: str) -> ProvisioningConnection:
    connection = (
        ProvisioningConnection.objects.select_related("organization", "application")
        .filter(organization=organization, name=name)
        .first()
    )
    if connection is None:
        raise InvalidAttributeValue(NO_SUCH_CONNECTION.format(slug=organization.slug, name=name))
    return connection


# Client secrets -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class IssuedSecret:
    credential: ConnectionClientSecret
    client_id: str
    secret: str  # shown once, never stored


def new_client_secret() -> str:
    from oauth2_provider.generators import generate_client_secret

    return generate_client_secret()


def client_secret_create(
    *, connection: ProvisioningConnection, expires_at: datetime | None = None, secret: str | None = None
) -> IssuedSecret:
    """A new live client secret of the connection's OAuth client, beside (at most) one other."""
    if connection.application_id is None:
        raise InvalidAttributeValue(NO_OAUTH_CLIENT)
    now = timezone.now()
    check_expiry(expires_at, now=now)
    secret = secret or new_client_secret()
    with transaction.atomic():
        lock_room_for_one_more(
            connection,
            ConnectionClientSecret.objects.filter(connection=connection),
            message=TOO_MANY_SECRETS,
            now=now,
        )
        credential = ConnectionClientSecret.objects.create(
            connection=connection,
            secret_hash=make_password(secret),
            prefix=secret[:SECRET_PREFIX_LENGTH],
            created_at=now,
            expires_at=expires_at,
        )
    return IssuedSecret(credential=credential, client_id=connection.application.client_id, secret=secret)


@dataclass(frozen=True)
class RevokedSecret:
    credential: ConnectionClientSecret
    access_tokens_ended: int  # the access tokens it got, which stopped working with it


@transaction.atomic
def client_secret_revoke(
    *, connection: ProvisioningConnection, secret_id: int | None = None, prefix: str | None = None
) -> RevokedSecret:
    """Revoke one secret, named by id (portal) or by the start of the secret (commands)."""
    unrevoked = ConnectionClientSecret.objects.select_for_update().filter(
        connection=connection, revoked_at__isnull=True
    )
    if prefix is not None:
        # Matched against the recorded prefix: the secret itself is only stored hashed.
        prefix = prefix[:SECRET_PREFIX_LENGTH]
        matches = list(unrevoked.filter(prefix__startswith=prefix)[:2]) if prefix else []
        if len(matches) > 1:
            raise InvalidAttributeValue(AMBIGUOUS_PREFIX.format(prefix=prefix))
        credential = matches[0] if matches else None
    else:
        credential = unrevoked.filter(pk=secret_id).first()
    if credential is None:
        raise InvalidAttributeValue(NO_SUCH_SECRET)
    credential.revoked_at = timezone.now()
    credential.save(update_fields=["revoked_at"])
    return RevokedSecret(credential=credential, access_tokens_ended=access_tokens_end(credential))


def access_tokens_end(credential) -> int:
    """
    The access tokens a credential (client secret or federated credential) got stop working now,
    not when they expire, and their refresh tokens with them: a revoked secret may have leaked.
    Returns how many were ended.
    """
    tokens = get_access_token_model().objects.filter(
        **{f"provisioning_credential__{_credential_field(credential)}": credential}
    )
    ended = tokens.count()
    refresh_tokens = get_refresh_token_model().objects.filter(access_token__in=tokens, revoked__isnull=True)
    for refresh_token in refresh_tokens:
        refresh_token.revoke()  # django-oauth-toolkit's: marks it revoked and deletes its access token
    tokens.delete()
    return ended


def _credential_field(credential) -> str:
    """AccessTokenCredential's field for this kind of credential."""
    return "client_secret" if isinstance(credential, ConnectionClientSecret) else "federated_credential"


def ended_tokens_sentence(count: int) -> str:
    """What a revocation did to the secret's access tokens, for the admin's message and the command."""
    if count == 0:
        return "it had no live access tokens"
    if count == 1:
        return "the one access token it got stopped working"
    return f"the {count} access tokens it got stopped working"


def access_token_record_credential(*, token: str, credential) -> None:
    """Remember which credential got the access token `token` (just issued at /o/token/)."""
    checksum = hashlib.sha256(token.encode()).hexdigest()
    access_token = get_access_token_model().objects.get(token_checksum=checksum)
    AccessTokenCredential.objects.create(
        access_token=access_token, **{_credential_field(credential): credential}
    )


def client_secret_authenticate(
    *, connection: ProvisioningConnection, secret: str, client_address: str | None = None
) -> ConnectionClientSecret | None:
    """The live client secret of the connection that `secret` is, or None (revoked, expired, wrong)."""
    if not secret or len(secret) > 255:
        return None
    now = timezone.now()
    # The prefix narrows the (slow) hash checks to the secret it can be; a secret taken over from
    # django-oauth-toolkit's Application has none recorded.
    candidates = ConnectionClientSecret.objects.filter(live(now=now), connection=connection).filter(
        Q(prefix=secret[:SECRET_PREFIX_LENGTH]) | Q(prefix="")
    )
    for credential in candidates:
        if check_password(secret, credential.secret_hash):
            mark_use(credential, client_address=client_address, now=now)
            return credential
    return None


def unusable_application_secret() -> str:
    """What the Application keeps as its own secret: the hash of a secret nobody knows."""
    return make_password(secrets.token_urlsafe(32))
