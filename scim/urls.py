"""
/scim/v2/ routes. The namespace must be "scim": django-scim2 reverses its names in it.

A leading slash is tolerated because a Tenant URL entered with a trailing slash makes some
clients request `/scim/v2//Users`.
"""

from django.urls import re_path

from scim.views import base, discovery, groups, search, users


app_name = "scim"

urlpatterns = [
    re_path(r"^$", base.NotFoundView.as_view(), name="root"),
    re_path(r"^(?:/)?\.search$", search.RootSearchView.as_view(), name="search"),
    re_path(r"^(?:/)?Users/\.search$", users.UserSearchView.as_view(), name="users-search"),
    re_path(r"^(?:/)?Users(?:/(?P<uuid>[^/]+))?/?$", users.WorkAccountUsersView.as_view(), name="users"),
    re_path(r"^(?:/)?Groups/\.search$", groups.GroupSearchView.as_view(), name="groups-search"),
    re_path(r"^(?:/)?Groups(?:/(?P<uuid>[^/]+))?/?$", groups.WorkGroupsView.as_view(), name="groups"),
    re_path(
        r"^(?:/)?ServiceProviderConfigs?$",
        discovery.ServiceProviderConfigView.as_view(),
        name="service-provider-config",
    ),
    re_path(
        r"^(?:/)?ResourceTypes(?:/(?P<uuid>[^/]+))?$",
        discovery.ResourceTypesView.as_view(),
        name="resource-types",
    ),
    re_path(r"^(?:/)?Schemas(?:/(?P<uuid>[^/]+))?$", discovery.SchemasView.as_view(), name="schemas"),
    re_path(r"^Bulk$", base.NotImplementedView.as_view(feature="Bulk"), name="bulk"),
    re_path(r"^Me$", base.NotImplementedView.as_view(feature="/Me"), name="me"),
    re_path(r"^.*$", base.NotFoundView.as_view(), name="not-found"),
]
