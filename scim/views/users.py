"""/Users (RFC 7644 §3.2–§3.6): thin views that parse, call the adapter, and render."""

import uuid

from django.http import HttpResponse
from django_scim.views import UsersView

from accounts.selectors import live_accounts, with_values
from scim import conf, constants
from scim.adapters.users import WorkAccountSCIMUser
from scim.errors import ScimError, bad_request
from scim.filters import compile_filter
from scim.projection import parse_attribute_list, project
from scim.schema import USER_RESOURCE
from scim.users.filters import USER_FILTER_SPEC
from scim.views.base import ScimView, scim_response
from scim.views.listing import list_response, page_of, paging


def scoped_accounts(request):
    """The one seam that scopes every User lookup, list and filter to the caller's organization."""
    return live_accounts(organization=request.scim.organization)


class UserResourceMixin:
    def get_account(self, request, resource_id: str):
        account = with_values(scoped_accounts(request)).filter(pk=parse_id(resource_id)).first()
        if account is None:
            raise ScimError(404, constants.RESOURCE_NOT_FOUND.format(id=resource_id))
        return WorkAccountSCIMUser(account, request=request)

    def render(self, request, adapter: WorkAccountSCIMUser, status: int = 200, params=None) -> object:
        params = request.GET if params is None else params
        resource = project(
            adapter.to_dict(),
            parse_attribute_list(params.get("attributes"), USER_RESOURCE),
            parse_attribute_list(params.get("excludedAttributes"), USER_RESOURCE),
        )
        headers = {"ETag": adapter.etag, "Location": adapter.location}
        return scim_response(resource, status=status, headers=headers)

    def writer(self, request, resource_id: str) -> WorkAccountSCIMUser:
        return WorkAccountSCIMUser(None, request=request, account_id=parse_id(resource_id))

    def search(self, request, params) -> object:
        start, count = paging(params)
        queryset = scoped_accounts(request)
        filter_text = params.get("filter")
        if filter_text:
            queryset = queryset.filter(compile_filter(filter_text, USER_FILTER_SPEC))
        queryset = with_values(queryset.order_by("date_joined", "id"))
        accounts, total = page_of(queryset, start, count)
        attributes = parse_attribute_list(params.get("attributes"), USER_RESOURCE)
        excluded = parse_attribute_list(params.get("excludedAttributes"), USER_RESOURCE)
        resources = [
            project(WorkAccountSCIMUser(a, request=request).to_dict(), attributes, excluded) for a in accounts
        ]
        return scim_response(list_response(resources, total, start))


class WorkAccountUsersView(UserResourceMixin, ScimView, UsersView):
    http_method_names = ["get", "post", "put", "patch", "delete"]

    def get(self, request, uuid=None):
        if uuid is None:
            return self.search(request, request.GET)
        adapter = self.get_account(request, uuid)
        if request.headers.get("If-None-Match") == adapter.etag:
            not_modified = HttpResponse(status=304)
            not_modified["ETag"] = adapter.etag
            return not_modified
        return self.render(request, adapter)

    def post(self, request, uuid=None):
        if uuid is not None:
            return self.http_method_not_allowed(request)
        adapter = WorkAccountSCIMUser(None, request=request)
        adapter.create(self.json_body(request))
        return self.render(request, adapter, status=201)

    def put(self, request, uuid=None):
        if uuid is None:
            return self.http_method_not_allowed(request)
        adapter = self.writer(request, uuid)
        adapter.replace(self.json_body(request), expected_version(request))
        return self.render(request, adapter)

    def patch(self, request, uuid=None):
        if uuid is None:
            return self.http_method_not_allowed(request)
        body = self.json_body(request)
        operations = {str(k).lower(): v for k, v in body.items()}.get("operations")
        if not isinstance(operations, list) or not operations:
            raise bad_request(constants.PATCH_NO_OPERATIONS, constants.INVALID_SYNTAX)
        if len(operations) > conf.max_operations():
            raise bad_request(
                constants.PATCH_TOO_MANY_OPERATIONS.format(limit=conf.max_operations()), constants.TOO_MANY
            )
        adapter = self.writer(request, uuid)
        adapter.patch(operations, expected_version(request))
        return self.render(request, adapter)

    def delete(self, request, uuid=None):
        if uuid is None:
            return self.http_method_not_allowed(request)
        self.writer(request, uuid).delete(expected_version(request))
        return HttpResponse(status=204)


class UserSearchView(UserResourceMixin, ScimView):
    """POST /Users/.search, and POST /.search at the root, with a SearchRequest (RFC 7644 §3.4.3).
    Users are the only resource type so far, so a root search is a User search."""

    http_method_names = ["post"]

    def post(self, request):
        return self.search(request, search_request_params(self.json_body(request)))


def search_request_params(body: dict) -> dict:
    """A SearchRequest body as query parameters; attribute lists may be JSON arrays."""
    params = {}
    for key, value in body.items():
        if key in ("attributes", "excludedAttributes") and isinstance(value, list):
            value = ",".join(str(v) for v in value)
        params[key] = value
    return params


def parse_id(resource_id: str) -> uuid.UUID:
    """SCIM ids are UUIDs; anything else names no resource (404, not 400 or 500)."""
    try:
        return uuid.UUID(resource_id)
    except ValueError:
        raise ScimError(404, constants.RESOURCE_NOT_FOUND.format(id=resource_id)) from None


def expected_version(request) -> int | None:
    """The version an If-Match header (RFC 7232, weak ETag W/"n") requires; None for * or none."""
    header = (request.headers.get("If-Match") or "").strip()
    if not header or header == "*":
        return None
    tag = header.split(",")[0].strip().removeprefix("W/").strip('"')
    try:
        return int(tag)
    except ValueError:
        return -1  # matches no version: 412
