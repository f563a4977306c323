"""
ListResponse paging shared by the resource list and .search endpoints: by startIndex (RFC 7644
§3.4.2.4, the default: Entra pages that way) or by cursor (RFC 9865, when the request carries a
`cursor`, empty for the first page), both in the request's sort (RFC 7644 §3.4.2.3).
"""

import re
from dataclasses import dataclass

from scim import conf, constants, cursors
from scim.cursors import Cursor, Position
from scim.errors import ScimError, bad_request
from scim.sorting import SORT_VALUE, Sort, parse_sort


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
    """The page's rows and totalResults."""
    rows = list(queryset[start - 1 : start - 1 + count]) if count else []
    return rows, total_results(rows, start, count, queryset.count)


def total_results(rows: list, start: int, count: int, counted) -> int:
    """totalResults of a page by index: `counted()` is skipped when the first page is not full."""
    return len(rows) if start == 1 and len(rows) < count else counted()


def list_response(resources: list[dict], total: int, start: int) -> dict:
    return list_document(resources, {"totalResults": total, "startIndex": start})


def list_document(resources: list[dict], paging: dict) -> dict:
    """A ListResponse; `paging` holds totalResults and startIndex, or the cursors (RFC 9865 §2)."""
    document = {"schemas": [constants.LIST_RESPONSE_SCHEMA]}
    if "totalResults" in paging:
        document["totalResults"] = paging["totalResults"]
    document["itemsPerPage"] = len(resources)
    document.update((k, v) for k, v in paging.items() if k != "totalResults")
    document["Resources"] = resources
    return document


# A page request: index or cursor paging, in a sort --------------------------------------------


@dataclass(frozen=True)
class PageRequest:
    count: int
    sort: Sort
    start: int = 1  # index paging
    cursor: Cursor | None = None  # cursor paging: None with `query` set is the first page
    query: str | None = None  # cursor paging: the fingerprint its cursors carry

    @property
    def by_cursor(self) -> bool:
        return self.query is not None


def page_request(params, *, resource_type, sort_keys: dict, default_sort: str, scope) -> PageRequest:
    """The paging and sort a list or .search request asks for; `scope` names whose rows they are."""
    sort = parse_sort(params, sort_keys, default_sort, resource_type)
    token = params.get("cursor")
    if token is None:
        start, count = paging(params)
        return PageRequest(count=count, sort=sort, start=start)
    if params.get("startIndex") not in (None, ""):
        raise bad_request(constants.CURSOR_WITH_START_INDEX, constants.INVALID_VALUE)
    count = _cursor_count(params)
    filter_text = params.get("filter")
    filter_text = "" if filter_text is None else filter_text
    query = cursors.query_fingerprint(resource_type.id, scope, filter_text, sort.fingerprint)
    cursor = cursors.read(token, query=query, count=count, kind=sort.key.kind)
    return PageRequest(count=count, sort=sort, cursor=cursor, query=query)


def _cursor_count(params) -> int:
    # RFC 9865 §2.1: a count below 0 is invalidCount; above maxPageSize it is capped, as
    # maxPageSize is "regardless of what is specified for the count" (RFC 9865 §4).
    try:
        count = _integer(params, "count", conf.default_count())
    except ScimError as error:
        raise bad_request(error.detail, constants.INVALID_COUNT) from None
    if count < 0:
        detail = constants.CURSOR_COUNT_NEGATIVE.format(value=params.get("count"))
        raise bad_request(detail, constants.INVALID_COUNT)
    return min(count, conf.max_results())


def refuse_cursor_and_sort(params) -> None:
    """POST /.search over every resource type pages by index only, in its own order."""
    for name, absent in (("cursor", (None,)), ("sortBy", (None, ""))):
        if params.get(name) not in absent:  # an empty cursor asks for cursor paging too
            raise bad_request(constants.ROOT_SEARCH_INDEX_ONLY.format(name=name), constants.INVALID_VALUE)


def sorted_page(queryset, page: PageRequest) -> tuple[list, dict]:
    """The page's rows and the ListResponse's paging attributes."""
    queryset = page.sort.annotate(queryset)
    if not page.by_cursor:
        rows, total = page_of(queryset.order_by(*page.sort.ordering()), page.start, page.count)
        return rows, {"totalResults": total, "startIndex": page.start}
    return _cursor_page(queryset, page)


def index_page(queryset, page: PageRequest):
    """The (unevaluated) rows of a page by index, in the request's sort, as sorted_page reads them."""
    start = page.start - 1
    return page.sort.annotate(queryset).order_by(*page.sort.ordering())[start : start + page.count]


def _cursor_page(queryset, page: PageRequest) -> tuple[list, dict]:
    sort, count = page.sort, page.count
    position = page.cursor.position if page.cursor else Position(forward=True)
    backward = not position.forward
    selected = queryset.order_by(*sort.ordering(reverse=backward))
    if not position.at_edge:
        selected = selected.filter(
            sort.after(position.value, position.pk, reverse=backward, inclusive=position.inclusive)
        )
    # One row beyond the page says whether another page follows (no COUNT per page).
    fetched = list(selected[: count + 1])
    more, fetched = len(fetched) > count, fetched[:count]
    total = page.cursor.total if page.cursor else _first_total(queryset, fetched, more)
    # In the direction of travel: on past the page's last row while rows remain; back, from its
    # first row, unless the page started at an end. From an empty page the cursor's own position
    # is the way on, and the way back includes (or excludes) it as this cursor did not.
    ahead = behind = None
    if more:
        ahead = _step(position, fetched[-1] if fetched else None, position.forward, position.inclusive)
    if not position.at_edge:
        behind = _step(position, fetched[0] if fetched else None, backward, not position.inclusive)
    next_cursor, previous_cursor = (behind, ahead) if backward else (ahead, behind)
    paging = {} if total is None else {"totalResults": total}
    if previous_cursor is not None:
        paging["previousCursor"] = _issue(page, total, previous_cursor)
    if next_cursor is not None:
        paging["nextCursor"] = _issue(page, total, next_cursor)
    rows = fetched[::-1] if backward else fetched
    return rows, paging


def _step(position: Position, row, forward: bool, inclusive_if_empty: bool) -> Position:
    if row is None:
        return Position(forward, position.value, position.pk, inclusive=inclusive_if_empty)
    return Position(forward, getattr(row, SORT_VALUE), row.pk)


def _first_total(queryset, rows: list, more: bool) -> int:
    # Counted once, on the first page, and carried in the cursors: RFC 9865 §2 lets a cursor walk
    # estimate totalResults, and counting a million rows per page would cost what keysets save.
    return len(rows) if not more else queryset.count()


def _issue(page: PageRequest, total: int | None, position: Position) -> str:
    return cursors.issue(position, query=page.query, count=page.count, total=total, kind=page.sort.key.kind)
