"""What one SCIM request asks for beyond its resource: ids, If-Match, and the attribute projection."""

import uuid

from scim.errors import not_found
from scim.projection import parse_attribute_list


def parse_id(resource_id) -> uuid.UUID:
    """SCIM ids are UUIDs; anything else names no resource (404, not 400 or 500)."""
    if isinstance(resource_id, uuid.UUID):
        return resource_id
    try:
        return uuid.UUID(resource_id)
    except (TypeError, ValueError):
        raise not_found(resource_id) from None


def expected_version(request) -> int | None:
    """The version an If-Match header (RFC 7232, weak ETag W/"n") requires; None for * or none."""
    header = (request.headers.get("If-Match") or "").strip()
    if not header or header == "*":
        return None
    # Our tags are W/"<version>" or, for users in groups, W/"<version>-<groups fingerprint>".
    tag = header.split(",")[0].strip().removeprefix("W/").strip('"').split("-")[0]
    try:
        return int(tag)
    except ValueError:
        return -1  # matches no version: 412


def params(request):
    """The request's query parameters, or its SearchRequest body's (RFC 7644 §3.4.3)."""
    given = getattr(request, "scim_params", None)
    return request.GET if given is None else given


def projection(request, resource_type) -> tuple[list, list]:
    """attributes and excludedAttributes of the request, parsed once per resource type."""
    cache = request.__dict__.setdefault("_scim_projection", {})
    if resource_type.id not in cache:
        given = params(request)
        cache[resource_type.id] = (
            parse_attribute_list(given.get("attributes"), resource_type),
            parse_attribute_list(given.get("excludedAttributes"), resource_type),
        )
    return cache[resource_type.id]


def search_request_params(body: dict) -> dict:
    """A SearchRequest body as query parameters; attribute lists may be JSON arrays."""
    given = {}
    for key, value in body.items():
        if key in ("attributes", "excludedAttributes") and isinstance(value, list):
            value = ",".join(str(v) for v in value)
        given[key] = value
    return given
