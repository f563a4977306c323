"""
/api/: version 1 of the audit API, its OpenAPI schema and documentation page; any other path
under /api/ is a JSON 404. The endpoints answer with and without their trailing slash (clients
often leave it out); the links they give have it.
"""

from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter, SimpleRouter

from provisioning_logs.api import schema  # noqa: F401  (registers the OpenAPI authentication extension)
from provisioning_logs.api.exceptions import not_found
from provisioning_logs.api.views import ConnectionViewSet, CycleViewSet, EventViewSet


app_name = "api"

router = DefaultRouter()
router.register("events", EventViewSet, basename="event")
router.register("cycles", CycleViewSet, basename="cycle")
router.register("connections", ConnectionViewSet, basename="connection")
without_slash = SimpleRouter(trailing_slash=False)
for prefix, viewset, basename in router.registry:
    without_slash.register(prefix, viewset, basename=f"{basename}-without-slash")

urlpatterns = [
    path("v1/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The documentation page is for portal readers (signed in, admin or support): the admin's
    # own check, which sends anyone else to the sign-in page.
    path(
        "v1/docs/",
        admin.site.admin_view(
            SpectacularSwaggerSplitView.as_view(url_name="api:schema", template_name="api/docs.html")
        ),
        name="docs",
    ),
    path("v1/", include(router.urls)),
    path("v1/", include(without_slash.urls)),
    re_path(r"^.*$", not_found, name="not-found"),
]
