"""
The SCIM schemas this service provider implements (RFC 7643 §4.1, §4.3, §7).

One definition drives /Schemas, attribute-name resolution for PATCH paths and filters, type
coercion and the `attributes`/`excludedAttributes` projection, so what discovery advertises is
exactly what the endpoint accepts.
"""

from dataclasses import dataclass, field

from accounts.attributes import SIMPLE_ATTRIBUTES
from scim.constants import ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, USER_SCHEMA


@dataclass(frozen=True)
class Attribute:
    name: str
    type: str = "string"
    multi_valued: bool = False
    required: bool = False
    case_exact: bool = False
    mutability: str = "readWrite"
    returned: str = "default"
    uniqueness: str = "none"
    description: str = ""
    sub_attributes: tuple["Attribute", ...] = ()
    # None: not published; () is published as [] (RFC 7643 §8.7.1 does so for roles.type).
    canonical_values: tuple[str, ...] | None = None
    reference_types: tuple[str, ...] = ()

    def sub(self, name: str) -> "Attribute | None":
        lowered = name.lower()
        return next((s for s in self.sub_attributes if s.name.lower() == lowered), None)

    def to_dict(self) -> dict:
        doc = {
            "name": self.name,
            "type": self.type,
            "multiValued": self.multi_valued,
            "description": self.description or self.name,
            "required": self.required,
            "caseExact": self.case_exact,
            "mutability": self.mutability,
            "returned": self.returned,
            "uniqueness": self.uniqueness,
        }
        if self.canonical_values is not None:
            doc["canonicalValues"] = list(self.canonical_values)
        if self.reference_types:
            doc["referenceTypes"] = list(self.reference_types)
        if self.sub_attributes:
            doc["subAttributes"] = [s.to_dict() for s in self.sub_attributes]
        return doc


@dataclass(frozen=True)
class Schema:
    id: str
    name: str
    description: str
    attributes: tuple[Attribute, ...] = field(default=())

    def attribute(self, name: str) -> Attribute | None:
        lowered = name.lower()
        return next((a for a in self.attributes if a.name.lower() == lowered), None)

    def to_dict(self, location: str) -> dict:
        return {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "attributes": [a.to_dict() for a in self.attributes],
            "meta": {"resourceType": "Schema", "location": location},
        }


def _string(name: str, **kwargs) -> Attribute:
    return Attribute(name=name, **kwargs)


def _contact_sub_attributes(types: tuple[str, ...]) -> tuple[Attribute, ...]:
    return (
        _string("value"),
        _string("display"),
        _string("type", canonical_values=types),
        Attribute("primary", type="boolean"),
    )


def _simple(name: str, attribute) -> Attribute:
    return Attribute(name=name, **attribute.schema)


def _core_simple_attributes() -> tuple[Attribute, ...]:
    """The User's simple attributes from the one table (accounts.attributes.SIMPLE_ATTRIBUTES), in
    its order; the `name.*` rows become the complex `name`; externalId is common (RFC 7643 §3.1)."""
    built: list[Attribute] = []
    name_parts: list[Attribute] = []
    for attribute in SIMPLE_ATTRIBUTES:
        if attribute.enterprise or attribute.field == "external_id":
            continue
        parent, _, sub = attribute.name.partition(".")
        if not sub:
            built.append(_simple(parent, attribute))
            continue
        if not name_parts:
            built.append(None)  # where `name` goes
        name_parts.append(_simple(sub, attribute))
    complex_name = Attribute("name", type="complex", sub_attributes=tuple(name_parts))
    return tuple(complex_name if a is None else a for a in built)


