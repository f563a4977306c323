"""
The User reads Entra sends all day (issue 15): Test Connection and the match are filtered pages by
index (`userName eq "…"`, `externalId eq "…"`, `emails[type eq "work"].value eq "…"`).

The page's query is composed as for any list, through django-scim2's hooks (filter parser,
organization scope, post-processor), once per shape: accounts.prepared compiles that composition
with placeholders for the organization and the filter's strings, and later requests of the shape
only bind their values. Composing the queryset per request was a quarter of a Test Connection's
CPU. A shape is prepared only when its SQL cannot depend on the values (a filter's id or dateTime
is converted, so such shapes are composed per request, with the request's values, which answers
their errors); the request's queryset is composed again only for a COUNT (totalResults of a
full page).
"""

from dataclasses import dataclass

from accounts import prepared
from accounts.models import Organization, WorkAccount
from accounts.selectors import accounts_from_rows, document_rows
from scim.auth import ScimPrincipal
from scim.filters import parse_filter
from scim.views.listing import PageRequest, index_page, total_results


@dataclass(frozen=True)
class _ScopedRequest:
    """What the scoping hooks read of a request (request.scim.organization), for compiling a shape."""

    scim: ScimPrincipal


def _scoped(organization_id) -> _ScopedRequest:
    organization = Organization(pk=organization_id)
    return _ScopedRequest(ScimPrincipal(connection=None, organization=organization, credential=None))


def user_page(view, request, query: str, page: PageRequest) -> tuple[list[WorkAccount], dict]:
    """The accounts of a filtered page by index (values and groups loaded) and its paging attributes."""
    parsed = parse_filter(query)
    strings = [value for value in parsed.literals if isinstance(value, str)]
    # Numbers (bare digits) decide the SQL (the filter compiles them by type): part of the shape.
    numbers = tuple(None if isinstance(value, str) else value for value in parsed.literals)
    shape = ("users-page", parsed.shape, numbers, page.sort.fingerprint, page.start, page.count)

    def build(organization_id, *values):
        given = iter(values)
        text = parsed.text_with([next(given) if number is None else number for number in numbers])
        return document_rows(index_page(view.queryset(_scoped(organization_id), text), page))

    rows = prepared.rows(shape, build, request.scim.organization.pk, *strings)
    total = total_results(rows, page.start, page.count, lambda: view.queryset(request, query).count())
    return accounts_from_rows(rows), {"totalResults": total, "startIndex": page.start}
