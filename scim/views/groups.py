"""
/Groups: work groups as SCIM Group resources. Members are streamed page by page, so a group of
100,000 members is never held in memory, and `excludedAttributes=members` reads no membership.
PATCH answers 204 without the member list, as Entra advises (entra-scim.md §1.13).
"""

import json

from django.http import HttpResponse, StreamingHttpResponse
from django_scim.views import GroupsView

from accounts.selectors import organization_groups
from scim import constants
from scim.adapters.groups import WorkGroupSCIMGroup
from scim.groups.filters import GROUP_FILTER_SPEC
from scim.projection import project
from scim.schema import GROUP_RESOURCE
from scim.views.listing import list_response
from scim.views.resources import ResourceView, SearchView


def scoped_groups(request):
    """The one seam that scopes every Group lookup, list and filter to the caller's organization."""
    return organization_groups(organization=request.scim.organization)


class WorkGroupsView(ResourceView, GroupsView):
    log_resource_type = "Group"
    resource_type = GROUP_RESOURCE
    filter_spec = GROUP_FILTER_SPEC
    adapter_class = WorkGroupSCIMGroup
    ordering = ("created_at", "id")

    def scoped(self, request):
        return scoped_groups(request)

    def resource_response(self, request, adapter, params, status=200):
        # Everything that can fail is done before the response starts: once streaming, a failure
        # could only cut the body short after a 200.
        selection = self.member_selection(params)
        response = StreamingHttpResponse(
            _group_chunks(adapter, *selection), status=status, content_type=constants.SCIM_CONTENT_TYPE
        )
        response["ETag"] = adapter.etag
        response["Location"] = adapter.location
        return response

    def patched_response(self, request, adapter):
        response = HttpResponse(status=204)
        response["ETag"] = adapter.etag
        return response

    def list_response(self, request, objects, total, start, params):
        selection = self.member_selection(params)
        envelope = json.dumps(list_response([], total, start) | {"itemsPerPage": len(objects)})

        def chunks():
            yield envelope[: -len("[]}")] + "["
            for index, group in enumerate(objects):
                if index:
                    yield ","
                yield from _group_chunks(self.adapter_class(group, request=request), *selection)
            yield "]}"

        return StreamingHttpResponse(chunks(), content_type=constants.SCIM_CONTENT_TYPE)

    def member_selection(self, params) -> tuple[list, list, object]:
        """The parsed attributes and excludedAttributes, and which member keys to render."""
        attributes, excluded = self.attribute_lists(params)
        return attributes, excluded, _member_selection(attributes, excluded)


def _group_chunks(adapter, attributes: list, excluded: list, member_keys):
    text = json.dumps(project(adapter.to_dict(), attributes, excluded))
    if member_keys is False:
        yield text
        return
    yield text[:-1] + ', "members": ['
    yield from adapter.member_chunks(member_keys)
    yield "]}"


MEMBER_KEYS = frozenset({"value", "$ref", "type"})


def _member_selection(attributes: list, excluded: list):
    """False: leave members out; None: whole members; a set: only those member sub-attributes."""
    if not attributes:
        dropped = {(sub or "").lower() for _, name, sub in excluded if name.lower() == "members"}
        if "" in dropped:
            return False
        # excludedAttributes=members.$ref leaves $ref out of every member (RFC 7644 §3.4.2.5).
        return MEMBER_KEYS - dropped if dropped else None
    subs = {(sub or "").lower() for _, name, sub in attributes if name.lower() == "members"}
    if not subs:
        return False
    # attributes=members (no sub-attribute) asks for whole members.
    return None if "" in subs else subs | {"value"}


class GroupSearchView(SearchView):
    log_resource_type = "Group"
    resource_view = WorkGroupsView
