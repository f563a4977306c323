"""Provisioning connections and their credentials (secret tokens, OAuth clients)."""

import secrets
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from django.db import DEFAULT_DB_ALIAS, IntegrityError, transaction
from django.utils import timezone

from accounts import prepared
from accounts.connections import token_cache
from accounts.connections.credentials import (
    LAST_USED_RESOLUTION,
    TOO_MANY_TOKENS,
    check_expiry,
    client_secret_create,
    expiry_after_days,
    lock_room_for_one_more,
    mark_use,
    new_client_secret,
    unusable_application_secret,
)
from accounts.connections.models import ProvisioningConnection, ScimSecretToken
from accounts.connections.profiles import ClientProfile, profile_for_user_agent
from accounts.connections.selectors import TOKEN_PREFIX, token_digest
from accounts.exceptions import InvalidAttributeValue, UniquenessConflict
from accounts.models import Organization, OrganizationRole
from accounts.services.common import check_length


DEFAULT_CONNECTION_NAME = "Microsoft Entra ID"
LABEL_TAKEN = "A token labelled '{label}' is already active for this organization."
NO_SUCH_TOKEN = "No active token labelled '{label}' in organization '{slug}'."
CONNECTION_TAKEN = "A provisioning connection named '{name}' already exists in this organization."


@dataclass(frozen=True)
class IssuedToken:
    token: ScimSecretToken
    secret: str  # shown once, never stored


@transaction.atomic
def connection_get_or_create(*, organization: Organization, name: str = DEFAULT_CONNECTION_NAME):
    connection, _ = ProvisioningConnection.objects.get_or_create(organization=organization, name=name)
    return connection


