"""
POST /.search at the root (RFC 7644 §3.4.3): one query over Users and Groups. django-scim2 answers
it with 501; ours runs each resource view's filter, scope and ordering (its settings hooks). A filter
attribute that one resource type lacks just matches none of that type; the results are Users, then
Groups.
"""

import json

from django.http import StreamingHttpResponse

from scim import constants
from scim.filters import UnknownFilterAttribute
from scim.requests import projection, search_request_params
from scim.views.base import ScimView
from scim.views.groups import GroupSearchView
from scim.views.listing import list_response, paging, refuse_cursor_and_sort
from scim.views.users import UserSearchView


class RootSearchView(ScimView):
    http_method_names = ["post"]
    resource_views = (UserSearchView, GroupSearchView)

    def post(self, request):
        params = request.scim_params = search_request_params(self.json_body(request))
        request.scim_note.looked_up(params.get("filter"))
        refuse_cursor_and_sort(params)
        start, count = paging(params)
        matching = []
        unknown = None
        for view_class in self.resource_views:
            view = view_class(request=request, kwargs={})
            try:
                matching.append((view, view.queryset(request, params.get("filter"))))
            except UnknownFilterAttribute as error:
                unknown = unknown or error
        if not matching:
            raise unknown
        for view, _ in matching:
            projection(
                request, view.resource_type
            )  # a bad attribute list is a 400 before the response starts
        totals = [queryset.count() for _, queryset in matching]
        pages = []
        skip, room = start - 1, count
        for (view, queryset), total in zip(matching, totals, strict=True):
            if skip >= total:
                skip -= total
                continue
            objects = list(queryset[skip : skip + room]) if room else []
            skip, room = 0, room - len(objects)
            pages.append((view, objects))
        items = sum(len(objects) for _, objects in pages)
        envelope = json.dumps(list_response([], sum(totals), start) | {"itemsPerPage": items})
        return StreamingHttpResponse(
            _chunks(request, envelope, pages), content_type=constants.SCIM_CONTENT_TYPE
        )


def _chunks(request, envelope: str, pages):
    yield envelope[: -len("[]}")] + "["
    first = True
    for view, objects in pages:
        for obj in objects:
            if not first:
                yield ","
            first = False
            yield from view.resource_chunks(request, obj)
    yield "]}"
