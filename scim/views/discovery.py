"""
Discovery (RFC 7644 §4), served by django-scim2's discovery views: ServiceProviderConfig from
SERVICE_PROVIDER_CONFIG_MODEL, ResourceTypes from the adapters' resource_type_dict, Schemas from
SCHEMAS_GETTER. What they get wrong is corrected on their answer.
"""

import json

from django.urls import reverse
from django_scim import views as django_scim_views

from scim.errors import not_found
from scim.locations import base_location
from scim.schema import RESOURCE_TYPES, SCHEMAS
from scim.views.base import ScimView, scim_response
from scim.views.listing import list_response


class ServiceProviderConfigView(ScimView, django_scim_views.ServiceProviderConfigView):
    pass


class _DiscoveryList:
    """Shared corrections of django-scim2's ResourceTypes and Schemas views."""

    order: tuple[str, ...] = ()

    def get(self, request, uuid=None, *args, **kwargs):
        response = super().get(request, uuid, *args, **kwargs)
        if response.status_code == 404:
            # django-scim2 answers an unknown id with an empty 404 (RFC 7644 §3.12: an error body).
            raise not_found(uuid)
        document = self.finished(request, json.loads(response.content))
        if uuid is not None:
            return scim_response(document)
        # django-scim2's lists lack totalResults (django-scim2#159) and are sorted by id, not
        # in the order the resources are described (core before extension).
        resources = sorted(document["Resources"], key=lambda r: self.order.index(r["id"]))
        return scim_response(list_response(resources, len(resources), 1))

    def finished(self, request, document: dict) -> dict:
        return document


class ResourceTypesView(_DiscoveryList, ScimView, django_scim_views.ResourceTypesView):
    order = tuple(rt.id for rt in RESOURCE_TYPES)


class SchemasView(_DiscoveryList, ScimView, django_scim_views.SchemasView):
    order = tuple(schema.id for schema in SCHEMAS)

    def finished(self, request, document: dict) -> dict:
        if "Resources" in document:
            document["Resources"] = [self.finished(request, r) for r in document["Resources"]]
            return document
        # SCHEMAS_GETTER is read once, at import: the location is added per request.
        location = base_location(request) + reverse("scim:schemas", kwargs={"uuid": document["id"]})
        meta = dict(document["meta"], location=location)
        return dict(document, meta=meta)
