"""
RFC 7644 §3.5.2 PATCH applied to a resource document in memory, with Entra's dialect:

- `op` in any case (Entra sends "Add", "Replace", "Remove"; §1.7);
- path-less add/replace whose value keys are attribute paths: dotted sub-attributes and full
  extension URNs (`aadOptscim062020`, §1.8), or RFC-style nested objects;
- value-path replace/add that creates the element when none matches
  (`emails[type eq "work"].value`; Entra expects an upsert, not noTarget; §1.7 quirk 3);
- manager as a bare id, {"value"}, a one-element list, or "" to remove (§1.9).

Clearing: `remove`, and `replace` with null, "", [] or {}, leave the target unassigned (RFC 7644
§3.5.2.2-3, RFC 7643 §2.5: null and an empty array are the unassigned state; Entra and Okta clear
with ""). `add` of an empty value replaces only what add replaces (a simple attribute or a
sub-attribute, §3.5.2.1); to a multi-valued or complex attribute it adds nothing. A value path
(`emails[type eq "work"].value`) addresses every matching value: replace and add set each, remove
and clearing remove from each; only when nothing matches does replace/add create one (Entra's
upsert). userName (required) and password (write-only) cannot be cleared.

Operations are applied to a copy, so an error in any of them leaves the resource untouched.
"""

import copy
from dataclasses import dataclass

from scim import constants
from scim.coerce import is_empty, to_bool, to_manager_id, to_object, to_object_list
from scim.errors import bad_request
from scim.paths import AttributePath, parse_path
from scim.schema import ResourceType
from scim.value_filter import equalities, matches


UNKNOWN_OP = "Operation {index}: 'op' must be add, remove or replace, not {op!r}."
NOT_AN_OPERATION = "Operation {index} must be an object with 'op', 'path' and 'value'."
REMOVE_NEEDS_PATH = "Operation {index}: 'remove' needs a 'path' (RFC 7644 §3.5.2.2)."
PATHLESS_NEEDS_OBJECT = "Operation {index}: without a 'path', 'value' must be an object of attributes."
READ_ONLY = "'{path}' is read-only and cannot be changed."
REQUIRED = "'{path}' is required and cannot be removed."
NOT_CLEARABLE = "'{path}' cannot be removed or emptied; give it a new value instead."
VALUE_REQUIRED = "Operation {index}: '{op}' needs a 'value'."


@dataclass(frozen=True)
class Operation:
    """One PATCH operation, validated: `op` lower-cased, `path` None when absent or blank."""

    index: int
    op: str
    path: str | None
    value: object
    has_value: bool


def parse_operations(operations: list) -> list[Operation]:
    parsed = []
    for index, operation in enumerate(operations, start=1):
        if not isinstance(operation, dict):
            raise bad_request(NOT_AN_OPERATION.format(index=index), constants.INVALID_SYNTAX)
        fields = {str(k).lower(): v for k, v in operation.items()}
        op = fields.get("op")
        if not isinstance(op, str) or op.lower() not in ("add", "remove", "replace"):
            raise bad_request(UNKNOWN_OP.format(index=index, op=op), constants.INVALID_SYNTAX)
        op = op.lower()
        path = fields.get("path")
        if path is None or (isinstance(path, str) and not path.strip()):
            if op == "remove":
                raise bad_request(REMOVE_NEEDS_PATH.format(index=index), constants.NO_TARGET)
            if not isinstance(fields.get("value"), dict):
                raise bad_request(PATHLESS_NEEDS_OBJECT.format(index=index), constants.INVALID_VALUE)
            path = None
        elif op != "remove" and "value" not in fields:
            raise bad_request(VALUE_REQUIRED.format(index=index, op=op), constants.INVALID_VALUE)
        parsed.append(Operation(index, op, path, fields.get("value"), "value" in fields))
    return parsed


def apply_patch(
    document: dict,
    operations: list,
    resource_type: ResourceType,
    *,
    resource_id: str | None = None,
) -> dict:
    doc = copy.deepcopy(document)
    for operation in parse_operations(operations):
        apply_operation(doc, operation, resource_type, resource_id=resource_id)
    return without_empties(doc)


def apply_operation(
    doc: dict, operation: Operation, resource_type: ResourceType, *, resource_id=None
) -> None:
    """One parsed operation applied to `doc` in place (the adapters' handle_add/replace/remove)."""
    if operation.path is None:
        _apply_pathless(doc, operation.op, operation.value, resource_type, resource_id, operation.index)
    else:
        _apply(doc, operation.op, _parsed_path(operation.path, resource_type), operation.value, resource_type)


