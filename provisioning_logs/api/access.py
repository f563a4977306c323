"""
Who is calling the audit API and which organization's records they read: the API's one
organization seam. A machine client reads its own organization; a portal user what the portal
shows them (admins and support staff their organization, platform superusers every one).
"""

from provisioning_logs.selectors import ReaderScope, reader_scope


def api_client_of(request):
    """The ApiClient whose token authenticated the request (AuditClientAuthentication), or None."""
    return getattr(request, "api_client", None)


def api_scope(request) -> ReaderScope:
    client = api_client_of(request)
    if client is not None:
        return ReaderScope(organization_id=client.organization_id)
    return reader_scope(user=request.user)
