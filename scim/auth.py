"""
Bearer-only authentication for /scim/v2/ (RFC 6750), plugged into django-scim2's
AUTH_CHECK_MIDDLEWARE seam. A session cookie never authenticates SCIM: the views are
csrf-exempt, so cookie auth would let any page an admin visits drive provisioning.
"""

from dataclasses import dataclass

from django_scim.settings import scim_settings

from accounts.connections.selectors import TOKEN_PREFIX, connection_get_for_refused_credential
from accounts.connections.services import oauth_token_authenticate, scim_token_authenticate
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
        credential = scim_token_authenticate(secret)
        connection = credential.connection if credential else None
    else:
        credential = connection = oauth_token_authenticate(secret)
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
    return ScimPrincipal(connection=connection, organization=connection.organization, credential=credential)


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
        except Exception as exc:
            error = as_scim_error(exc, request)
            note_failure(request, error)
            return error_response(error)
        return self.get_response(request, *args, **kwargs)


def note_failure(request, error: ScimError) -> None:
    """The provisioning log's note of the error answered (and the connection a refused credential names)."""
    note = getattr(request, "scim_note", None)
    if note is None:
        return
    note.error = error
    if getattr(error, "connection", None) is not None:
        note.connection = error.connection
