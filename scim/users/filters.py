"""Which User attributes can be filtered on, and the model fields behind them."""

from django.db.models import F
from django.db.models.functions import Upper

from accounts.models import GroupMembership, ValueAttribute, WorkAccountValue
from scim import constants
from scim.filters import Field, FilterSpec, MultiValued
from scim.sorting import SortKey
from scim.users import mapping


_CORE = constants.USER_SCHEMA.lower()
_ENTERPRISE = constants.ENTERPRISE_USER_SCHEMA.lower()

# From the one attribute table (accounts.attributes.SIMPLE_ATTRIBUTES), by lower-cased SCIM name.
_STRING = {name.lower(): attribute for name, attribute in mapping.CORE.items()}
_NAME = {name.lower(): attribute for name, attribute in mapping.NAME.items()}
_ENTERPRISE_STRING = {name.lower(): attribute for name, attribute in mapping.ENTERPRISE.items()}
_CONTACT_SUBS = {
    "value": Field("value"),
    "type": Field("type"),
    "display": Field("display"),
    "primary": Field("primary", type="boolean"),
}
_ADDRESS_SUBS = {
    "formatted": Field("formatted"),
    "streetaddress": Field("street_address"),
    "locality": Field("locality"),
    "region": Field("region"),
    "postalcode": Field("postal_code"),
    "country": Field("country"),
    "type": Field("type"),
    "primary": Field("primary", type="boolean"),
}
_MULTI = {
    "emails": MultiValued(WorkAccountValue, "account", {"attribute": ValueAttribute.EMAILS}, _CONTACT_SUBS),
    "phonenumbers": MultiValued(
        WorkAccountValue, "account", {"attribute": ValueAttribute.PHONE_NUMBERS}, _CONTACT_SUBS
    ),
    "addresses": MultiValued(
        WorkAccountValue, "account", {"attribute": ValueAttribute.ADDRESSES}, _ADDRESS_SUBS, default_sub=None
    ),
}
_MANAGER = Field("manager_id", type="uuid")
_GROUPS = MultiValued(
    GroupMembership,
    "account",
    {},
    {"value": Field("group_id", type="uuid"), "display": Field("group__display_name")},
)


class UserFilterSpec(FilterSpec):
    resource_name = "User"

    def resolve(self, name, sub, uri):
        name = name.lower()
        sub = sub.lower() if sub else None
        uri = uri.lower() if uri else None
        if uri == _ENTERPRISE or (uri is None and name in ("manager", *_ENTERPRISE_STRING)):
            return self._enterprise(name, sub)
        if uri not in (None, _CORE):
            return None
        if sub is None:
            if name in _STRING:
                return _string_field(_STRING[name])
            if name == "id":
                return Field("id", type="uuid")
            if name == "active":
                return Field("is_active", type="boolean")
        if name == "name" and sub in _NAME:
            return _string_field(_NAME[sub])
        if name == "meta" and sub == "lastmodified":
            return Field("updated_at", type="dateTime")
        if name == "meta" and sub == "created":
            return Field("date_joined", type="dateTime")
        if name == "groups" and (sub is None or sub in _GROUPS.sub_attributes):
            return _GROUPS
        if name in _MULTI:
            target = _MULTI[name]
            if sub is None:
                return target
            return target if sub in target.sub_attributes else None
        return None

    def _enterprise(self, name, sub):
        if name in _ENTERPRISE_STRING and sub is None:
            return _string_field(_ENTERPRISE_STRING[name])
        if name == "manager" and sub in (None, "value"):
            return _MANAGER
        return None


def _string_field(attribute) -> Field:
    return Field(attribute.field, case_exact=attribute.schema.get("case_exact", False))


USER_FILTER_SPEC = UserFilterSpec()


# sortBy (RFC 7644 §3.4.2.3): only what an index of WorkAccount orders within an organization.
# userName sorts as its uniqueness compares it (account_username_ci_unique_per_org, upper()).
USER_SORT_KEYS = {
    "username": SortKey("userName", Upper("user_name"), unique=True),
    "externalid": SortKey("externalId", F("external_id"), nullable=True),
    "meta.created": SortKey("meta.created", F("date_joined"), kind="dateTime"),
    "meta.lastmodified": SortKey("meta.lastModified", F("updated_at"), kind="dateTime"),
}
USER_DEFAULT_SORT = "meta.created"  # creation order: stable under inserts, as lists paged before