_PATHS: dict = {}
_PATHS_KEPT, _PATH_KEPT_LENGTH = 1000, 200


def _parsed_path(text, resource_type: ResourceType) -> AttributePath:
    """
    parse_path, remembered (issue 15: parsing the path and its value filter was most of the CPU
    of applying Entra's PATCH): clients send the same few paths. Only short valid ones are kept,
    and a bounded number, so hostile bodies cannot grow the cache; an AttributePath is immutable.
    """
    key = (text, resource_type.id) if isinstance(text, str) else None
    found = _PATHS.get(key) if key is not None else None
    if found is None:
        found = parse_path(text, resource_type)
        if key is not None and len(text) <= _PATH_KEPT_LENGTH and len(_PATHS) < _PATHS_KEPT:
            _PATHS[key] = found
    return found


def _apply_pathless(doc, op, value, resource_type, resource_id, index):
    if not isinstance(value, dict):
        raise bad_request(PATHLESS_NEEDS_OBJECT.format(index=index), constants.INVALID_VALUE)
    for key, sub_value in value.items():
        lowered = str(key).lower()
        if lowered in ("schemas", "meta"):
            continue
        # Okta repeats the resource's own id in path-less group renames; only a different id is
        # an attempt to change it.
        if lowered == "id" and resource_id is not None and str(sub_value) == resource_id:
            continue
        _apply(doc, op, _parsed_path(str(key), resource_type), sub_value, resource_type)


def _apply(doc: dict, op: str, target: AttributePath, value, resource_type: ResourceType) -> None:
    if target.attribute is None:
        # The path is an extension URN: its value is an object of that extension's attributes.
        if op == "remove" or (op == "replace" and is_empty(value)):
            doc.pop(target.extension, None)
            return
        if is_empty(value):
            return  # adding nothing
        for key, sub_value in to_object(value, target.text).items():
            if str(key).lower() == "schemas":
                continue
            path = _parsed_path(f"{target.extension}:{key}", resource_type)
            _apply(doc, op, path, sub_value, resource_type)
        return

    attribute, sub = target.attribute, target.sub_attribute
    if attribute.mutability == "readOnly" or (sub is not None and sub.mutability == "readOnly"):
        raise bad_request(READ_ONLY.format(path=target.text), constants.MUTABILITY)
    container = doc.setdefault(target.extension, {}) if target.extension else doc

    if attribute.name == "manager" and target.extension:
        manager_id = None if op == "remove" else to_manager_id(value)
        if manager_id is None:
            container.pop("manager", None)
        else:
            container["manager"] = {"value": manager_id}
        return

    if op == "remove" or is_empty(value):
        if op == "add" and not _add_replaces(target):
            return  # adding nothing to a multi-valued or complex attribute changes nothing
        _refuse_clearing(target)
        _remove(container, target, value if op == "remove" else None)
        return

    if target.value_filter is not None:
        _set_selected(container, op, target, value)
    elif attribute.multi_valued:
        _set_multi(container, op, target, value)
    elif attribute.type == "complex":
        current = container.get(attribute.name)
        current = dict(current) if isinstance(current, dict) else {}
        if sub is not None:
            current[sub.name] = value
        else:
            current.update(_canonical(attribute, to_object(value, target.text)))
        container[attribute.name] = current
    else:
        container[attribute.name] = value


def _add_replaces(target: AttributePath) -> bool:
    """RFC 7644 §3.5.2.1: add to a single-valued target (a simple attribute, a sub-attribute)
    replaces its value; add to a multi-valued or complex one merges into it."""
    attribute = target.attribute
    return target.sub_attribute is not None or (not attribute.multi_valued and attribute.type != "complex")


def _refuse_clearing(target: AttributePath) -> None:
    attribute = target.attribute
    if target.sub_attribute is not None or target.value_filter is not None:
        return
    if attribute.required:
        raise bad_request(REQUIRED.format(path=target.text), constants.INVALID_VALUE)
    # A password can be changed, not taken away. (Removing `active` is allowed: unassigned, it
    # blocks sign-in like false; accounts.models.WorkAccount.is_active.)
    if attribute.mutability == "writeOnly":
        raise bad_request(NOT_CLEARABLE.format(path=target.text), constants.INVALID_VALUE)


