"""
AccountAttributes: the provisioned state of a work account. Services take and return these; the
SCIM layer converts its documents to and from them. SIMPLE_ATTRIBUTES is the one table of its
single-valued attributes: model column, dataclass field and the name provisioning gives it.
"""

import dataclasses
import uuid
from dataclasses import dataclass, field


@dataclass(frozen=True)
class SimpleAttribute:
    """
    A single-valued string attribute of a work account: one model column, one AccountAttributes
    field, and the name the provisioning standard (RFC 7643 §4.1, §4.3) gives it. The SCIM layer's
    document builder, PATCH paths and schema, filter compiler and the log's modified properties
    all read this table: adding an attribute is a row here plus the model column's migration.
    """

    field: str  # the model column and AccountAttributes field
    name: str  # the SCIM name: "title", "name.givenName", or an enterprise extension attribute
    enterprise: bool = False  # in urn:ietf:params:scim:schemas:extension:enterprise:2.0:User
    schema: dict = field(
        default_factory=dict, hash=False, compare=False
    )  # more of its RFC 7643 §7 definition


# In the order of the User schema (RFC 7643 §8.7.1); externalId is common to every resource.
SIMPLE_ATTRIBUTES = (
    SimpleAttribute(
        "user_name",
        "userName",
        schema={"required": True, "uniqueness": "server", "description": "Unique identifier for the User"},
    ),
    SimpleAttribute("external_id", "externalId", schema={"case_exact": True}),
    SimpleAttribute("name_formatted", "name.formatted"),
    SimpleAttribute("name_family_name", "name.familyName"),
    SimpleAttribute("name_given_name", "name.givenName"),
    SimpleAttribute("name_middle_name", "name.middleName"),
    SimpleAttribute("name_honorific_prefix", "name.honorificPrefix"),
    SimpleAttribute("name_honorific_suffix", "name.honorificSuffix"),
    SimpleAttribute("display_name", "displayName"),
    SimpleAttribute("nick_name", "nickName"),
    SimpleAttribute(
        "profile_url", "profileUrl", schema={"type": "reference", "reference_types": ("external",)}
    ),
    SimpleAttribute("title", "title"),
    SimpleAttribute("user_type", "userType"),
    SimpleAttribute("preferred_language", "preferredLanguage"),
    SimpleAttribute("locale", "locale"),
    SimpleAttribute("timezone", "timezone"),
    SimpleAttribute("employee_number", "employeeNumber", enterprise=True),
    SimpleAttribute("cost_center", "costCenter", enterprise=True),
    SimpleAttribute("enterprise_organization", "organization", enterprise=True),
    SimpleAttribute("division", "division", enterprise=True),
    SimpleAttribute("department", "department", enterprise=True),
)
SIMPLE_FIELDS = tuple(attribute.field for attribute in SIMPLE_ATTRIBUTES)
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


def _changed_fields(self, other: "AccountAttributes") -> list[str]:
    """Names of the fields whose value differs in `other`."""
    return [f.name for f in dataclasses.fields(self) if getattr(self, f.name) != getattr(other, f.name)]


_CORE_SIMPLE = [a for a in SIMPLE_ATTRIBUTES if not a.enterprise]
_ENTERPRISE_SIMPLE = [a for a in SIMPLE_ATTRIBUTES if a.enterprise]

# The provisioned state of an account: userName, every other simple attribute of SIMPLE_ATTRIBUTES
# (None when unset), and the attributes with a shape of their own.
AccountAttributes = dataclasses.make_dataclass(
    "AccountAttributes",
    [
        ("user_name", str),
        ("active", bool | None, field(default=True)),
        *[
            (a.field, str | None, field(default=None))
            for a in SIMPLE_ATTRIBUTES
            if not a.enterprise and a.field != "user_name"
        ],
        ("emails", tuple[ContactValue, ...], field(default=())),
        ("phone_numbers", tuple[ContactValue, ...], field(default=())),
        ("addresses", tuple[PostalAddress, ...], field(default=())),
        ("roles", tuple, field(default=())),
        *[(a.field, str | None, field(default=None)) for a in _ENTERPRISE_SIMPLE],
        ("manager_id", uuid.UUID | None, field(default=None)),
        # The manager as the client sent it (manager.value). accounts.services links a reference
        # naming an account of the organization (manager_id); one naming none is kept here,
        # unresolved, until that account appears. At most one of the two is set.
        ("manager_reference", str | None, field(default=None)),
        # Write-only: a new password to set (never read back).
        ("password", str | None, field(default=None)),
    ],
    namespace={"changed_fields": _changed_fields, "__module__": __name__},
    frozen=True,
)


@dataclass(frozen=True)
class GroupAttributes:
    """A group's own attributes; its members are changed through MembershipUpdate."""

    display_name: str
    external_id: str | None = None
