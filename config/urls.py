from django.contrib import admin
from django.urls import include, path
from oauth2_provider import views as oauth2_views


admin.site.site_header = "Work Accounts"
admin.site.site_title = "Work Accounts"
admin.site.index_title = "Organization administration"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("scim/v2/", include("scim.urls", namespace="scim")),
    # OAuth 2.0 token endpoints only; django-oauth-toolkit's application-management pages are
    # never exposed (any signed-in user could register clients there).
    path(
        "o/",
        include(
            (
                [
                    path("token/", oauth2_views.TokenView.as_view(), name="token"),
                    path("revoke_token/", oauth2_views.RevokeTokenView.as_view(), name="revoke-token"),
                ],
                "oauth2_provider",
            )
        ),
    ),
]
