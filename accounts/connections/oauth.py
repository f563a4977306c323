"""
django-oauth-toolkit policy for provisioning clients.

A provisioning connection's OAuth client may use exactly the grants Entra's provisioning service
uses: the authorization code behind the legacy "Authorize" button (without PKCE: Entra's legacy
flow sends none, RFC 9700 §2.1.1 allows confidential clients to rely on their secret), its
refresh tokens, and client credentials. A code or refresh token only yields a token while the
admin who authorized it still may.
"""

import base64
import binascii
import hashlib
from urllib.parse import unquote_plus

from oauth2_provider.models import get_access_token_model
from oauth2_provider.oauth2_validators import OAuth2Validator

from accounts.connections.credentials import access_token_record_credential, client_secret_authenticate
from accounts.connections.federation.assertions import AssertionRefused, assertion_authenticate
from accounts.connections.selectors import connection_exists_for_client
from accounts.connections.selectors import connection_get_for_application as _connection_of
from accounts.connections.services import PROVISIONING_GRANT_TYPES, may_authorize


def _client_address(request) -> str | None:
    # DOT hands oauthlib the Django request's META as headers (TrustedProxyMiddleware's result included).
    from config.proxies import CLIENT_ADDRESS_KEY

    headers = request.headers or {}
    return headers.get(CLIENT_ADDRESS_KEY) or headers.get("REMOTE_ADDR") or None


def pkce_required(client_id: str) -> bool:
    """PKCE stays required for any client that is not a provisioning connection's."""
    return not connection_exists_for_client(client_id)


class ProvisioningOAuth2Validator(OAuth2Validator):
    def authenticate_client(self, request, *args, **kwargs):
        # RFC 7523 §2.2 (private_key_jwt, Entra's Workload Identity Federation): a signed JWT
        # instead of a client secret. False makes oauthlib answer invalid_client (RFC 6749 §5.2).
        assertion_type = getattr(request, "client_assertion_type", None)
        assertion = getattr(request, "client_assertion", None)
        if assertion_type is not None or assertion is not None:
            return self._authenticate_assertion(request, assertion_type, assertion)
        verdict = self._authenticate_connection_secret(request)
        if verdict is not None:
            return verdict
        return super().authenticate_client(request, *args, **kwargs)

    def _authenticate_assertion(self, request, assertion_type, assertion) -> bool:
        duplicated = {"client_assertion", "client_assertion_type"} & set(request.duplicate_params)
        try:
            credential = assertion_authenticate(
                assertion_type=assertion_type,
                assertion=assertion,
                client_id=request.client_id,
                grant_type=request.grant_type,
                other_method=request.client_secret is not None or bool(self._extract_basic_auth(request)),
                duplicated=bool(duplicated),
            )
        except AssertionRefused:
            return False
        request.client = credential.connection.application
        request.client_id = request.client.client_id
        request.provisioning_credential = credential
        return True

    def _authenticate_connection_secret(self, request) -> bool | None:
        """
        A provisioning client authenticates with any of its live ConnectionClientSecrets (two
        during a rotation), client_secret_basic first, then client_secret_post (RFC 6749 §2.3.1,
        as DOT orders them); DOT's Application holds one secret only. None: no client secret
        presented, or not a provisioning client (audit API clients and others are DOT's as before).
        """
        verdict = None
        for client_id, secret in self._presented_client_secrets(request):
            connection = _connection_of(self._load_application(client_id, request))
            if connection is None:
                return verdict
            credential = client_secret_authenticate(
                connection=connection, secret=secret, client_address=_client_address(request)
            )
            if credential is not None:
                request.provisioning_credential = credential
                return True
            verdict = False  # never DOT's check of the Application's own (unusable) secret
        return verdict

    def _presented_client_secrets(self, request):
        """(client_id, client_secret) from the Basic header, then from the body, as presented."""
        auth_string = self._extract_basic_auth(request)
        if auth_string:
            try:
                decoded = base64.b64decode(auth_string).decode("utf-8")
                client_id, secret = map(unquote_plus, decoded.split(":", 1))
            except (binascii.Error, UnicodeDecodeError, ValueError):
                pass
            else:
                yield client_id, secret
        client_id, secret = getattr(request, "client_id", None), getattr(request, "client_secret", None)
        if client_id and secret:  # no secret: another method (a client assertion), or none at all
            yield client_id, secret

    def _save_bearer_token(self, token, request, *args, **kwargs):
        # DOT's documented seam for storing tokens (inside its transaction): remember which
        # credential got the token, so revoking that credential ends it (accounts.connections.credentials).
        super()._save_bearer_token(token, request, *args, **kwargs)
        credential = getattr(request, "provisioning_credential", None)
        if credential is not None:
            access_token_record_credential(token=token["access_token"], credential=credential)

    def validate_bearer_token(self, token, scopes, request):
        # A provisioning connection's token works only while the admin who authorized it still may
        # (demoting or disabling the admin revokes them; this holds even if a revocation was missed).
        if not super().validate_bearer_token(token, scopes, request):
            return False
        access_token = request.access_token
        connection = getattr(access_token.application, "provisioning_connection", None)
        if connection is None or access_token.user_id is None:
            return True
        return may_authorize(access_token.user, connection)

    def _load_access_token(self, token):
        # One query for a SCIM request: the token with its client's connection and organization.
        return (
            get_access_token_model()
            .objects.select_related("application__provisioning_connection__organization", "user")
            .filter(token_checksum=hashlib.sha256(token.encode()).hexdigest())
            .first()
        )

    def validate_grant_type(self, client_id, grant_type, client, request, *args, **kwargs):
        if _connection_of(client) is not None:
            return grant_type in PROVISIONING_GRANT_TYPES
        return super().validate_grant_type(client_id, grant_type, client, request, *args, **kwargs)

    def validate_response_type(self, client_id, response_type, client, request, *args, **kwargs):
        if _connection_of(client) is not None:
            return response_type == "code"
        return super().validate_response_type(client_id, response_type, client, request, *args, **kwargs)

    def validate_code(self, client_id, code, client, request, *args, **kwargs):
        if not super().validate_code(client_id, code, client, request, *args, **kwargs):
            return False
        return self._authorizer_still_allowed(request.user, client)

    def validate_refresh_token(self, refresh_token, client, request, *args, **kwargs):
        if not super().validate_refresh_token(refresh_token, client, request, *args, **kwargs):
            return False
        return self._authorizer_still_allowed(request.user, client)

    @staticmethod
    def _authorizer_still_allowed(user, client) -> bool:
        connection = _connection_of(client)
        if connection is None or user is None:
            return True
        return may_authorize(user, connection)
