"""
django-scim2's settings hooks (SCIM_SERVICE_PROVIDER in config/settings/base.py): which models
it serves, how it scopes them to the caller's organization, how it filters, what it advertises.
"""

from django.urls import reverse

from accounts.models import WorkAccount, WorkGroup
from accounts.selectors import live_accounts_scope, with_values_and_groups, with_values_and_groups_loaded
from scim import conf, constants
from scim.filters import compile_filter
from scim.groups.filters import GROUP_FILTER_SPEC
from scim.locations import base_location
from scim.schema import SCHEMAS
from scim.users.filters import USER_FILTER_SPEC


def user_model():
    """USER_MODEL_GETTER: SCIM Users are work accounts, not the portal's sign-in users."""
    return WorkAccount


# GET_EXTRA_MODEL_FILTER_KWARGS_GETTER --------------------------------------------------------------


def extra_filter_kwargs_getter(model):
    """The one seam that scopes every lookup, list and filter to the caller's organization."""

    def users(request, *args, **kwargs) -> dict:
        return live_accounts_scope(organization=request.scim.organization)

    def groups(request, *args, **kwargs) -> dict:
        return {"organization": request.scim.organization}

    return users if model is WorkAccount else groups


# GET_OBJECT_POST_PROCESSOR_GETTER / GET_QUERYSET_POST_PROCESSOR_GETTER -------------------------------

# Lists page in creation order (stable under inserts), not django-scim2's order by id.
ORDERING = {WorkAccount: ("date_joined", "id"), WorkGroup: ("created_at", "id")}


def object_post_processor_getter(model):
    """A User read loads its emails, phoneNumbers, addresses and groups in two extra queries."""

    def users(request, obj, *args, **kwargs):
        return with_values_and_groups_loaded(obj)

    def groups(request, obj, *args, **kwargs):
        return obj

    return users if model is WorkAccount else groups


def queryset_post_processor_getter(model):
    def process(request, queryset, *args, **kwargs):
        queryset = queryset.order_by(*ORDERING[model])
        return with_values_and_groups(queryset) if model is WorkAccount else queryset

    return process


# USER_FILTER_PARSER / GROUP_FILTER_PARSER ----------------------------------------------------------


class FilterQuery:
    """django-scim2's filter-parser contract (`attr_map`, `search(query, request)`), compiled to ORM
    Q objects (scim.filters) instead of its raw SQL, so the organization scope composes in SQL."""

    model = None
    spec = None
    attr_map: dict = {}

    @classmethod
    def search(cls, query, request=None):
        return cls.model.objects.filter(compile_filter(query, cls.spec))


class UserFilterQuery(FilterQuery):
    model = WorkAccount
    spec = USER_FILTER_SPEC


class GroupFilterQuery(FilterQuery):
    model = WorkGroup
    spec = GROUP_FILTER_SPEC


# SERVICE_PROVIDER_CONFIG_MODEL / SCHEMAS_GETTER ----------------------------------------------------


class ServiceProviderConfig:
    """SERVICE_PROVIDER_CONFIG_MODEL: django-scim2's claims filter, sort and etag unsupported and
    knows no RFC 9865 pagination; ours says what is served."""

    def __init__(self, request=None):
        self.request = request

    def to_dict(self) -> dict:
        return {
            "schemas": [constants.SERVICE_PROVIDER_CONFIG_SCHEMA],
            "patch": {"supported": True},
            "bulk": {"supported": False, "maxOperations": 0, "maxPayloadSize": 0},
            "filter": {"supported": True, "maxResults": conf.max_results()},
            "changePassword": {"supported": True},
            # RFC 7644 §3.4.2.3 on the indexed attributes (scim.users.filters, scim.groups.filters).
            "sort": {"supported": True},
            "etag": {"supported": True},
            # RFC 9865 §4: cursors on /Users and /Groups; startIndex stays the default (§2.4: Entra).
            "pagination": {
                "cursor": True,
                "index": True,
                "defaultPaginationMethod": "index",
                "defaultPageSize": conf.default_count(),
                "maxPageSize": conf.max_results(),
                "cursorTimeout": conf.cursor_timeout(),
            },
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
                "location": base_location(self.request) + reverse("scim:service-provider-config"),
            },
        }


def schemas() -> list[dict]:
    """SCHEMAS_GETTER, read by django-scim2 at import: meta.location is filled in per request."""
    return [schema.to_dict("") for schema in SCHEMAS]
