"""
The resource endpoints (RFC 7644 §3.2–§3.6) for /Users and /Groups: django-scim2's UsersView and
GroupsView handlers (get → get_single / get_many, post, put, patch, delete) over the adapter
contract (from_dict, save, to_dict, handle_operations, delete), with our overrides at their
extension points, each naming the defect it corrects.
"""

from django.http import HttpResponse

from provisioning_logs.models import Action
from scim import conf, constants
from scim.answers import patch_answers_resource
from scim.errors import bad_request
from scim.groups.filters import GROUP_DEFAULT_SORT, GROUP_SORT_KEYS
from scim.requests import params, parse_id, projection, search_request_params
from scim.users.filters import USER_DEFAULT_SORT, USER_SORT_KEYS
from scim.views.base import ScimView
from scim.views.listing import page_request, sorted_page


# Resource type -> (its sortBy keys, the order of a request without sortBy).
SORTS = {"User": (USER_SORT_KEYS, USER_DEFAULT_SORT), "Group": (GROUP_SORT_KEYS, GROUP_DEFAULT_SORT)}

# (method, names a resource) -> what the provisioning log calls the request.
ACTIONS = {
    ("GET", False): Action.LOOKUP,
    ("GET", True): Action.LOOKUP,
    ("POST", False): Action.CREATE,
    ("PUT", True): Action.UPDATE,
    ("PATCH", True): Action.UPDATE,
    ("DELETE", True): Action.DELETE,
}


class ListingView(ScimView):
    """django-scim2's FilterMixin (paging, filtering, list rendering), corrected."""

    lookup_field = "pk"  # the SCIM id is the primary key (django-scim2's default is a scim_id column)
    resource_type = None  # scim.schema.ResourceType

    def _page(self, request):
        # django-scim2 caps no count, answers startIndex < 1 with 400 (RFC 7644 §3.4.2.4: cap; treat
        # as 1), and knows neither sortBy (§3.4.2.3) nor cursors (RFC 9865): the whole page request is
        # kept for _build_response, which django-scim2 hands only (start, count).
        keys, default = SORTS[self.resource_type.id]
        page = request.scim_page = page_request(
            params(request),
            resource_type=self.resource_type,
            sort_keys=keys,
            default_sort=default,
            scope=request.scim.organization.pk,
        )
        return page.start, page.count

    def _search(self, request, query, start, count):
        # django-scim2 filters with raw SQL, then scopes in Python over every row it returned, and
        # skips GET_QUERYSET_POST_PROCESSOR_GETTER (django-scim2#91): here the filter is a Q and the
        # organization scope and ordering apply in SQL.
        return self._build_response(request, self.queryset(request, query), start, count)

    def queryset(self, request, query):
        """The filtered resources, through django-scim2's filter parser and scoping hooks."""
        parser = type(self).parser_getter()
        queryset = parser.search(query, request) if query else self.model_cls.objects.all()
        queryset = queryset.filter(**self.get_extra_filter_kwargs(request))
        exclude = self.get_extra_exclude_kwargs(request)
        if exclude:  # django-scim2's default is none: an empty exclude() would still clone the queryset
            queryset = queryset.exclude(**exclude)
        return self.get_queryset_post_processor(request, queryset)

    def _build_response(self, request, qs, start, count):
        # django-scim2 counts by iterating every row and ignores attributes/excludedAttributes:
        # COUNT in SQL (skipped when the first page is short), each resource projected by to_dict.
        objects, paging = sorted_page(qs, request.scim_page)
        return self.list_response(request, objects, paging)

    def list_response(self, request, objects: list, paging: dict) -> HttpResponse:
        """The ListResponse of `objects`; `paging` holds its totalResults, startIndex or cursors."""
        raise NotImplementedError


