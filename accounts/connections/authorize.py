"""
The authorization page Entra's "Authorize" button opens (RFC 6749 §4.1, via django-oauth-toolkit).

Signed-out visitors go to the sign-in page first. Only an active admin of the organization that
owns the client sees the consent page; everyone else gets a page saying which permission is
missing, and no code is issued. The check runs again when the form is posted.
"""

from csp.decorators import csp_update
from django.shortcuts import render, resolve_url
from django.utils.decorators import method_decorator
from django.utils.http import urlencode
from oauth2_provider.exceptions import OAuthToolkitError
from oauth2_provider.views import AuthorizationView

from accounts.connections.selectors import connection_get_for_client
from accounts.connections.services import may_authorize


NEEDS_ADMIN = "Your account needs Admin permissions in {organization} to authorize provisioning."
CONNECTION_OFF = (
    "The connection “{name}” in {organization} is turned off. An admin of {organization} can turn "
    "it on in the Work Accounts admin portal, then authorize again."
)
NOT_A_CONNECTION = "This application is not a provisioning connection of any organization."
PERMISSION = "Create, update, deactivate and delete work accounts and groups"


# Allow (or Cancel) redirects to the client's redirect URI, always https (OAUTH2_PROVIDER's
# ALLOWED_REDIRECT_URI_SCHEMES); Chromium applies form-action to a form's redirects too.
@method_decorator(csp_update({"form-action": ["https:"]}), name="dispatch")
class ProvisioningAuthorizationView(AuthorizationView):
    template_name = "oauth/authorize.html"

    def get(self, request, *args, **kwargs):
        # Validate client and redirect URI first, so that nothing about an organization is shown
        # for a request that is invalid anyway.
        try:
            _, credentials = self.validate_authorization_request(request)
        except OAuthToolkitError as error:
            return self.error_response(error, application=None)
        refusal = self._refusal(request, credentials.get("client_id"))
        return refusal or super().get(request, *args, **kwargs)

    def post(self, request, *args, **kwargs):
        refusal = self._refusal(request, request.POST.get("client_id"))
        return refusal or super().post(request, *args, **kwargs)

    def get_login_url(self):
        """
        Sign-in for the client's organization (?org=): an admin whose userName also exists in
        other organizations signs in to this one. Only for a valid request, like the page itself.
        """
        login_url = resolve_url(super().get_login_url())
        try:
            _, credentials = self.validate_authorization_request(self.request)
        except OAuthToolkitError:
            return login_url
        connection = connection_get_for_client(credentials.get("client_id"))
        if connection is None:
            return login_url
        return f"{login_url}?{urlencode({'org': connection.organization.slug})}"

    def _refusal(self, request, client_id):
        self.connection = connection = connection_get_for_client(client_id)
        if connection is None:
            return self._refusal_page(request, "Authorization not possible", NOT_A_CONNECTION, status=400)
        names = {"name": connection.name, "organization": connection.organization.name}
        if not may_authorize(request.user, connection):
            return self._refusal_page(request, "Admin permissions needed", NEEDS_ADMIN.format(**names))
        if not connection.enabled:
            return self._refusal_page(request, "Connection turned off", CONNECTION_OFF.format(**names))
        return None

    def _refusal_page(self, request, title, message, status=403):
        context = {"title": title, "message": message, "user": request.user}
        return render(request, "oauth/refused.html", context, status=status)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(connection=self.connection, permission=PERMISSION)
        return context
