from django.contrib import admin
from django.urls import include, path


admin.site.site_header = "Work Accounts"
admin.site.site_title = "Work Accounts"
admin.site.index_title = "Organization administration"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("scim/v2/", include("scim.urls", namespace="scim")),
]
