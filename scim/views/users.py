"""/Users: work accounts as SCIM User resources."""

from django_scim.views import UsersView

from accounts.selectors import live_accounts, with_groups, with_values
from provisioning_logs.guard import deprovisioning_check
from provisioning_logs.models import Action
from scim.adapters.users import WorkAccountSCIMUser
from scim.errors import ScimError
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

    def guard_write(self, request, resource_id, method, body):
        action = Action.DELETE if method == "DELETE" else Action.DISABLE if disables(body) else None
        if action is None:
            return
        held = deprovisioning_check(connection=request.scim.connection, account_id=resource_id, action=action)
        if held:
            request.scim_note.action = action
            # 503 + Retry-After: Entra keeps the operation and retries it later; by then an admin
            # has approved it (the retry is a no-op) or discarded it.
            raise ScimError(503, held, headers={"Retry-After": "3600"})

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


_FALSE = (False, "false", "False", "FALSE")


def disables(body) -> bool:
    """Whether a PUT body or PATCH request sets active to false, in any Entra dialect."""
    if not isinstance(body, dict):
        return False
    if "active" in body and body.get("active") in _FALSE:
        return True  # PUT
    operations = {str(k).lower(): v for k, v in body.items()}.get("operations")
    for operation in operations if isinstance(operations, list) else ():
        if not isinstance(operation, dict):
            continue
        fields = {str(k).lower(): v for k, v in operation.items()}
        path, value = str(fields.get("path") or "").strip().lower(), fields.get("value")
        if str(fields.get("op", "")).lower() not in ("replace", "add"):
            continue
        if path == "active" and value in _FALSE:
            return True
        if not path and isinstance(value, dict) and value.get("active") in _FALSE:
            return True
    return False
