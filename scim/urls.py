"""
/scim/v2/ routes. The namespace must be "scim": django-scim2 reverses its names in it.

A leading slash is tolerated because a Tenant URL entered with a trailing slash makes some
clients request `/scim/v2//Users`. Endpoint names match in any case (`/users`, `/GROUPS/.Search`,
`/serviceproviderconfig`): RFC 7644 §3.2 names them but several clients (generic SCIM libraries,
Okta's test harness) lower-case them. Reversal, and so every meta.location and Location header,
keeps the canonical names.
"""

import re

from django.urls import re_path
from django.urls.resolvers import RegexPattern, URLPattern
from django.utils.functional import cached_property

from scim.views import base, discovery, groups, search, users


class _CaseInsensitivePattern(RegexPattern):
    """A regex route matched with re.IGNORECASE. An inline `(?i)` would make Django refuse to
    reverse it ("Non-reversible reg-exp portion"), so the flag is given at compile time instead."""

    @cached_property
    def regex(self):
        return re.compile(self._regex, re.IGNORECASE)


def endpoint(regex: str, view, name: str) -> URLPattern:
    """re_path, but the endpoint name is matched case-insensitively."""
    return URLPattern(_CaseInsensitivePattern(regex, name=name, is_endpoint=True), view, name=name)


app_name = "scim"

urlpatterns = [
    re_path(r"^$", base.NotFoundView.as_view(), name="root"),
    endpoint(r"^(?:/)?\.search$", search.RootSearchView.as_view(), name="search"),
    endpoint(r"^(?:/)?Users/\.search$", users.UserSearchView.as_view(), name="users-search"),
    endpoint(r"^(?:/)?Users(?:/(?P<uuid>[^/]+))?/?$", users.WorkAccountUsersView.as_view(), name="users"),
    endpoint(r"^(?:/)?Groups/\.search$", groups.GroupSearchView.as_view(), name="groups-search"),
    endpoint(r"^(?:/)?Groups(?:/(?P<uuid>[^/]+))?/?$", groups.WorkGroupsView.as_view(), name="groups"),
    endpoint(
        r"^(?:/)?ServiceProviderConfigs?$",
        discovery.ServiceProviderConfigView.as_view(),
        name="service-provider-config",
    ),
    endpoint(
        r"^(?:/)?ResourceTypes(?:/(?P<uuid>[^/]+))?$",
        discovery.ResourceTypesView.as_view(),
        name="resource-types",
    ),
    endpoint(r"^(?:/)?Schemas(?:/(?P<uuid>[^/]+))?$", discovery.SchemasView.as_view(), name="schemas"),
    endpoint(r"^Bulk$", base.NotImplementedView.as_view(feature="Bulk"), name="bulk"),
    endpoint(r"^Me$", base.NotImplementedView.as_view(feature="/Me"), name="me"),
    re_path(r"^.*$", base.NotFoundView.as_view(), name="not-found"),
]
