from django.contrib import admin
from django.urls import include, path, re_path
from django.views.generic import RedirectView
from oauth2_provider import views as oauth2_views

from accounts.connections.authorize import ProvisioningAuthorizationView
from accounts.connections.metadata import AuthorizationServerMetadataView
from config import admin_navigation
from config.metrics import metrics_view
from scim.views.base import NotFoundView as ScimRootView


admin.site.site_header = "Work Accounts"
admin.site.site_title = "Work Accounts"
admin.site.index_title = "Organization administration"
# "View site" leads to the root, which sends each person to their start page.
admin.site.site_url = "/"
admin.site.logout_template = "accounts/signed_out.html"
admin_navigation.install(admin.site)

urlpatterns = [
    # First: the SCIM endpoints are most of the traffic, and Django tries the patterns in order.
    path("scim/v2/", include("scim.urls", namespace="scim")),
    # One sign-in page for everyone (username, then Continue): the admin's own login form is
    # replaced by it, keeping ?next=.
    path("admin/login/", RedirectView.as_view(pattern_name="signin", query_string=True)),
    path("admin/", admin.site.urls),
    path("", include("accounts.urls")),
    # The base URL without its slash is answered too: APPEND_SLASH would redirect it (a SCIM client
    # does not follow) or, for POST/PUT/PATCH with DEBUG on, raise RuntimeError (a 500).
    re_path(r"^scim/v2$", ScimRootView.as_view(), name="scim-base"),
    # RFC 8414 §3: at the root, since the issuer is the portal's base URL (no path component).
    path(
        ".well-known/oauth-authorization-server",
        AuthorizationServerMetadataView.as_view(),
        name="oauth-authorization-server-metadata",
    ),
    path("api/", include("provisioning_logs.api.urls", namespace="api")),
    # OAuth 2.0 authorization and token endpoints only; django-oauth-toolkit's
    # application-management pages are never exposed (any signed-in user could register clients).
    path(
        "o/",
        include(
            (
                [
                    path("authorize/", ProvisioningAuthorizationView.as_view(), name="authorize"),
                    path("token/", oauth2_views.TokenView.as_view(), name="token"),
                    path("revoke_token/", oauth2_views.RevokeTokenView.as_view(), name="revoke-token"),
                ],
                "oauth2_provider",
            )
        ),
    ),
]

# Prometheus metrics (config.metrics): 404 unless METRICS_TOKEN or METRICS_ALLOWED_IPS is set.
urlpatterns += [path("metrics", metrics_view, name="metrics")]
