"""
Group PATCH: operations on `members` become a MembershipChange (never touching the member
list in memory); every other operation edits the small group document through scim.patch.
"""

from scim import constants
from scim.errors import bad_request
from scim.groups.membership import MEMBER_SUB_ATTRIBUTE, MembershipChange, ids_selected_by, member_ids
from scim.patch import parse_operations
from scim.paths import parse_path
from scim.schema import GROUP_RESOURCE


MEMBER_FILTER_ONLY_FOR_REMOVE = "'{path}': a member selection can only be removed; add or replace 'members'."


def split_group_patch(operations: list) -> tuple[list[dict], MembershipChange]:
    """(operations on the group's own attributes, the membership change), order preserved."""
    attribute_operations: list[dict] = []
    membership = MembershipChange()
    for operation in parse_operations(operations):
        if operation.path is None:
            rest = {}
            for key, value in operation.value.items():
                if str(key).lower() == "members":
                    _apply_members(membership, operation.op, value, has_value=True, path_text="members")
                else:
                    rest[key] = value
            if rest:
                attribute_operations.append({"op": operation.op, "value": rest})
            continue
        target = parse_path(operation.path, GROUP_RESOURCE)
        if target.attribute is None or target.attribute.name != "members":
            attribute_operations.append(
                {"op": operation.op, "path": operation.path, "value": operation.value}
            )
            continue
        if target.sub_attribute is not None:
            raise bad_request(MEMBER_SUB_ATTRIBUTE.format(path=operation.path), constants.INVALID_PATH)
        if target.value_filter is not None:
            if operation.op != "remove":
                raise bad_request(
                    MEMBER_FILTER_ONLY_FOR_REMOVE.format(path=operation.path), constants.INVALID_PATH
                )
            membership.remove(ids_selected_by(target.value_filter, operation.path))
            continue
        _apply_members(membership, operation.op, operation.value, operation.has_value, operation.path)
    return attribute_operations, membership


def _apply_members(membership: MembershipChange, op: str, value, has_value: bool, path_text: str) -> None:
    if op == "add":
        membership.add(member_ids(value, path_text))
    elif op == "replace":
        membership.replace(member_ids(value, path_text) if value else set())
    elif has_value and value is not None:
        # Entra without the flag: {"op":"Remove","path":"members","value":[{"value":"<id>"}]}.
        # An empty list names no member and removes none (only a missing value means "all").
        membership.remove(member_ids(value, path_text))
    else:
        # {"op":"remove","path":"members"} removes every member (RFC 7644 §3.5.2.2).
        membership.replace(set())