USER = Schema(
    id=USER_SCHEMA,
    name="User",
    description="User Account",
    attributes=(
        *_core_simple_attributes(),
        Attribute("active", type="boolean"),
        Attribute("password", mutability="writeOnly", returned="never", case_exact=True),
        Attribute(
            "emails",
            type="complex",
            multi_valued=True,
            sub_attributes=_contact_sub_attributes(("work", "home", "other")),
        ),
        Attribute(
            "phoneNumbers",
            type="complex",
            multi_valued=True,
            sub_attributes=_contact_sub_attributes(("work", "home", "mobile", "fax", "pager", "other")),
        ),
        Attribute(
            "addresses",
            type="complex",
            multi_valued=True,
            sub_attributes=(
                _string("formatted"),
                _string("streetAddress"),
                _string("locality"),
                _string("region"),
                _string("postalCode"),
                _string("country"),
                _string("type", canonical_values=("work", "home", "other")),
                Attribute("primary", type="boolean"),
            ),
        ),
        Attribute(
            "groups",
            type="complex",
            multi_valued=True,
            mutability="readOnly",
            description="Groups the User belongs to; change them through the Group resource",
            sub_attributes=(
                _string("value", mutability="readOnly", case_exact=True),
                Attribute("$ref", type="reference", mutability="readOnly", reference_types=("Group",)),
                _string("display", mutability="readOnly"),
                _string("type", mutability="readOnly", canonical_values=("direct", "indirect")),
            ),
        ),
        Attribute(
            "roles",
            type="complex",
            multi_valued=True,
            sub_attributes=_contact_sub_attributes(()),
        ),
    ),
)

GROUP = Schema(
    id=GROUP_SCHEMA,
    name="Group",
    description="Group",
    attributes=(
        _string("displayName", required=True, uniqueness="server", description="A unique name for the Group"),
        Attribute(
            "members",
            type="complex",
            multi_valued=True,
            description="Work accounts of the same organization; values are User ids",
            sub_attributes=(
                _string("value", mutability="immutable", case_exact=True),
                Attribute("$ref", type="reference", mutability="immutable", reference_types=("User",)),
                # The member's displayName, else its userName (a display sent in a request is ignored).
                _string("display", mutability="readOnly"),
                _string("type", mutability="immutable", canonical_values=("User",)),
            ),
        ),
    ),
)

ENTERPRISE_USER = Schema(
    id=ENTERPRISE_USER_SCHEMA,
    name="EnterpriseUser",
    description="Enterprise User",
    attributes=(
        *(_simple(attribute.name, attribute) for attribute in SIMPLE_ATTRIBUTES if attribute.enterprise),
        Attribute(
            "manager",
            type="complex",
            sub_attributes=(
                _string("value", case_exact=True),
                Attribute("$ref", type="reference", reference_types=("User",)),
                _string("displayName", mutability="readOnly"),
            ),
        ),
    ),
)

# Attributes every resource has (RFC 7643 §3.1); not listed in /Schemas, but resolvable.
ID = Attribute("id", mutability="readOnly", returned="always", uniqueness="server", case_exact=True)
EXTERNAL_ID = next(_simple(a.name, a) for a in SIMPLE_ATTRIBUTES if a.field == "external_id")
META = Attribute(
    "meta",
    type="complex",
    mutability="readOnly",
    sub_attributes=(
        _string("resourceType", mutability="readOnly", case_exact=True),
        Attribute("created", type="dateTime", mutability="readOnly"),
        Attribute("lastModified", type="dateTime", mutability="readOnly"),
        Attribute("location", type="reference", mutability="readOnly", case_exact=True),
        _string("version", mutability="readOnly", case_exact=True),
    ),
)
COMMON_ATTRIBUTES = (ID, EXTERNAL_ID, META)


@dataclass(frozen=True)
class ResourceType:
    """A resource type with its core schema and extensions (RFC 7643 §6)."""

    id: str
    name: str
    endpoint: str
    description: str
    core: Schema
    extensions: tuple[Schema, ...] = ()

    @property
    def schemas(self) -> tuple[Schema, ...]:
        return (self.core, *self.extensions)

    def extension(self, urn: str) -> Schema | None:
        lowered = urn.lower()
        return next((s for s in self.extensions if s.id.lower() == lowered), None)

    def to_dict(self, location: str) -> dict:
        return {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
            "id": self.id,
            "name": self.name,
            "endpoint": self.endpoint,
            "description": self.description,
            "schema": self.core.id,
            "schemaExtensions": [{"schema": s.id, "required": False} for s in self.extensions],
            "meta": {"resourceType": "ResourceType", "location": location},
        }


USER_RESOURCE = ResourceType(
    id="User",
    name="User",
    endpoint="/Users",
    description="Work accounts of the organization",
    core=USER,
    extensions=(ENTERPRISE_USER,),
)

GROUP_RESOURCE = ResourceType(
    id="Group",
    name="Group",
    endpoint="/Groups",
    description="Groups of work accounts of the organization",
    core=GROUP,
)

RESOURCE_TYPES = (USER_RESOURCE, GROUP_RESOURCE)
SCHEMAS = (USER, ENTERPRISE_USER, GROUP)
