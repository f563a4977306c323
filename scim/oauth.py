"""
django-oauth-toolkit policy for provisioning clients.

A provisioning connection's OAuth client may use exactly the grants Entra's provisioning service
uses: the authorization code behind the legacy "Authorize" button (without PKCE: Entra's legacy
flow sends none, RFC 9700 §2.1.1 allows confidential clients to rely on their secret), its
refresh tokens, and client credentials. A code or refresh token only yields a token while the
admin who authorized it still may.
"""

from oauth2_provider.oauth2_validators import OAuth2Validator
from oauth2_provider.scopes import SettingsScopes

from provisioning_logs.api.clients import AUDIT_SCOPE
from provisioning_logs.api.models import ApiClient
from scim.models import ProvisioningConnection
from scim.services import PROVISIONING_GRANT_TYPES, may_authorize


SCIM_SCOPE = "scim"


def _connection_of(client) -> ProvisioningConnection | None:
    if client is None:
        return None
    return ProvisioningConnection.objects.select_related("organization").filter(application=client).first()


def pkce_required(client_id: str) -> bool:
    """PKCE stays required for any client that is not a provisioning connection's."""
    return not ProvisioningConnection.objects.filter(application__client_id=client_id).exists()


class ProvisioningOAuth2Validator(OAuth2Validator):
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


class ProvisioningScopes(SettingsScopes):
    """
    django-oauth-toolkit's SCOPES_BACKEND_CLASS: the scopes a client may ask for, and gets when
    it asks for none. A provisioning connection's client has exactly `scim`, an audit API
    client exactly `audit:read`, so neither can obtain a token for the other's endpoint; any
    other client has none.
    """

    def get_available_scopes(self, application=None, request=None, *args, **kwargs):
        return self._scopes_of(application)

    def get_default_scopes(self, application=None, request=None, *args, **kwargs):
        return self._scopes_of(application)

    @staticmethod
    def _scopes_of(application) -> list[str]:
        if application is None:
            return []
        if ApiClient.objects.filter(application=application, revoked_at__isnull=True).exists():
            return [AUDIT_SCOPE]
        if ProvisioningConnection.objects.filter(application=application).exists():
            return [SCIM_SCOPE]
        return []
