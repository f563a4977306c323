"""
Bearer-only authentication for /scim/v2/ (RFC 6750), plugged into django-scim2's
AUTH_CHECK_MIDDLEWARE seam. A session cookie never authenticates SCIM: the views are
csrf-exempt, so cookie auth would let any page an admin visits drive provisioning.
"""

from dataclasses import dataclass

from django_scim.settings import scim_settings
from oauth2_provider.oauth2_backends import OAuthLibCore

from accounts.connections import token_cache
from accounts.connections.selectors import TOKEN_PREFIX, connection_get_for_refused_credential
from accounts.connections.services import (
    connection_mark_oauth_use,
    connection_note_client,
    scim_token_authenticate,
)
from config.proxies import client_address
from config.ratelimit import rate_limit_take_reading
from scim import constants
from scim.errors import ScimError, as_scim_error, error_response


@dataclass(frozen=True)
class ScimPrincipal:
    """Who is calling: the connection, and through it the organization every query is scoped to."""

    connection: object
    organization: object
    credential: object


def _challenge(*parameters: str) -> str:
    """RFC 6750 §3: django-scim2's WWW_AUTHENTICATE_HEADER, with the error when a token was refused."""
    return ", ".join((scim_settings.WWW_AUTHENTICATE_HEADER, *parameters))


def authenticate_bearer(request) -> ScimPrincipal:
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise ScimError(401, constants.MISSING_TOKEN, headers={"WWW-Authenticate": _challenge()})
    secret = secret.strip()
    if secret.startswith(TOKEN_PREFIX):
        credential = scim_token_authenticate(secret, client_address=client_address(request) or None)
        connection = credential.connection if credential else None
    else:
        credential = connection = oauth_connection(request, secret)
    if connection is None:
        error = ScimError(
            401,
            constants.INVALID_TOKEN,
            headers={"WWW-Authenticate": _challenge('error="invalid_token"')},
        )
        # An expired or revoked credential still names its connection: the refusal is logged
        # there (and counts toward quarantine); a bearer nobody issued names none.
        error.connection = connection_get_for_refused_credential(secret)
        raise error
    if not connection.enabled:
        error = ScimError(403, constants.CONNECTION_DISABLED)
        error.connection = connection
        raise error
    # The client profile (what PATCH answers) is detected from the first request's User-Agent.
    connection_note_client(connection=connection, user_agent=request.headers.get("User-Agent", ""))
    return ScimPrincipal(connection=connection, organization=connection.organization, credential=credential)


class ScimResourceServer(OAuthLibCore):
    """django-oauth-toolkit's resource-server side (its validator's validate_bearer_token) for SCIM."""

    def extract_body(self, request):
        # SCIM bodies are JSON documents, never OAuth parameters (RFC 6750 §2.1: the token is in
        # the header); reading request.POST of an oversized form body would fail the request.
        return []

    def _get_escaped_full_path(self, request):
        # oauthlib refuses a query string with a malformed percent-escape (ValueError), which
        # would turn a bad filter into a refused token; a bearer check needs only the path.
        return request.path


def oauth_connection(request, secret: str):
    """
    The connection an OAuth access token belongs to, verified by django-oauth-toolkit (unknown,
    expired, without the `scim` scope, or authorized by someone who may no longer: None).
    """
    if len(secret) > 512:
        return None
    valid, oauth_request = ScimResourceServer().verify_request(request, scopes=["scim"])
    if not valid:
        return None
    connection = getattr(oauth_request.access_token.application, "provisioning_connection", None)
    if connection is None:
        return None
    connection_mark_oauth_use(connection=connection)
    return connection


class BearerTokenAuthCheck:
    """
    django-scim2's AUTH_CHECK_MIDDLEWARE: runs around its dispatch, before any handler, and
    answers anything but a valid bearer itself (its default trusts request.user, a session).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request, *args, **kwargs):
        try:
            request.scim = authenticate_bearer(request)
            throttle(request)
        except Exception as exc:
            error = as_scim_error(exc, request)
            note_failure(request, error)
            return error_response(error)
        return self.get_response(request, *args, **kwargs)


RATE_LIMITED = (
    "Too many requests for this provisioning connection: at most {limit} per second (bursts of "
    "{burst}). Retry after {retry_after} s."
)


def throttle(request) -> None:
    """
    The connection's rate limit (config.ratelimit, shared by every node): above it, 429 with
    Retry-After (RFC 6585 §4, RFC 7644 §3.12), which Entra honours by slowing down. A token this
    process kept is confirmed in the same Redis call: if the credentials epoch moved since it was
    kept (a token, connection or organization changed), it is authenticated again from the database.
    """
    credential = request.scim.credential
    kept_epoch = getattr(credential, "kept_epoch", None)
    watched = token_cache.EPOCH_KEY if kept_epoch is not None else None
    initial = token_cache.new_epoch() if watched else ""
    throttled, epoch = rate_limit_take_reading(request.scim.connection.pk, watched, initial)
    if kept_epoch is not None and not token_cache.still_trusted(kept_epoch, epoch):
        token_cache.forget(credential.digest)
        del request.scim  # the kept copy names nothing now, not even for the log of a refusal
        request.scim = authenticate_bearer(request)
    if throttled is not None:
        detail = RATE_LIMITED.format(
            limit=throttled.limit, burst=throttled.burst, retry_after=throttled.retry_after
        )
        raise ScimError(429, detail, headers={"Retry-After": str(throttled.retry_after)})


def note_failure(request, error: ScimError) -> None:
    """The provisioning log's note of the error answered (and the connection a refused credential names)."""
    note = getattr(request, "scim_note", None)
    if note is None:
        return
    note.error = error
    if getattr(error, "connection", None) is not None:
        note.connection = error.connection
