"""
The SCIM User document ⇄ AccountAttributes.

A "document" is the resource as JSON without id/meta/schemas, with canonical attribute names and
the enterprise extension under its URN. PATCH edits documents; POST and PUT bodies are
canonicalised into one. Absent values are left out, never sent as null (Entra §1.4).

Clearing (RFC 7643 §2.5, RFC 7644 §3.5.2): null, "", [] and {} all mean "no value". A string
attribute sent as "" is stored as unset (NULL), never as ""; an element of emails, phoneNumbers or
addresses that holds no value (only a type or primary) is no element; userName cannot be emptied.
"""

from accounts.attributes import AccountAttributes, ContactValue, PostalAddress
from scim import constants
from scim.coerce import (
    NOT_A_LIST,
    is_empty,
    to_bool,
    to_manager_id,
    to_object,
    to_object_list,
    to_string,
    to_text,
)
from scim.errors import bad_request
from scim.schema import COMMON_ATTRIBUTES, USER_RESOURCE
from scim.users import mapping


ENTERPRISE = constants.ENTERPRISE_USER_SCHEMA

# From the one attribute table (accounts.attributes.SIMPLE_ATTRIBUTES): SCIM name -> field.
CORE_SIMPLE = {name: attribute.field for name, attribute in mapping.CORE.items()}
NAME_PARTS = {name: attribute.field for name, attribute in mapping.NAME.items()}
ENTERPRISE_SIMPLE = {name: attribute.field for name, attribute in mapping.ENTERPRISE.items()}
ADDRESS_PARTS = {
    "formatted": "formatted",
    "streetAddress": "street_address",
    "locality": "locality",
    "region": "region",
    "postalCode": "postal_code",
    "country": "country",
}
CONTACT_ATTRIBUTES = {"emails": "emails", "phoneNumbers": "phone_numbers"}
SCIM_NAMES = {
    **{field: name for name, field in CORE_SIMPLE.items()},
    **{field: f"name.{name}" for name, field in NAME_PARTS.items()},
    **{field: f"{ENTERPRISE}:{name}" for name, field in ENTERPRISE_SIMPLE.items()},
    "active": "active",
    "emails": "emails",
    "phone_numbers": "phoneNumbers",
    "addresses": "addresses",
    "roles": "roles",
    "manager_id": f"{ENTERPRISE}:manager",
    "manager_reference": f"{ENTERPRISE}:manager",
    "password": "password",
}


def to_document(attributes: AccountAttributes) -> dict:
    doc: dict = {}
    for name, field in CORE_SIMPLE.items():
        _put(doc, name, getattr(attributes, field))
    name_object = {}
    for name, field in NAME_PARTS.items():
        _put(name_object, name, getattr(attributes, field))
    _put(doc, "name", name_object or None)
    _put(doc, "active", attributes.active)
    for name, field in CONTACT_ATTRIBUTES.items():
        _put(doc, name, [_contact_dict(v) for v in getattr(attributes, field)] or None)
    _put(doc, "addresses", [_address_dict(a) for a in attributes.addresses] or None)
    _put(doc, "roles", [dict(role) for role in attributes.roles] or None)
    enterprise: dict = {}
    for name, field in ENTERPRISE_SIMPLE.items():
        _put(enterprise, name, getattr(attributes, field))
    # A linked manager by its id; one not provisioned yet by its reference as sent.
    manager = attributes.manager_id if attributes.manager_id is not None else attributes.manager_reference
    if manager is not None:
        enterprise["manager"] = {"value": str(manager)}
    _put(doc, ENTERPRISE, enterprise or None)
    return doc


def from_document(doc: dict) -> AccountAttributes:
    """Build (and type-check) the attributes a document describes; absent means unset."""
    values: dict = {}
    for name, field in CORE_SIMPLE.items():
        # userName keeps "" so that the service refuses it (it is required, not clearable).
        values[field] = (to_string if field == "user_name" else to_text)(doc.get(name), name)
    name_object = to_object(doc.get("name") or {}, "name")
    for name, field in NAME_PARTS.items():
        values[field] = to_text(name_object.get(name), f"name.{name}")
    active = doc.get("active")
    values["active"] = None if active is None else to_bool(active, "active")
    for name, field in CONTACT_ATTRIBUTES.items():
        contacts = (_contact(e, name) for e in to_object_list(doc.get(name) or None, name))
        values[field] = tuple(c for c in contacts if c.value is not None)
    addresses = (_address(e) for e in to_object_list(doc.get("addresses") or None, "addresses"))
    values["addresses"] = tuple(a for a in addresses if any(getattr(a, f) for f in ADDRESS_PARTS.values()))
    roles = (_role(e) for e in to_object_list(doc.get("roles") or None, "roles"))
    values["roles"] = tuple(role for role in roles if role)
    enterprise = to_object(doc.get(ENTERPRISE) or {}, ENTERPRISE)
    for name, field in ENTERPRISE_SIMPLE.items():
        values[field] = to_text(enterprise.get(name), name)
    # As sent: the service links it to an account of the organization, or keeps it unresolved.
    values["manager_reference"] = to_manager_id(enterprise.get("manager"))
    values["password"] = to_string(doc.get("password"), "password")
    if values["user_name"] is None:
        raise bad_request("userName is required.", constants.INVALID_VALUE)
    return AccountAttributes(**values)


