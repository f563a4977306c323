"""/Users: work accounts as SCIM User resources."""

from django_scim.views import UsersView

from accounts.selectors import live_accounts, with_groups, with_values
from scim.adapters.users import WorkAccountSCIMUser
from scim.projection import project
from scim.schema import USER_RESOURCE
from scim.users.filters import USER_FILTER_SPEC
from scim.views.base import scim_response
from scim.views.listing import list_response
from scim.views.resources import ResourceView, SearchView


def scoped_accounts(request):
    """The one seam that scopes every User lookup, list and filter to the caller's organization."""
    return live_accounts(organization=request.scim.organization)


class WorkAccountUsersView(ResourceView, UsersView):
    log_resource_type = "User"
    resource_type = USER_RESOURCE
    filter_spec = USER_FILTER_SPEC
    adapter_class = WorkAccountSCIMUser
    ordering = ("date_joined", "id")

    def scoped(self, request):
        return scoped_accounts(request)

    def for_reading(self, queryset):
        return with_groups(with_values(queryset))

    def resource_response(self, request, adapter, params, status=200):
        attributes, excluded = self.attribute_lists(params)
        resource = project(adapter.to_dict(), attributes, excluded)
        return scim_response(
            resource, status=status, headers={"ETag": adapter.etag, "Location": adapter.location}
        )

    def list_response(self, request, objects, total, start, params):
        attributes, excluded = self.attribute_lists(params)
        resources = [
            project(self.adapter_class(o, request=request).to_dict(), attributes, excluded) for o in objects
        ]
        return scim_response(list_response(resources, total, start))


class UserSearchView(SearchView):
    log_resource_type = "User"
    resource_view = WorkAccountUsersView
