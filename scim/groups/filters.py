"""Which Group attributes can be filtered on, and the model fields behind them."""

from accounts.models import GroupMembership
from scim import constants
from scim.filters import Field, FilterSpec, MultiValued


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
