"""
AccountAttributes: the provisioned state of a work account, independent of any wire format.

Services take and return these; the SCIM layer converts its documents to and from them.
"""

import dataclasses
import uuid
from dataclasses import dataclass, field


# Simple single-valued attributes: their names are both the dataclass fields and model fields.
SIMPLE_FIELDS = (
    "user_name",
    "external_id",
    "display_name",
    "nick_name",
    "title",
    "user_type",
    "preferred_language",
    "locale",
    "timezone",
    "profile_url",
    "name_formatted",
    "name_family_name",
    "name_given_name",
    "name_middle_name",
    "name_honorific_prefix",
    "name_honorific_suffix",
    "employee_number",
    "cost_center",
    "enterprise_organization",
    "division",
    "department",
)
ADDRESS_PARTS = ("formatted", "street_address", "locality", "region", "postal_code", "country")


@dataclass(frozen=True)
class ContactValue:
    """An element of emails or phoneNumbers."""

    value: str | None = None
    type: str | None = None
    primary: bool = False
    display: str | None = None


@dataclass(frozen=True)
class PostalAddress:
    """An element of addresses."""

    formatted: str | None = None
    street_address: str | None = None
    locality: str | None = None
    region: str | None = None
    postal_code: str | None = None
    country: str | None = None
    type: str | None = None
    primary: bool = False


@dataclass(frozen=True)
class AccountAttributes:
    user_name: str
    active: bool | None = True
    external_id: str | None = None
    display_name: str | None = None
    nick_name: str | None = None
    title: str | None = None
    user_type: str | None = None
    preferred_language: str | None = None
    locale: str | None = None
    timezone: str | None = None
    profile_url: str | None = None
    name_formatted: str | None = None
    name_family_name: str | None = None
    name_given_name: str | None = None
    name_middle_name: str | None = None
    name_honorific_prefix: str | None = None
    name_honorific_suffix: str | None = None
    emails: tuple[ContactValue, ...] = ()
    phone_numbers: tuple[ContactValue, ...] = ()
    addresses: tuple[PostalAddress, ...] = ()
    roles: tuple = field(default=())
    employee_number: str | None = None
    cost_center: str | None = None
    enterprise_organization: str | None = None
    division: str | None = None
    department: str | None = None
    manager_id: uuid.UUID | None = None
    # Write-only: a new password to set (never read back).
    password: str | None = None

    def changed_fields(self, other: "AccountAttributes") -> list[str]:
        """Names of the fields whose value differs in `other`."""
        return [f.name for f in dataclasses.fields(self) if getattr(self, f.name) != getattr(other, f.name)]


@dataclass(frozen=True)
class GroupAttributes:
    """A group's own attributes; its members are changed through MembershipUpdate."""

    display_name: str
    external_id: str | None = None
