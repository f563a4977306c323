"""Who may read the audit API: an API client's audit:read token, or a portal reader's session."""

from oauth2_provider.contrib.rest_framework import TokenHasScope
from rest_framework.permissions import BasePermission

from provisioning_logs.api.access import api_client_of, api_scope
from provisioning_logs.api.clients import AUDIT_SCOPE


class AuditClientToken(TokenHasScope):
    """django-oauth-toolkit's scope check, for the token of an active API client."""

    def has_permission(self, request, view):
        return api_client_of(request) is not None and super().has_permission(request, view)

    def get_scopes(self, request, view):
        return [AUDIT_SCOPE]


class PortalReader(BasePermission):
    """A signed-in admin or support staff member (or a platform superuser)."""

    def has_permission(self, request, view):
        return api_client_of(request) is None and api_scope(request).sees_anything


AuditReader = AuditClientToken | PortalReader
