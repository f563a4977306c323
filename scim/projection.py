"""`attributes` and `excludedAttributes` (RFC 7644 §3.4.2.5) applied to a rendered resource."""

from scim import constants
from scim.errors import bad_request
from scim.schema import ResourceType


ALWAYS_RETURNED = {"id", "schemas"}
BAD_ATTRIBUTE_LIST = "attributes and excludedAttributes must be attribute names, not {value!r}."


def parse_attribute_list(
    value: str | None, resource_type: ResourceType
) -> list[tuple[str | None, str, str | None]]:
    """'userName,name.givenName,urn:…:User:department' → [(extension, attribute, sub), …]."""
    if not value:
        return []
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        value = ",".join(value)
    if not isinstance(value, str):
        raise bad_request(BAD_ATTRIBUTE_LIST.format(value=value), constants.INVALID_VALUE)
    parsed = []
    for item in value.split(","):
        item = item.strip()
        if not item:
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
        parsed.append((extension, name, sub or None))
    return parsed


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
    for extension, name, sub in wanted:
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
        if sub is None:
            target[key] = value
        elif isinstance(value, dict):
            sub_key = _find(value, sub)
            if sub_key is not None:
                target.setdefault(key, {})[sub_key] = value[sub_key]
        elif isinstance(value, list):
            kept = []
            existing = target.get(key) or [{} for _ in value]
            for element, already in zip(value, existing, strict=False):
                sub_key = _find(element, sub) if isinstance(element, dict) else None
                if sub_key is not None:
                    already = {**already, sub_key: element[sub_key]}
                kept.append(already)
            if any(kept):
                target[key] = kept
    schemas = [s for s in resource.get("schemas", []) if s not in resource or s in out]
    if "schemas" in out:
        out["schemas"] = schemas
    return out


def _drop(resource: dict, unwanted: list) -> dict:
    out = dict(resource)
    for extension, name, sub in unwanted:
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
        if sub is None:
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
