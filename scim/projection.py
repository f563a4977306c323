"""
`attributes` and `excludedAttributes` (RFC 7644 §3.4.2.5) applied to a rendered resource.

Beyond the RFC's attribute notation (§3.10), an attribute may carry a value filter, as Microsoft's
validator and several clients send (issue 14): `attributes=emails[type eq "work"]` returns only the
matching emails, `emails[type eq "work"].value` only their value; in excludedAttributes the same
paths leave those values (or that sub-attribute of them) out.
"""

from scim import constants
from scim.errors import ScimError, bad_request
from scim.filters import ParsedFilter
from scim.paths import UNKNOWN_ATTRIBUTE, parse_path
from scim.schema import ResourceType
from scim.value_filter import check_value_filter, matches


ALWAYS_RETURNED = {"id", "schemas"}
BAD_ATTRIBUTE_LIST = "attributes and excludedAttributes must be attribute names, not {value!r}."


class Requested(tuple):
    """(extension, attribute, sub) as callers unpack it, with the `[...]` value filter if any."""

    value_filter: ParsedFilter | None
    text: str

    def __new__(cls, extension, name, sub, value_filter=None, text=""):
        requested = super().__new__(cls, (extension, name, sub))
        requested.value_filter, requested.text = value_filter, text
        return requested


def parse_attribute_list(value: str | None, resource_type: ResourceType) -> list[Requested]:
    """'userName,name.givenName,urn:…:User:department,emails[type eq "work"].value' →
    [(extension, attribute, sub), …]."""
    if not value:
        return []
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        value = ",".join(value)
    if not isinstance(value, str):
        raise bad_request(BAD_ATTRIBUTE_LIST.format(value=value), constants.INVALID_VALUE)
    parsed = []
    for item in _split(value):
        item = item.strip()
        if not item:
            continue
        if "[" in item:
            parsed.append(_filtered(item, resource_type))
            continue
        extension, rest = None, item
        for schema in resource_type.schemas:
            if item.lower().startswith(schema.id.lower() + ":"):
                extension = schema.id if schema is not resource_type.core else None
                rest = item[len(schema.id) + 1 :]
                break
            if item.lower() == schema.id.lower() and schema is not resource_type.core:
                extension, rest = schema.id, ""
                break
        name, _, sub = rest.partition(".")
        parsed.append(Requested(extension, name, sub or None, text=item))
    return parsed


def value_projection(name: str, attributes: list, excluded: list):
    """For a multi-valued attribute rendered apart from its resource (a Group's streamed members):
    a function projecting one value as project() would inside the resource (None: left out), or
    None when no value filter names that attribute."""
    lowered = name.lower()
    excluded = [] if attributes else excluded  # as in project(): attributes win
    attributes = [r for r in attributes if r[0] is None and r[1].lower() == lowered]
    excluded = [r for r in excluded if r[0] is None and r[1].lower() == lowered]
    if not any(r.value_filter is not None for r in (*attributes, *excluded)):
        return None

    def projected(value: dict) -> dict | None:
        kept = project({name: [value]}, attributes, excluded).get(name)
        return kept[0] if kept else None

    return projected


def _split(value: str) -> list[str]:
    """Split at the commas between attributes, not those inside a value filter's brackets or strings."""
    items, start, depth, in_string, escaped = [], 0, 0, False, False
    for index, character in enumerate(value):
        if escaped:
            escaped = False
        elif in_string:
            escaped = character == "\\"
            in_string = character != '"'
        elif character == '"':
            in_string = True
        elif character == "[":
            depth += 1
        elif character == "]":
            depth = max(depth - 1, 0)
        elif character == "," and depth == 0:
            items.append(value[start:index])
            start = index + 1
    items.append(value[start:])
    return items


def _filtered(item: str, resource_type: ResourceType) -> Requested:
    """`emails[type eq "work"].value`, read as a PATCH path is (RFC 7644 §3.10): one grammar."""
    try:
        path = parse_path(item, resource_type)  # a value filter on a single-valued attribute: 400
        check_value_filter(path.value_filter, item)
    except ScimError as error:
        if error.detail == UNKNOWN_ATTRIBUTE.format(path=item, resource=resource_type.name):
            # Selects nothing, as an unknown plain name does: POST /.search asks Groups for emails.
            return Requested(None, item, None, text=item)
        # In a query parameter it is the filter that is wrong, not a PATCH path (RFC 7644 §3.12).
        raise bad_request(error.detail, constants.INVALID_FILTER) from None
    sub = path.sub_attribute.name if path.sub_attribute is not None else None
    return Requested(path.extension, path.attribute.name, sub, path.value_filter, item)


