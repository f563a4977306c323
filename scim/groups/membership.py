"""
Group PATCH on `members` (RFC 7644 §3.5.2) turned into a membership change, without ever
loading the member list: a group may have 100,000 members, and Entra adds or removes one at a
time. Every request shape Entra and Okta send is accepted (entra-scim.md §1.8, §1.13):

- `{"op":"Add","path":"members","value":[{"value":"<id>"}, …]}` (one or many members);
- `{"op":"Remove","path":"members","value":[{"value":"<id>"}]}` (Entra without the flag);
- `{"op":"remove","path":"members[value eq \"<id>\"]"}` (aadOptscim062020, Okta);
- `{"op":"remove","path":"members"}` (every member, Microsoft's Postman suite);
- `{"op":"replace","path":"members","value":[…]}` (the new member set, applied as a difference);
- path-less add/replace whose value holds a `members` key.
"""

import uuid
from dataclasses import dataclass, field

from scim2_filter_parser import ast

from scim import constants
from scim.coerce import to_object_list
from scim.errors import bad_request
from scim.filters import ParsedFilter


MEMBER_WITHOUT_VALUE = "Each member needs a 'value' holding a user id; got {member!r}."
UNSUPPORTED_MEMBER_FILTER = (
    "'{path}' cannot select members: use members[value eq \"<user id>\"] (optionally joined with or)."
)
MEMBER_SUB_ATTRIBUTE = "'{path}': members can only be added or removed as a whole."


@dataclass
class MembershipChange:
    """
    The net effect of a request's member operations, in order. Until a replace or a
    remove-all, it is a delta (ids to add, ids to remove); after one, it is the complete set.
    """

    to_add: set[str] = field(default_factory=set)
    to_remove: set[str] = field(default_factory=set)
    replacement: set[str] | None = None

    @property
    def is_empty(self) -> bool:
        return self.replacement is None and not self.to_add and not self.to_remove

    def add(self, ids: set[str]) -> None:
        if self.replacement is not None:
            self.replacement |= ids
        else:
            self.to_add |= ids
            self.to_remove -= ids

    def remove(self, ids: set[str]) -> None:
        if self.replacement is not None:
            self.replacement -= ids
        else:
            self.to_remove |= ids
            self.to_add -= ids

    def replace(self, ids: set[str]) -> None:
        self.replacement = set(ids)
        self.to_add.clear()
        self.to_remove.clear()

    @property
    def ids_that_must_exist(self) -> set[str]:
        """Ids being added must be users of the organization; removing an unknown id is a no-op."""
        return set(self.replacement) if self.replacement is not None else set(self.to_add)


def canonical_id(member_id: str) -> str:
    """A user id as we render it (UUIDs are case-insensitive), so that the operations of one
    request on the same member compose; anything else as sent (it names no account)."""
    try:
        return str(uuid.UUID(member_id))
    except ValueError:
        return member_id


def member_ids(value, path_text: str) -> set[str]:
    ids = set()
    for member in to_object_list(value, path_text):
        lowered = {str(k).lower(): v for k, v in member.items()}
        member_id = lowered.get("value")
        if not isinstance(member_id, str) or not member_id.strip():
            raise bad_request(MEMBER_WITHOUT_VALUE.format(member=member), constants.INVALID_VALUE)
        ids.add(canonical_id(member_id.strip()))
    return ids


def ids_selected_by(parsed: ParsedFilter, path_text: str) -> set[str]:
    """The ids of `members[value eq "a" or value eq "b"]`; any other selection is refused."""

    def collect(node) -> set[str]:
        if isinstance(node, ast.Filter) and not node.negated and node.namespace is None:
            return collect(node.expr)
        if isinstance(node, ast.LogExpr) and node.op.lower() == "or":
            return collect(node.expr1) | collect(node.expr2)
        if (
            isinstance(node, ast.AttrExpr)
            and isinstance(node.attr_path.attr_name, str)
            and node.attr_path.attr_name.lower() == "value"
            and node.attr_path.sub_attr is None
            and node.value.lower() == "eq"
        ):
            value = parsed.literal(node.comp_value)
            if isinstance(value, str):
                return {canonical_id(value.strip())}
        raise bad_request(UNSUPPORTED_MEMBER_FILTER.format(path=path_text), constants.INVALID_PATH)

    return collect(parsed.tree)
