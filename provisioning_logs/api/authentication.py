"""Bearer tokens on the audit API: django-oauth-toolkit's DRF authentication, for API clients only."""

from django.contrib.auth.models import AnonymousUser
from oauth2_provider.contrib.rest_framework import OAuth2Authentication
from rest_framework.exceptions import AuthenticationFailed

from provisioning_logs.api.clients import api_client_of_token


INVALID_TOKEN = "The access token is unknown, expired or revoked."
NOT_AN_AUDIT_TOKEN = (
    "This access token is not valid for the audit API: use a token of an API client (scope audit:read)."
)


class AuditClientAuthentication(OAuth2Authentication):
    """
    django-oauth-toolkit verifies the token; it must belong to an active API client and carry
    audit:read, so a provisioning connection's `scim` token gets 401 here. A bearer that was sent
    and refused is a 401 (RFC 6750 §3.1 invalid_token): OAuth2Authentication returns None for it,
    which would let DRF say "credentials were not provided" or fall through to the session.
    """

    def authenticate(self, request):
        scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            return None  # no bearer: the session may authenticate the request
        result = super().authenticate(request) if credentials.strip() else None
        if result is None:
            request.oauth2_error = {"error": "invalid_token"}
            raise AuthenticationFailed(INVALID_TOKEN)
        token = result[1]
        client = api_client_of_token(token)
        if client is None:
            request.oauth2_error = {"error": "invalid_token"}
            raise AuthenticationFailed(NOT_AN_AUDIT_TOKEN)
        request.api_client = client
        # A machine client is no portal account: request.user stays anonymous for everything
        # outside the API (middleware, logging); the API reads request.api_client.
        return AnonymousUser(), token
