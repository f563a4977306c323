"""ListResponse paging (RFC 7644 §3.4.2.4) shared by the resource list and .search endpoints."""

import re

from scim import conf, constants
from scim.errors import bad_request


BAD_PAGING = "'{name}' must be a whole number, not {value!r}."


def paging(params) -> tuple[int, int]:
    """startIndex and count clamped per RFC 7644 §3.4.2.4: startIndex below 1 counts as 1, count
    below 0 as 0 and above maxResults as maxResults; any size of number is accepted (a huge
    startIndex is an empty page), a value that is not a whole number is 400 invalidValue."""
    start = _integer(params, "startIndex", 1)
    count = _integer(params, "count", conf.default_count())
    return min(max(start, 1), MAX_START_INDEX), min(max(count, 0), conf.max_results())


# Beyond any table we hold, and far inside the 64-bit OFFSET of SQLite and PostgreSQL (a larger
# startIndex overflowed SQLite's integer: "datatype mismatch", a 500).
MAX_START_INDEX = 2**53
_WHOLE_NUMBER = re.compile(r"\s*([+-]?)0*([0-9]+)\s*", re.ASCII)


def _integer(params, name: str, default: int) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    if isinstance(raw, bool):  # a .search body's JSON true is not 1
        raise _bad_paging(name, raw)
    if isinstance(raw, float):  # a .search body's JSON number: 10.0 is whole, 1e400 is inf
        if not raw.is_integer():
            raise _bad_paging(name, raw)
        return _saturated(int(raw))
    if isinstance(raw, int):
        return _saturated(raw)
    match = _WHOLE_NUMBER.fullmatch(raw) if isinstance(raw, str) else None
    if match is None:  # also refuses int()'s extras: "1_000", non-ASCII digits
        raise _bad_paging(name, raw)
    sign, digits = match.groups()
    # Compared as text: int() of thousands of digits is slow and refused by Python (4300 digits).
    value = MAX_START_INDEX if len(digits) > 16 else int(digits)
    return -value if sign == "-" else _saturated(value)


def _saturated(value: int) -> int:
    return max(min(value, MAX_START_INDEX), -MAX_START_INDEX)


def _bad_paging(name: str, value):
    return bad_request(BAD_PAGING.format(name=name, value=value), constants.INVALID_VALUE)


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