def project(resource: dict, attributes: list, excluded: list) -> dict:
    if attributes:
        return _keep(resource, attributes)
    if excluded:
        return _drop(resource, excluded)
    return resource


def _find(container: dict, name: str) -> str | None:
    lowered = name.lower()
    return next((key for key in container if key.lower() == lowered), None)


def _keep(resource: dict, wanted: list) -> dict:
    out = {key: value for key, value in resource.items() if key in ALWAYS_RETURNED}
    # Parts of multi-valued attributes: (extension, key) -> {element index: its sub-attribute
    # keys, or None for the whole element}; assembled in the resource's order at the end.
    picked: dict[tuple, dict[int, set | None]] = {}
    for requested in wanted:
        extension, name, sub = requested
        value_filter = requested.value_filter
        source = resource.get(extension) if extension else resource
        if extension and name == "":
            if extension in resource:
                out[extension] = resource[extension]
            continue
        if not isinstance(source, dict):
            continue
        key = _find(source, name)
        if key is None:
            continue
        target = out.setdefault(extension, {}) if extension else out
        value = source[key]
        if isinstance(value, list) and (sub is not None or value_filter is not None):
            _pick(picked.setdefault((extension, key), {}), value, requested)
        elif sub is None:
            target[key] = value
        elif isinstance(value, dict):
            sub_key = _find(value, sub)
            if sub_key is not None:
                target.setdefault(key, {})[sub_key] = value[sub_key]
    for (extension, key), chosen in picked.items():
        target = out[extension] if extension else out
        if key in target:
            continue  # the whole attribute was asked for as well
        elements = (resource[extension] if extension else resource)[key]
        kept = [
            elements[index] if keys is None else {k: v for k, v in elements[index].items() if k in keys}
            for index, keys in sorted(chosen.items())
        ]
        if kept:
            target[key] = kept
    schemas = [s for s in resource.get("schemas", []) if s not in resource or s in out]
    if "schemas" in out:
        out["schemas"] = schemas
    return out


def _pick(chosen: dict, elements: list, requested) -> None:
    """Note which elements (and which of their sub-attributes) one requested path selects."""
    _, _, sub = requested
    value_filter = requested.value_filter
    for index, element in enumerate(elements):
        if not isinstance(element, dict):
            continue
        if value_filter is not None and not matches(value_filter, element, requested.text):
            continue
        if sub is None:
            chosen[index] = None
            continue
        sub_key = _find(element, sub)
        if sub_key is not None and chosen.get(index, set()) is not None:
            chosen.setdefault(index, set()).add(sub_key)


def _drop(resource: dict, unwanted: list) -> dict:
    out = dict(resource)
    for requested in unwanted:
        extension, name, sub = requested
        if extension and name == "":
            out.pop(extension, None)
            continue
        container = out.get(extension) if extension else out
        if not isinstance(container, dict):
            continue
        if extension:
            container = dict(container)
            out[extension] = container
        key = _find(container, name)
        if key is None or (not extension and key in ALWAYS_RETURNED):
            continue
        value_filter = requested.value_filter
        if value_filter is not None:
            if isinstance(container[key], list):
                _drop_matching(container, key, requested)
        elif sub is None:
            container.pop(key)
        elif isinstance(container[key], dict):
            container[key] = {k: v for k, v in container[key].items() if k.lower() != sub.lower()}
        elif isinstance(container[key], list):
            container[key] = [
                {k: v for k, v in e.items() if k.lower() != sub.lower()} if isinstance(e, dict) else e
                for e in container[key]
            ]
    for extension in [k for k in out if k.startswith("urn:") and out[k] == {}]:
        out.pop(extension)
    out["schemas"] = [s for s in out.get("schemas", []) if s not in resource or s in out]
    return out


def _drop_matching(container: dict, key: str, requested) -> None:
    """excludedAttributes=emails[type eq "work"](.value): those values (or that part of them) go."""
    _, _, sub = requested
    kept = []
    for element in container[key]:
        if isinstance(element, dict) and matches(requested.value_filter, element, requested.text):
            if sub is None:
                continue
            element = {k: v for k, v in element.items() if k.lower() != sub.lower()}
            if not element:
                continue
        kept.append(element)
    if kept:
        container[key] = kept
    else:
        container.pop(key)