def creation_document(body: dict) -> dict:
    """A POST body as a document; an account is created active unless the body says otherwise."""
    doc = canonicalise(body)
    doc.setdefault("active", True)
    return doc


def canonicalise(body: dict) -> dict:
    """
    A POST/PUT body as a document: attribute names matched case-insensitively (RFC 7643 §2.1),
    nulls dropped (old Entra samples send them), unknown and read-only attributes ignored
    (Entra sends meta and roles: [] on create).
    """
    core = USER_RESOURCE.core
    doc: dict = {}
    for key, value in body.items():
        if value is None or not isinstance(key, str):
            continue
        if key.lower() == ENTERPRISE.lower():
            extension = {}
            for sub_key, sub_value in to_object({} if is_empty(value) else value, ENTERPRISE).items():
                attribute = USER_RESOURCE.extensions[0].attribute(sub_key)
                if attribute is not None and not _no_value(attribute, sub_value):
                    extension[attribute.name] = sub_value
            doc[ENTERPRISE] = {**doc.get(ENTERPRISE, {}), **extension}
            continue
        common = next((a for a in COMMON_ATTRIBUTES if a.name.lower() == key.lower()), None)
        if common is not None:
            if common.mutability != "readOnly":
                doc[common.name] = value
            continue
        attribute = core.attribute(key)
        if attribute is not None:
            if _no_value(attribute, value):
                continue
            if attribute.multi_valued and not isinstance(value, list):
                # RFC 7643 §2.4: a multi-valued attribute is a JSON array. (PATCH may add a single
                # object to one; a whole resource must not hold one in place of the list.)
                raise bad_request(NOT_A_LIST.format(name=attribute.name), constants.INVALID_VALUE)
            doc[attribute.name] = _canonical_sub_keys(attribute, value)
            continue
        # Lenient: bare enterprise names at the top level (the legacy sample of §1.5), and names
        # in attribute notation ("urn:…:enterprise:2.0:User:department", RFC 7644 §3.10), as
        # clients that flatten the extension send them.
        prefix, _, name = key.rpartition(":")
        attribute = USER_RESOURCE.extensions[0].attribute(
            name if prefix.lower() == ENTERPRISE.lower() else key
        )
        if attribute is not None:
            doc.setdefault(ENTERPRISE, {}).setdefault(attribute.name, value)
    return doc


def _no_value(attribute, value) -> bool:
    """Left out of a POST/PUT body: null, and "" where the attribute is not a string (a string's
    "" is kept, to be stored as unset, or refused for userName)."""
    return value is None or (value == "" and attribute.type != "string")


def _canonical_sub_keys(attribute, value):
    if not attribute.sub_attributes:
        return value

    def canonical(item):
        if not isinstance(item, dict):
            return item
        out = {}
        for key, sub_value in item.items():
            sub = attribute.sub(key) if isinstance(key, str) else None
            out[sub.name if sub else key] = sub_value
        return out

    if isinstance(value, list):
        return [canonical(item) for item in value]
    return canonical(value)


def _put(target: dict, key: str, value) -> None:
    if value is not None:
        target[key] = value


def _contact_dict(value: ContactValue) -> dict:
    out: dict = {}
    _put(out, "value", value.value)
    _put(out, "display", value.display)
    _put(out, "type", value.type)
    out["primary"] = value.primary
    return out


def _address_dict(address: PostalAddress) -> dict:
    out: dict = {}
    for name, field in ADDRESS_PARTS.items():
        _put(out, name, getattr(address, field))
    _put(out, "type", address.type)
    out["primary"] = address.primary
    return out


def _contact(element: dict, attribute: str) -> ContactValue:
    return ContactValue(
        value=to_text(element.get("value"), f"{attribute}.value"),
        display=to_text(element.get("display"), f"{attribute}.display"),
        type=to_text(element.get("type"), f"{attribute}.type"),
        primary=_primary(element, attribute),
    )


def _address(element: dict) -> PostalAddress:
    parts = {field: to_text(element.get(name), f"addresses.{name}") for name, field in ADDRESS_PARTS.items()}
    return PostalAddress(
        type=to_text(element.get("type"), "addresses.type"),
        primary=_primary(element, "addresses"),
        **parts,
    )


def _role(element: dict) -> dict:
    # Kept as sent (Entra may put JSON in a string value, §1.10), except that "primary" is
    # returned as a real boolean (echoing "True" makes Entra's validator fail) and nulls are
    # dropped like everywhere else (absent, never null), and so are "" and {} (no value).
    role = {key: value for key, value in element.items() if not is_empty(value)}
    if "primary" in role:
        role["primary"] = to_bool(role["primary"], "roles.primary")
    return role


def _primary(element: dict, attribute: str) -> bool:
    value = element.get("primary")
    return False if is_empty(value) else to_bool(value, f"{attribute}.primary")
