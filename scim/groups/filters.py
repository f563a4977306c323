"""Which Group attributes can be filtered on, and the model fields behind them."""

from django.db.models import F
from django.db.models.functions import Upper

from accounts.models import GroupMembership
from scim import constants
from scim.filters import Field, FilterSpec, MultiValued
from scim.sorting import SortKey


_CORE = constants.GROUP_SCHEMA.lower()
MEMBERS = MultiValued(
    GroupMembership,
    "group",
    {},
    {"value": Field("account_id", type="uuid")},
)


class GroupFilterSpec(FilterSpec):
    resource_name = "Group"

    def resolve(self, name, sub, uri):
        name = name.lower()
        sub = sub.lower() if sub else None
        if uri is not None and uri.lower() != _CORE:
            return None
        if sub is None:
            if name == "displayname":
                return Field("display_name")
            if name == "id":
                return Field("id", type="uuid")
            if name == "externalid":
                return Field("external_id", case_exact=True)
        if name == "meta" and sub == "lastmodified":
            return Field("updated_at", type="dateTime")
        if name == "meta" and sub == "created":
            return Field("created_at", type="dateTime")
        if name == "members" and (sub is None or sub in MEMBERS.sub_attributes):
            return MEMBERS
        return None


GROUP_FILTER_SPEC = GroupFilterSpec()


# sortBy (RFC 7644 §3.4.2.3): only what an index of WorkGroup orders within an organization.
# displayName sorts as its uniqueness compares it (group_display_name_ci_unique_per_org, upper()).
GROUP_SORT_KEYS = {
    "displayname": SortKey("displayName", Upper("display_name"), unique=True),
    "externalid": SortKey("externalId", F("external_id"), nullable=True),
    "meta.created": SortKey("meta.created", F("created_at"), kind="dateTime"),
    "meta.lastmodified": SortKey("meta.lastModified", F("updated_at"), kind="dateTime"),
}
GROUP_DEFAULT_SORT = "meta.created"
