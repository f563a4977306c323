"""
Paging a list of a million events without counting them. One query reads the ids of the rows up to
a few pages beyond the one asked for (in list order, along the index); the count is the length of
that window, "more than …" when it is full, and the page's rows are then fetched by id. A search
that matches few rows therefore scans the table once, not once to count and again to show.
"""

from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import PAGE_VAR, ChangeList
from django.core.paginator import InvalidPage, Page, Paginator
from django.utils.functional import cached_property


class CappedPaginator(Paginator):
    """Counts at most `pages_ahead` pages beyond the requested one."""

    pages_ahead = 10

    def __init__(self, object_list, per_page, orphans=0, allow_empty_first_page=True, *, page_number=1):
        super().__init__(object_list, per_page, orphans, allow_empty_first_page)
        self.page_number = max(1, page_number)

    @cached_property
    def limit(self) -> int:
        return (self.page_number + self.pages_ahead) * self.per_page

    @cached_property
    def window(self) -> list:
        """The ids of the first limit + 1 rows, in list order (one more tells whether more exist)."""
        return list(self.object_list.values_list("pk", flat=True)[: self.limit + 1])

    @cached_property
    def count(self) -> int:
        return len(self.window)

    @property
    def capped(self) -> bool:
        return self.count > self.limit

    def page(self, number):
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        ids = self.window[bottom : bottom + self.per_page]
        rows = list(self.object_list.filter(pk__in=ids)) if ids else []
        return Page(rows, number, self)


def page_number_of(request) -> int:
    try:
        return int(request.GET.get(PAGE_VAR, 1))
    except ValueError:
        return 1


class EventChangeList(ChangeList):
    """The change list with "newer"/"older" links and a count that may be "more than …"."""

    def get_results(self, request):
        # Django's own version counts the filtered rows and, for a short list, runs the list query
        # a second time; here the paginator's single window query serves both.
        paginator = self.model_admin.get_paginator(request, self.queryset, self.list_per_page)
        try:
            result_list = paginator.page(self.page_num).object_list
        except InvalidPage as exc:
            raise IncorrectLookupParameters from exc
        self.result_count = paginator.count
        self.full_result_count = None
        self.show_full_result_count = False
        self.show_admin_actions = True
        self.can_show_all = False
        self.multi_page = self.result_count > self.list_per_page
        self.result_list = result_list
        self.paginator = paginator

    def _page_url(self, number: int) -> str:
        return self.get_query_string({PAGE_VAR: number})

    @property
    def newer_url(self) -> str | None:
        return self._page_url(self.page_num - 1) if self.page_num > 1 else None

    @property
    def older_url(self) -> str | None:
        return self._page_url(self.page_num + 1) if self.paginator.num_pages > self.page_num else None

    @property
    def first_shown(self) -> int:
        return (self.page_num - 1) * self.list_per_page + 1 if self.result_list else 0

    @property
    def last_shown(self) -> int:
        return self.first_shown + len(self.result_list) - 1 if self.result_list else 0

    @property
    def count_text(self) -> str:
        paginator = self.paginator
        if paginator.capped:
            return f"more than {paginator.limit:,}"
        return f"{paginator.count:,}"
