"""
Bearer-only authentication for /scim/v2/ (RFC 6750), plugged into django-scim2's
AUTH_CHECK_MIDDLEWARE seam. A session cookie never authenticates SCIM: the views are
csrf-exempt, so cookie auth would let any page an admin visits drive provisioning.
"""

from dataclasses import dataclass

from accounts.connections.selectors import TOKEN_PREFIX, connection_get_for_refused_credential
from accounts.connections.services import oauth_token_authenticate, scim_token_authenticate
from scim import constants
from scim.errors import ScimError


@dataclass(frozen=True)
class ScimPrincipal:
    """Who is calling: the connection, and through it the organization every query is scoped to."""

    connection: object
    organization: object
    credential: object


def authenticate_bearer(request) -> ScimPrincipal:
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise ScimError(401, constants.MISSING_TOKEN, headers={"WWW-Authenticate": 'Bearer realm="scim"'})
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
            headers={"WWW-Authenticate": 'Bearer realm="scim", error="invalid_token"'},
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
    """django-scim2's AUTH_CHECK_MIDDLEWARE: wraps the view, refuses anything but a valid bearer."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request, *args, **kwargs):
        from scim.errors import error_response

        try:
            request.scim = authenticate_bearer(request)
        except ScimError as error:
            return error_response(error)
        return self.get_response(request, *args, **kwargs)