def _remove(container: dict, target: AttributePath, value) -> None:
    attribute, sub = target.attribute, target.sub_attribute
    name = attribute.name
    if target.value_filter is not None:
        elements = _elements(container, name)
        selected = [e for e in elements if matches(target.value_filter, e, target.text)]
        if sub is not None:
            for element in selected:
                element.pop(sub.name, None)
        else:
            container[name] = [e for e in elements if not any(e is s for s in selected)]
    elif attribute.multi_valued and sub is None and value not in (None, [], {}):
        # Entra's legacy shape: {"op":"Remove","path":"members","value":[{"value":"…"}]}.
        doomed = {str(item.get("value")).lower() for item in to_object_list(value, target.text)}
        container[name] = [e for e in _elements(container, name) if str(e.get("value")).lower() not in doomed]
    elif sub is not None:
        current = container.get(name)
        for element in current if isinstance(current, list) else [current]:
            if isinstance(element, dict):
                element.pop(sub.name, None)
    else:
        container.pop(name, None)


def _set_selected(container: dict, op: str, target: AttributePath, value) -> None:
    attribute, sub = target.attribute, target.sub_attribute
    elements = _elements(container, attribute.name)
    selected = [e for e in elements if matches(target.value_filter, e, target.text)]
    if not selected:
        # Entra: replace on a value path that selects nothing creates the element; one that
        # selects several sets each of them (RFC 7644 §3.5.2.3).
        created = _canonical(attribute, equalities(target.value_filter))
        elements.append(created)
        selected = [created]
    for element in selected:
        if sub is not None:
            element[sub.name] = value
        elif op == "replace":
            keep = _canonical(attribute, equalities(target.value_filter))
            element.clear()
            element.update({**keep, **_canonical(attribute, to_object(value, target.text))})
        else:
            element.update(_canonical(attribute, to_object(value, target.text)))
    container[attribute.name] = [e for e in elements if e]
    _keep_one_primary(container[attribute.name], prefer=selected)


def _set_multi(container: dict, op: str, target: AttributePath, value) -> None:
    attribute, sub = target.attribute, target.sub_attribute
    if sub is not None:
        elements = _elements(container, attribute.name) or [{}]
        for element in elements:
            element[sub.name] = value
        container[attribute.name] = elements
        return
    items = [_canonical(attribute, item) for item in to_object_list(value, target.text)]
    if op == "replace":
        container[attribute.name] = items
        written = items
    else:
        elements = _elements(container, attribute.name)
        written = []
        for item in items:
            existing = next((e for e in elements if _same_value(item, e)), None)
            if existing is None:
                elements.append(item)
                written.append(item)
                continue
            # The value is already there (RFC 7644 §3.5.2.1: no duplicate), but a "primary" sent
            # with it still counts: re-adding the primary value must not demote it.
            if "primary" in item:
                existing["primary"] = item["primary"]
            written.append(existing)
        container[attribute.name] = elements
    _keep_one_primary(container[attribute.name], prefer=written)


def _elements(container: dict, name: str) -> list:
    current = container.get(name)
    if isinstance(current, list):
        return current
    return []


def _canonical(attribute, item: dict) -> dict:
    out = {}
    for key, sub_value in item.items():
        sub = attribute.sub(str(key)) if attribute.sub_attributes else None
        out[sub.name if sub else key] = sub_value
    return out


def _same_value(a: dict, b: dict) -> bool:
    """RFC 7644 §3.5.2.1: adding a value that is already there changes nothing."""
    return {k: v for k, v in a.items() if k != "primary"} == {k: v for k, v in b.items() if k != "primary"}


def _is_primary(element: dict) -> bool:
    value = element.get("primary")
    if is_empty(value):
        return False
    return to_bool(value, "primary")


def _keep_one_primary(elements: list, prefer: list) -> None:
    """
    RFC 7644 §3.5.2: setting "primary" true on a value sets it false on every other value, so the
    values just written win. Two written values marked primary are left as sent, for the service
    to reject (RFC 7643 §2.4: "primary" true at most once), rather than dropping one silently.
    """
    winners = [e for e in prefer if isinstance(e, dict) and _is_primary(e)]
    if not winners:
        return
    for element in elements:
        if not any(element is winner for winner in winners) and _is_primary(element):
            element["primary"] = False


def without_empties(doc: dict) -> dict:
    for key in list(doc):
        if doc[key] in ({}, []):
            del doc[key]
    return doc
