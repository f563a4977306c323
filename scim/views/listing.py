"""ListResponse paging (RFC 7644 §3.4.2.4) shared by the resource list and .search endpoints."""

from scim import conf, constants
from scim.errors import bad_request


BAD_PAGING = "'{name}' must be a whole number, not {value!r}."


def paging(params) -> tuple[int, int]:
    """startIndex (1-based; below 1 counts as 1) and count (capped at maxResults; below 0 is 0)."""
    start = _integer(params, "startIndex", 1)
    count = _integer(params, "count", conf.default_count())
    return max(start, 1), min(max(count, 0), conf.max_results())


def _integer(params, name: str, default: int) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    if isinstance(raw, bool):
        raise bad_request(BAD_PAGING.format(name=name, value=raw), constants.INVALID_VALUE)
    try:
        return int(raw)
    except (TypeError, ValueError):
        raise bad_request(BAD_PAGING.format(name=name, value=raw), constants.INVALID_VALUE) from None


def page_of(queryset, start: int, count: int) -> tuple[list, int]:
    """The page's rows and totalResults, skipping the COUNT when the first page is not full."""
    if count == 0:
        return [], queryset.count()
    rows = list(queryset[start - 1 : start - 1 + count])
    if start == 1 and len(rows) < count:
        return rows, len(rows)
    return rows, queryset.count()


def list_response(resources: list[dict], total: int, start: int) -> dict:
    return {
        "schemas": [constants.LIST_RESPONSE_SCHEMA],
        "totalResults": total,
        "itemsPerPage": len(resources),
        "startIndex": start,
        "Resources": resources,
    }
