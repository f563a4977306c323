"""Discovery (RFC 7644 §4): what this service provider supports, and nothing it does not."""

from django.urls import reverse

from scim import conf, constants
from scim.errors import ScimError
from scim.locations import base_location
from scim.schema import RESOURCE_TYPES, SCHEMAS
from scim.views.base import ScimView, scim_response
from scim.views.listing import list_response


def service_provider_config(request) -> dict:
    return {
        "schemas": [constants.SERVICE_PROVIDER_CONFIG_SCHEMA],
        "patch": {"supported": True},
        "bulk": {"supported": False, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": True, "maxResults": conf.max_results()},
        "changePassword": {"supported": True},
        "sort": {"supported": False},
        "etag": {"supported": True},
        "authenticationSchemes": [
            {
                "type": "oauthbearertoken",
                "name": "OAuth Bearer Token",
                "description": "A bearer token issued to one provisioning connection of an organization.",
                "specUri": "https://www.rfc-editor.org/info/rfc6750",
                "primary": True,
            }
        ],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": base_location(request) + reverse("scim:service-provider-config"),
        },
    }


class ServiceProviderConfigView(ScimView):
    http_method_names = ["get"]

    def get(self, request):
        return scim_response(service_provider_config(request))


class ResourceTypesView(ScimView):
    http_method_names = ["get"]

    def get(self, request, uuid=None):
        documents = {
            rt.id: rt.to_dict(base_location(request) + reverse("scim:resource-types", kwargs={"uuid": rt.id}))
            for rt in RESOURCE_TYPES
        }
        if uuid is None:
            resources = list(documents.values())
            return scim_response(list_response(resources, len(resources), 1))
        if uuid not in documents:
            raise ScimError(404, constants.RESOURCE_NOT_FOUND.format(id=uuid))
        return scim_response(documents[uuid])


class SchemasView(ScimView):
    http_method_names = ["get"]

    def get(self, request, uuid=None):
        documents = {
            schema.id: schema.to_dict(
                base_location(request) + reverse("scim:schemas", kwargs={"uuid": schema.id})
            )
            for schema in SCHEMAS
        }
        if uuid is None:
            resources = list(documents.values())
            return scim_response(list_response(resources, len(resources), 1))
        if uuid not in documents:
            raise ScimError(404, constants.RESOURCE_NOT_FOUND.format(id=uuid))
        return scim_response(documents[uuid])
