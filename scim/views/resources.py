"""
The resource endpoints (RFC 7644 §3.2–§3.6), shared by /Users and /Groups: thin views that parse
the request, call the adapter (which calls one accounts service) and render.
"""

import uuid

from django.http import HttpResponse

from provisioning_logs.models import Action
from scim import conf, constants
from scim.errors import ScimError, bad_request
from scim.filters import compile_filter
from scim.projection import parse_attribute_list
from scim.views.base import ScimView
from scim.views.listing import page_of, paging


class ResourceView(ScimView):
    http_method_names = ["get", "post", "put", "patch", "delete"]
    resource_type = None
    filter_spec = None
    adapter_class = None
    ordering: tuple[str, ...] = ()

    # Hooks ---------------------------------------------------------------------------------------

    def scoped(self, request):
        """The one seam that scopes every lookup, list and filter to the caller's organization."""
        raise NotImplementedError

    def for_reading(self, queryset):
        return queryset

    def resource_response(self, request, adapter, params, status: int = 200) -> HttpResponse:
        raise NotImplementedError

    def list_response(self, request, objects: list, total: int, start: int, params) -> HttpResponse:
        raise NotImplementedError

    # HTTP methods --------------------------------------------------------------------------------

    def get(self, request, uuid=None):
        if uuid is None:
            return self.search(request, request.GET)
        request.scim_note.action = Action.LOOKUP
        obj = self.for_reading(self.scoped(request)).filter(pk=parse_id(uuid)).first()
        if obj is None:
            raise ScimError(404, constants.RESOURCE_NOT_FOUND.format(id=uuid))
        request.scim_note.took(obj)
        adapter = self.adapter_class(obj, request=request)
        if request.headers.get("If-None-Match") == adapter.etag:
            not_modified = HttpResponse(status=304)
            not_modified["ETag"] = adapter.etag
            return not_modified
        return self.resource_response(request, adapter, request.GET)

    def post(self, request, uuid=None):
        if uuid is not None:
            return self.http_method_not_allowed(request)
        request.scim_note.action = Action.CREATE
        body = self.json_body(request)
        request.scim_note.named_by_body(body)
        adapter = self.adapter_class(None, request=request)
        adapter.create(body)
        request.scim_note.took(adapter.obj, adapter.changes)
        return self.resource_response(request, adapter, request.GET, status=201)

    def put(self, request, uuid=None):
        if uuid is None:
            return self.http_method_not_allowed(request)
        request.scim_note.action = Action.UPDATE
        body = self.json_body(request)
        request.scim_note.named_by_body(body)
        adapter = self.writer(request, uuid)
        adapter.replace(body, expected_version(request))
        request.scim_note.updated(adapter.obj, adapter.changes)
        return self.resource_response(request, adapter, request.GET)

    def patch(self, request, uuid=None):
        if uuid is None:
            return self.http_method_not_allowed(request)
        request.scim_note.action = Action.UPDATE
        request.scim_note.resource_id = parse_id(uuid)
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
        request.scim_note.updated(adapter.obj, adapter.changes)
        return self.patched_response(request, adapter)

    def patched_response(self, request, adapter) -> HttpResponse:
        return self.resource_response(request, adapter, request.GET)

    def delete(self, request, uuid=None):
        if uuid is None:
            return self.http_method_not_allowed(request)
        request.scim_note.action = Action.DELETE
        request.scim_note.resource_id = parse_id(uuid)
        adapter = self.writer(request, uuid)
        adapter.delete(expected_version(request))
        request.scim_note.took(adapter.obj)
        return HttpResponse(status=204)

    # Helpers -------------------------------------------------------------------------------------

    def writer(self, request, resource_id: str):
        """An adapter that names the resource by id only: the service loads it under a lock."""
        return self.adapter_class.for_id(request, parse_id(resource_id))

    def filtered(self, request, params):
        queryset = self.scoped(request)
        filter_text = params.get("filter")
        if filter_text:
            queryset = queryset.filter(compile_filter(filter_text, self.filter_spec))
        return queryset

    def search(self, request, params) -> HttpResponse:
        request.scim_note.looked_up(params.get("filter"))
        start, count = paging(params)
        queryset = self.for_reading(self.filtered(request, params).order_by(*self.ordering))
        objects, total = page_of(queryset, start, count)
        return self.list_response(request, objects, total, start, params)

    def attribute_lists(self, params) -> tuple[list, list]:
        return (
            parse_attribute_list(params.get("attributes"), self.resource_type),
            parse_attribute_list(params.get("excludedAttributes"), self.resource_type),
        )


class SearchView(ScimView):
    """POST <resource>/.search with a SearchRequest body (RFC 7644 §3.4.3)."""

    http_method_names = ["post"]
    resource_view = None

    def post(self, request):
        view = self.resource_view()
        view.request = request
        return view.search(request, search_request_params(self.json_body(request)))


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
    # Our tags are W/"<version>" or, for users in groups, W/"<version>-<groups fingerprint>".
    tag = header.split(",")[0].strip().removeprefix("W/").strip('"').split("-")[0]
    try:
        return int(tag)
    except ValueError:
        return -1  # matches no version: 412
