"""
django-oauth-toolkit's SCOPES_BACKEND_CLASS: which scope each kind of OAuth client may hold.

Two kinds of clients share the one token endpoint: a provisioning connection's (accounts) and an
audit API client (this app). Each gets exactly its own scope, so neither can obtain a token for
the other's endpoint; any other client gets none.
"""

from oauth2_provider.scopes import SettingsScopes

from accounts.connections.models import ProvisioningConnection
from provisioning_logs.api.clients import AUDIT_SCOPE
from provisioning_logs.api.models import ApiClient


SCIM_SCOPE = "scim"


class ProvisioningScopes(SettingsScopes):
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
