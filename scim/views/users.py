"""/Users: work accounts as SCIM User resources, served by django-scim2's UsersView and UserSearchView."""

import json

from django_scim import views as django_scim_views
from django_scim.utils import get_user_model

from scim.schema import USER_RESOURCE
from scim.users.reads import user_page
from scim.views.base import scim_response
from scim.views.listing import list_document
from scim.views.resources import ListingView, ResourceView, SearchMixin


class UserRendering:
    model_cls_getter = get_user_model
    log_resource_type = "User"
    resource_type = USER_RESOURCE

    def resource_chunks(self, request, obj):
        yield json.dumps(type(self).scim_adapter_getter()(obj, request=request).to_dict())

    def list_response(self, request, objects, paging):
        adapter_class = type(self).scim_adapter_getter()
        resources = [adapter_class(o, request=request).to_dict() for o in objects]
        return scim_response(list_document(resources, paging))

    def patched_response(self, request, adapter):
        response = scim_response(adapter.to_dict(), headers={"Location": adapter.location})
        return self.finished(response)


class UserReads:
    """Filtered pages by index (Entra's match): rows from statements compiled once (scim.users.reads)."""

    def _search(self, request, query, start, count):
        page = request.scim_page
        if page.by_cursor:
            return super()._search(request, query, start, count)
        accounts, paging = user_page(self, request, query, page)
        return self.list_response(request, accounts, paging)


class WorkAccountUsersView(UserReads, UserRendering, ResourceView, django_scim_views.UsersView):
    pass


class UserSearchView(SearchMixin, UserReads, UserRendering, ListingView, django_scim_views.UserSearchView):
    pass
