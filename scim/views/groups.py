"""
/Groups: work groups as SCIM Group resources, served by django-scim2's GroupsView and
GroupSearchView. Members are streamed page by page, so a group of 100,000 members is never held in
memory, and `excludedAttributes=members` reads no membership. PATCH answers 204 to Entra, as it
advises (entra-scim.md §1.13), and 200 with the group to Okta and others (scim.answers).
"""

import json

from django.http import StreamingHttpResponse
from django_scim import views as django_scim_views
from django_scim.utils import get_group_model

from scim import constants
from scim.answers import members_show_display
from scim.projection import value_projection
from scim.requests import projection
from scim.schema import GROUP_RESOURCE
from scim.views.listing import list_document
from scim.views.resources import ListingView, ResourceView, SearchMixin


class GroupRendering:
    model_cls_getter = get_group_model
    log_resource_type = "Group"
    resource_type = GROUP_RESOURCE

    def resource_chunks(self, request, obj):
        adapter = type(self).scim_adapter_getter()(obj, request=request)
        return _group_chunks(json.dumps(adapter.to_dict()), adapter, self.member_selection(request))

    def list_response(self, request, objects, paging):
        selection = self.member_selection(request)
        envelope = json.dumps(list_document([], paging) | {"itemsPerPage": len(objects)})
        adapter_class = type(self).scim_adapter_getter()

        def chunks():
            yield envelope[: -len("[]}")] + "["
            for index, group in enumerate(objects):
                if index:
                    yield ","
                adapter = adapter_class(group, request=request)
                yield from _group_chunks(json.dumps(adapter.to_dict()), adapter, selection)
            yield "]}"

        return StreamingHttpResponse(chunks(), content_type=constants.SCIM_CONTENT_TYPE)

    def finished(self, response):
        # django-scim2 renders every member in memory, one query per member: they are streamed,
        # page by page, after the group that to_dict rendered.
        if response.status_code >= 300:
            return response
        return self.streamed(response.content.decode(), self.adapter, response.status_code)

    def patched_response(self, request, adapter):
        return self.streamed(json.dumps(adapter.to_dict()), adapter, 200)

    def streamed(self, group_text: str, adapter, status: int):
        """The group django-scim2 or to_dict rendered, its members streamed after it."""
        selection = self.member_selection(self.request)  # fails before the response starts
        streamed = StreamingHttpResponse(
            _group_chunks(group_text, adapter, selection),
            status=status,
            content_type=constants.SCIM_CONTENT_TYPE,
        )
        streamed["Location"] = adapter.location
        streamed["ETag"] = adapter.etag
        return streamed

    def member_selection(self, request):
        """False: leave members out; None: whole members; a set: only those member sub-attributes;
        a function: each member as value filters project it (None: left out)."""
        selection = _member_selection(*projection(request, GROUP_RESOURCE))
        if selection is None and not members_show_display(request):
            return MEMBER_KEYS - {"display"}
        return selection


class WorkGroupsView(GroupRendering, ResourceView, django_scim_views.GroupsView):
    pass


class GroupSearchView(SearchMixin, GroupRendering, ListingView, django_scim_views.GroupSearchView):
    pass


def _group_chunks(text: str, adapter, member_keys):
    if member_keys is False:
        yield text
        return
    yield text[:-1] + ', "members": ['
    yield from adapter.member_chunks(member_keys)
    yield "]}"


MEMBER_KEYS = frozenset({"value", "$ref", "display", "type"})


def _member_selection(attributes: list, excluded: list):
    filtered = value_projection("members", attributes, excluded)
    if filtered is not None:
        return filtered  # members[value eq "…"] in attributes or excludedAttributes (issue 14)
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