def scim_token_create(
    *,
    organization: Organization,
    label: str | None = None,
    expires_days: int | None = None,
    expires_at: datetime | None = None,
    connection_name: str = DEFAULT_CONNECTION_NAME,
) -> IssuedToken:
    """
    Issue a secret token; by default it never expires, as Entra's Secret Token must not. A
    connection holds at most two live ones (rotation: the new one beside the old one).
    """
    now = timezone.now()
    expires_at = expires_at or expiry_after_days(expires_days, now=now)
    check_expiry(expires_at, now=now)
    label = label or f"token-{now:%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    try:
        with transaction.atomic():
            connection = connection_get_or_create(organization=organization, name=connection_name)
            if ScimSecretToken.objects.filter(
                connection__organization=organization, label=label, revoked_at__isnull=True
            ).exists():
                raise UniquenessConflict(LABEL_TAKEN.format(label=label))
            lock_room_for_one_more(connection, connection.tokens.all(), message=TOO_MANY_TOKENS, now=now)
            token = ScimSecretToken.objects.create(
                connection=connection,
                label=label,
                digest=token_digest(secret),
                prefix=secret[:10],
                created_at=now,
                expires_at=expires_at,
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


def scim_token_authenticate(secret: str, *, client_address: str | None = None) -> ScimSecretToken | None:
    """
    The usable token with this secret, with its connection and organization, or None. One this
    process kept (token_cache) comes back with `kept_epoch` set, the epoch it was read under: the
    caller confirms the epoch has not changed since (scim.auth.throttle) before trusting it.
    """
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    digest = token_digest(secret)
    kept = token_cache.recall(digest)
    if kept is not None:
        token = _token_from_row(kept.row)
        if token.is_usable():
            token.kept_epoch = kept.epoch
            if mark_use(token, client_address=client_address):
                token_cache.keep(digest, _row_of(token), kept.epoch, kept_at=kept.kept_at)
            return token
        token_cache.forget(digest)
    epoch = token_cache.epoch_now()  # before the read: a change committed after it renews the epoch
    found = prepared.rows("scim-token", _token_query, digest)
    token = _token_from_row(found[0]) if found else None
    if token is None or not token.is_usable():
        return None
    token.kept_epoch = None
    mark_use(token, client_address=client_address)
    if epoch is not None and token.connection.enabled:
        token_cache.keep(digest, _row_of(token), epoch)
    return token


# The token, its connection and organization: every column of each, in one row.
_TOKEN_COLUMNS = tuple(
    (model, prefix, tuple(field.attname for field in model._meta.concrete_fields))
    for model, prefix in (
        (ScimSecretToken, ""),
        (ProvisioningConnection, "connection__"),
        (Organization, "connection__organization__"),
    )
)


def _token_query(digest: str):
    """
    One lookup on the unique digest, compiled once (accounts.prepared): compiling it, and the
    ORDER BY first() added before that, was a quarter of a SCIM request's CPU (issue 15).
    """
    columns = [prefix + name for _, prefix, names in _TOKEN_COLUMNS for name in names]
    return ScimSecretToken.objects.filter(digest=digest).values_list(*columns)


def _row_of(token: ScimSecretToken) -> tuple:
    """The row _token_from_row builds this token from (with what mark_use wrote since the read)."""
    instances = (token, token.connection, token.connection.organization)
    return tuple(
        getattr(instance, name)
        for instance, (_, _, names) in zip(instances, _TOKEN_COLUMNS, strict=True)
        for name in names
    )


def _token_from_row(row: tuple) -> ScimSecretToken:
    start, instances = 0, []
    for model, _, names in _TOKEN_COLUMNS:
        instances.append(model.from_db(DEFAULT_DB_ALIAS, names, row[start : start + len(names)]))
        start += len(names)
    token, connection, organization = instances
    connection.organization = organization
    token.connection = connection
    return token


ENTRA_REDIRECT_URI = "https://portal.azure.com/TokenAuthorize"
MAX_REDIRECT_URIS = 10
BAD_REDIRECT_URI = (
    "'{uri}' is not a valid redirect URI: it must be an absolute https:// URL without a fragment."
)
TOO_MANY_REDIRECT_URIS = f"A connection may have at most {MAX_REDIRECT_URIS} redirect URIs."
CONNECTION_NAME_REQUIRED = "Give the connection a name, for example 'Entra production tenant'."
# Entra's provisioning service uses these three grants; nothing else is allowed for its clients.
PROVISIONING_GRANT_TYPES = frozenset({"authorization_code", "refresh_token", "client_credentials"})


@dataclass(frozen=True)
class IssuedClient:
    connection: ProvisioningConnection
    client_id: str
    client_secret: str  # shown once; stored hashed (ConnectionClientSecret)
    redirect_uris: tuple[str, ...]


def _validated_redirect_uris(extra_redirect_uris) -> tuple[str, ...]:
    uris = [ENTRA_REDIRECT_URI]
    for uri in extra_redirect_uris or ():
        uri = uri.strip()
        if not uri or uri in uris:
            continue
        parts = urlsplit(uri)
        if parts.scheme != "https" or not parts.netloc or parts.fragment or any(c.isspace() for c in uri):
            raise InvalidAttributeValue(BAD_REDIRECT_URI.format(uri=uri[:200]))
        uris.append(uri)
    if len(uris) > MAX_REDIRECT_URIS:
        raise InvalidAttributeValue(TOO_MANY_REDIRECT_URIS)
    return tuple(uris)


def entra_client_create(
    *,
    organization: Organization,
    name: str = DEFAULT_CONNECTION_NAME,
    extra_redirect_uris=(),
    secret_expires_at: datetime | None = None,
) -> IssuedClient:
    """
    A provisioning connection with its own confidential OAuth client. Entra can use it with the
    client-credentials grant ("OAuth2 Client Credentials Grant") or with the authorization-code
    grant behind the legacy "Authorize" button, which redirects to
    https://portal.azure.com/TokenAuthorize (plus any redirect URIs the admin adds).
    """
    from oauth2_provider.models import get_application_model

    name = (name or "").strip()
    if not name:
        raise InvalidAttributeValue(CONNECTION_NAME_REQUIRED)
    check_length(ProvisioningConnection, "name", name)
    redirect_uris = _validated_redirect_uris(extra_redirect_uris)
    check_expiry(secret_expires_at, now=timezone.now())
    application_model = get_application_model()
    secret = new_client_secret()
    with transaction.atomic():
        if ProvisioningConnection.objects.filter(organization=organization, name=name).exists():
            raise UniquenessConflict(CONNECTION_TAKEN.format(name=name))
        application = application_model.objects.create(
            name=f"{organization.slug}: {name}"[:255],
            client_type=application_model.CLIENT_CONFIDENTIAL,
            # The stored grant type is the one the authorize endpoint needs; the validator also
            # lets provisioning clients use client_credentials and refresh_token.
            authorization_grant_type=application_model.GRANT_AUTHORIZATION_CODE,
            redirect_uris=" ".join(redirect_uris),
            # The connection's secrets are its ConnectionClientSecrets (two during a rotation).
            client_secret=unusable_application_secret(),
            skip_authorization=False,
        )
        connection = ProvisioningConnection.objects.create(
            organization=organization, name=name, application=application
        )
        client_secret_create(connection=connection, expires_at=secret_expires_at, secret=secret)
    return IssuedClient(
        connection=connection,
        client_id=application.client_id,
        client_secret=secret,
        redirect_uris=redirect_uris,
    )


def may_authorize(account, connection: ProvisioningConnection) -> bool:
    """Only an active admin of the organization that owns the connection may authorize it."""
    return bool(
        account is not None
        and account.is_authenticated
        and account.is_active
        and account.deleted_at is None
        and account.role == OrganizationRole.ADMIN
        and account.organization_id == connection.organization_id
    )


def connection_mark_oauth_use(*, connection: ProvisioningConnection) -> None:
    """An OAuth access token of the connection authenticated a request (a hint, written rarely)."""
    now = timezone.now()
    if connection.oauth_last_used_at is None or now - connection.oauth_last_used_at > LAST_USED_RESOLUTION:
        ProvisioningConnection.objects.filter(pk=connection.pk).update(oauth_last_used_at=now)
        connection.oauth_last_used_at = now


def connection_note_client(*, connection: ProvisioningConnection, user_agent: str) -> None:
    """
    The connection's client, detected once from the User-Agent of its first request that has
    one (a request without it names no client). One conditional UPDATE, so concurrent first
    requests cannot overwrite each other; every later request only reads the loaded connection.
    """
    user_agent = (user_agent or "").strip()
    if connection.detected_client_profile or not user_agent:
        return
    profile = profile_for_user_agent(user_agent)
    now = timezone.now()
    detected = ProvisioningConnection.objects.filter(pk=connection.pk, detected_client_profile="").update(
        detected_client_profile=profile, detected_user_agent=user_agent[:255], detected_at=now
    )
    if detected:
        connection.detected_client_profile = profile
        connection.detected_user_agent = user_agent[:255]
        connection.detected_at = now
    else:
        connection.refresh_from_db(fields=["detected_client_profile", "detected_user_agent", "detected_at"])


BAD_CLIENT_PROFILE = "Choose one of the listed SCIM clients."


@transaction.atomic
def connection_client_profile_set(*, connection: ProvisioningConnection, profile: str) -> None:
    """The admin's choice of client ("auto": answer as detected); only this column is written."""
    if profile not in ClientProfile.values:
        raise InvalidAttributeValue(BAD_CLIENT_PROFILE)
    ProvisioningConnection.objects.filter(pk=connection.pk).update(client_profile=profile)
    connection.client_profile = profile
