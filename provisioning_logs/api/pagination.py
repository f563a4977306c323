"""
Cursor pages keyed on the id (DRF's CursorPagination): a page never counts the table, and
inserts between two page fetches neither shift nor repeat rows. An event's id is taken when it is
recorded and, per organization, ids become visible in that order (provisioning_logs.services
._start_log_transaction), so reading oldest first and following `next` sees every event exactly
once, however fast Entra writes.
"""

import re

from django.conf import settings
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import Cursor, CursorPagination
from rest_framework.utils.urls import remove_query_param

from provisioning_logs.api.filters import OLDEST


BAD_CURSOR = "Invalid cursor: use the next or previous link of an earlier page as it is."
BAD_PAGE_SIZE = "Enter a whole number from 1 to {limit}."
POSITION = re.compile(r"^\d{1,19}$")


class IdCursorPagination(CursorPagination):
    """Newest first by default; `order=oldest` reverses it."""

    ordering = "-id"
    page_size_query_param = "page_size"
    # With `order=oldest` (and no `until`) the last page still has a next link: it returns
    # what is recorded after this page, later (a SIEM stores it and polls it).
    polling = False

    def __init__(self):
        self.page_size = settings.AUDIT_API_PAGE_SIZE
        self.max_page_size = settings.AUDIT_API_MAX_PAGE_SIZE

    def get_ordering(self, request, queryset, view):
        return ("id",) if request.query_params.get("order") == OLDEST else ("-id",)

    def get_page_size(self, request):
        value = request.query_params.get(self.page_size_query_param)
        if value is None:
            return self.page_size
        if not value.isdigit() or not 1 <= int(value) <= self.max_page_size:
            message = BAD_PAGE_SIZE.format(limit=self.max_page_size)
            raise ValidationError({self.page_size_query_param: [message]})
        return int(value)

    def decode_cursor(self, request):
        bad_cursor = ValidationError({self.cursor_query_param: [BAD_CURSOR]})
        try:
            cursor = super().decode_cursor(request)
        except NotFound:  # DRF's answer to a cursor it cannot read; it is the client's input: 400
            raise bad_cursor from None
        # DRF would hand a position that is no id to the query, and the database would fail on it.
        if cursor is not None and cursor.position is not None and not POSITION.match(cursor.position):
            raise bad_cursor
        return cursor

    def paginate_queryset(self, queryset, request, view=None):
        oldest_first = request.query_params.get("order") == OLDEST
        self.polling_now = self.polling and oldest_first and "until" not in request.query_params
        return super().paginate_queryset(queryset, request, view)

    def get_next_link(self):
        link = super().get_next_link()
        if link is not None or not self.polling_now:
            return link
        if self.page:
            position = self._get_position_from_instance(self.page[-1], self.ordering)
        elif self.cursor is not None and self.cursor.position is not None:
            position = self.cursor.position
        else:
            # Nothing yet, and no position to keep: the same request again, later.
            return remove_query_param(self.base_url, self.cursor_query_param)
        return self.encode_cursor(Cursor(offset=0, reverse=False, position=position))


class EventPagination(IdCursorPagination):
    polling = True


class ConnectionPagination(IdCursorPagination):
    def get_ordering(self, request, queryset, view):
        return ("id",)
