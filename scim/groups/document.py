"""The SCIM Group document (without members) ⇄ GroupAttributes, and member ids from bodies."""

import uuid

from accounts.attributes import GroupAttributes
from scim import constants
from scim.coerce import NOT_A_LIST, to_string
from scim.errors import bad_request
from scim.groups.membership import member_ids
from scim.schema import GROUP_RESOURCE


BAD_MEMBER_ID = "members: '{member_id}' is not a work account of this organization."


def to_document(attributes: GroupAttributes) -> dict:
    doc = {"displayName": attributes.display_name}
    if attributes.external_id is not None:
        doc["externalId"] = attributes.external_id
    return doc


def from_document(doc: dict) -> GroupAttributes:
    display_name = to_string(doc.get("displayName"), "displayName")
    if display_name is None:
        raise bad_request("displayName is required.", constants.INVALID_VALUE)
    return GroupAttributes(
        display_name=display_name, external_id=to_string(doc.get("externalId"), "externalId")
    )


def canonicalise(body: dict) -> tuple[dict, frozenset[uuid.UUID] | None]:
    """
    A POST/PUT body as (document, member ids or None when absent). Names match case-insensitively;
    nulls, read-only and unknown attributes (Entra's legacy ADSCIM schema, meta) are ignored.
    """
    doc: dict = {}
    members = None
    for key, value in body.items():
        if value is None or not isinstance(key, str):
            continue
        lowered = key.lower()
        if lowered == "externalid":
            doc["externalId"] = value
        elif lowered == "members":
            if not isinstance(value, list):
                raise bad_request(NOT_A_LIST.format(name="members"), constants.INVALID_VALUE)
            members = to_member_uuids(member_ids(value, "members"))
        else:
            attribute = GROUP_RESOURCE.core.attribute(key)
            if attribute is not None and attribute.mutability != "readOnly":
                doc[attribute.name] = value
    return doc, members


def to_member_uuids(ids, *, strict: bool = True) -> frozenset[uuid.UUID]:
    """
    Member ids as UUIDs. Our user ids are UUIDs, so anything else names no account: refused when
    adding (`strict`), skipped when removing (removing a non-member changes nothing).
    """
    result = set()
    for member_id in ids:
        try:
            result.add(uuid.UUID(member_id))
        except ValueError:
            if strict:
                raise bad_request(
                    BAD_MEMBER_ID.format(member_id=member_id), constants.INVALID_VALUE
                ) from None
    return frozenset(result)