class ResourceView(ListingView):
    http_method_names = ["get", "post", "put", "patch", "delete"]

    def before_handler(self, request, *args, **kwargs) -> None:
        names_resource = kwargs.get(self.lookup_url_kwarg) is not None
        action = ACTIONS.get((request.method, names_resource))
        if action is None:
            # django-scim2 creates on POST /Users/{id} and looks up id None on PUT /Users: RFC 7644 §3.2 405.
            self.http_method_not_allowed(request)
        request.scim_note.action = action
        projection(request, self.resource_type)  # a bad attribute list is a 400 before any write
        if request.method == "GET" and not names_resource:
            request.scim_note.looked_up(params(request).get("filter"))

    # The adapter the handler made (its ETag goes on the answer) ------------------------------------

    @property
    def scim_adapter(self):
        return self._make_adapter

    def _make_adapter(self, obj, request=None):
        self.adapter = type(self).scim_adapter_getter()(obj, request=request)
        return self.adapter

    # Extension points ------------------------------------------------------------------------------

    def get_object(self):
        # django-scim2 looks a malformed id up in the database (a 500 on PostgreSQL): SCIM ids are UUIDs.
        resource_id = parse_id(self.kwargs[self.lookup_url_kwarg])
        if self.request.method != "GET":
            # Writes name the resource by id only: the accounts service loads it under a row lock,
            # where django-scim2 would read it a first time without one.
            self.request.scim_note.resource_id = resource_id
            # Only its id: a stored row's stand-in, without the defaults of every other field
            # that model_cls(pk=…) would compute (a fifth of the instances' cost, issue 15).
            model = self.model_cls
            return model.from_db(None, [model._meta.pk.attname], [resource_id])
        self.kwargs = dict(self.kwargs, **{self.lookup_url_kwarg: resource_id})
        obj = super().get_object()
        self.request.scim_note.took(obj)
        return obj

    # Handlers: django-scim2's, with what it leaves out of the answer ---------------------------------

    def get_single(self, request):
        response = self.finished(super().get_single(request))
        # django-scim2 ignores If-None-Match (RFC 7644 §3.14).
        if request.headers.get("If-None-Match") == self.adapter.etag:
            not_modified = HttpResponse(status=304)
            not_modified["ETag"] = self.adapter.etag
            return not_modified
        return response

    def post(self, request, *args, **kwargs):
        return self.finished(super().post(request, *args, **kwargs))

    def put(self, request, *args, **kwargs):
        return self.finished(super().put(request, *args, **kwargs))

    def patch(self, request, *args, **kwargs):
        # django-scim2 wraps handle_operations in its own transaction: the accounts service owns it
        # (inside django-scim2's, a held deprovisioning would be rolled back with its 503).
        # Decided (and attributes=… parsed) before anything changes: a refused request changes nothing.
        answers_resource = patch_answers_resource(request, self.resource_type)
        adapter = self.scim_adapter(self.get_object(), request=request)
        adapter.handle_operations(patch_operations(self.load_body(request.body)))
        if not answers_resource:
            response = HttpResponse(status=204)
            response["ETag"] = adapter.etag
            return response
        return self.patched_response(request, adapter)

    # What each resource type renders -----------------------------------------------------------------

    def finished(self, response):
        """django-scim2's answer with what it leaves out (RFC 7644 §3.14 ETag)."""
        response["ETag"] = self.adapter.etag
        return response

    def patched_response(self, request, adapter) -> HttpResponse:
        """200 with the patched resource (RFC 7644 §3.5.2), projected by attributes=…."""
        raise NotImplementedError


def patch_operations(body: dict) -> list:
    """The PatchOp's Operations (RFC 7644 §3.5.2): attribute names are case-insensitive."""
    operations = {str(k).lower(): v for k, v in body.items()}.get("operations")
    if not isinstance(operations, list) or not operations:
        raise bad_request(constants.PATCH_NO_OPERATIONS, constants.INVALID_SYNTAX)
    if len(operations) > conf.max_operations():
        raise bad_request(
            constants.PATCH_TOO_MANY_OPERATIONS.format(limit=conf.max_operations()), constants.TOO_MANY
        )
    return operations


class SearchMixin:
    """django-scim2's <resource>/.search view (POST SearchRequest, RFC 7644 §3.4.3)."""

    http_method_names = ["post"]

    @property
    def model_cls(self):
        # django-scim2's .search views scope with the model 'search', which names neither resource type.
        return type(self).model_cls_getter()

    def load_body(self, body: bytes) -> dict:
        document = super().load_body(body)
        self.request.scim_params = search_request_params(document)
        self.request.scim_note.looked_up(document.get("filter"))
        # django-scim2 requires the schemas list verbatim and a filter; RFC 7644 §3.4.3 makes the
        # filter optional (every resource: `id pr`) and paging and attribute lists body parameters.
        return dict(
            document, schemas=[constants.SEARCH_REQUEST_SCHEMA], filter=document.get("filter") or MATCH_ALL
        )


MATCH_ALL = "id pr"
