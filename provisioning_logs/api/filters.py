"""
The audit API's query parameters, through django-filter. A bad value, an unknown parameter or a
parameter given twice is a 400 naming it (DRF's {"parameter": ["message"]}): a typo must never
silently widen a SIEM's export to everything.
"""

import re
from datetime import datetime, timedelta

from django import forms
from django_filters import rest_framework as filters
from rest_framework.exceptions import ValidationError

from provisioning_logs.api.access import api_scope
from provisioning_logs.models import Action, CycleKind, ProvisioningCycle, ProvisioningEvent, Status
from provisioning_logs.selectors import connection_list, event_search


RFC3339_DATE_TIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$", re.IGNORECASE
)
BAD_DATE_TIME = (
    "Enter an RFC 3339 date-time with a time zone, for example 2026-05-01T00:00:00Z "
    "(in a URL, a + must be percent-encoded)."
)
UNKNOWN_PARAMETER = "Unknown parameter."
REPEATED_PARAMETER = "Give this parameter once."
NEWEST, OLDEST = "newest", "oldest"
# How far apart an event's time and its id's place may be (see EventFilter._bounded_by_id).
ID_BOUND_MARGIN = timedelta(minutes=10)
# Outside the filters: the cursor and page size (pagination) and DRF's format override.
PAGING_PARAMETERS = frozenset({"cursor", "page_size", "format"})


class RFC3339DateTimeField(forms.Field):
    """RFC 3339 §5.6 date-time: the offset is required, so no moment is ambiguous."""

    default_error_messages = {"invalid": BAD_DATE_TIME}

    def to_python(self, value):
        value = (value or "").strip()
        if not value:
            return None
        if not RFC3339_DATE_TIME.match(value):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        text = value.upper().replace(" ", "T")
        # Stored times have microseconds. A finer fraction is rounded up: `since` (>=) and
        # `until` (<) of x then select exactly the stored times at or after, or before, x.
        finer = re.search(r"\.\d{6}(\d+)", text)
        text = re.sub(r"(\.\d{6})\d+", r"\1", text)
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None
        if finer and finer.group(1).strip("0"):
            moment += timedelta(microseconds=1)
        return moment


class RFC3339DateTimeFilter(filters.Filter):
    field_class = RFC3339DateTimeField


class IntegerFilter(filters.NumberFilter):
    field_class = forms.IntegerField


class OrderFilter(filters.ChoiceFilter):
    """`order`: newest first (the default) or oldest first; the pagination applies it."""

    def __init__(self, **kwargs):
        kwargs.setdefault("choices", [(NEWEST, "Newest first"), (OLDEST, "Oldest first")])
        kwargs.setdefault("method", lambda queryset, name, value: queryset)
        super().__init__(**kwargs)


class StrictFilterBackend(filters.DjangoFilterBackend):
    def filter_queryset(self, request, queryset, view):
        filterset_class = self.get_filterset_class(view, queryset)
        known = PAGING_PARAMETERS | set(filterset_class.base_filters if filterset_class else ())
        errors = {}
        for name in request.query_params:
            if name not in known:
                errors[name] = [UNKNOWN_PARAMETER]
            elif len(request.query_params.getlist(name)) > 1:
                errors[name] = [REPEATED_PARAMETER]
        if errors:
            raise ValidationError(errors)
        return super().filter_queryset(request, queryset, view)


def _readable_connections(request):
    return connection_list(scope=api_scope(request))


class EventFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=Status.choices, help_text="Success, Failure or Skipped.")
    action = filters.ChoiceFilter(choices=Action.choices, help_text="What the request did.")
    resource_type = filters.ChoiceFilter(
        choices=[("User", "User"), ("Group", "Group"), ("none", "None (discovery, unknown endpoint)")],
        method="filter_resource_type",
        help_text="User, Group, or none for requests that name no resource.",
    )
    connection = filters.ModelChoiceFilter(
        queryset=_readable_connections, help_text="A provisioning connection's id."
    )
    cycle = IntegerFilter(field_name="cycle_id", min_value=1, help_text="A provisioning cycle's id.")
    since = RFC3339DateTimeFilter(
        field_name="created_at", lookup_expr="gte", help_text="Events at or after this RFC 3339 date-time."
    )
    until = RFC3339DateTimeFilter(
        field_name="created_at", lookup_expr="lt", help_text="Events before this RFC 3339 date-time."
    )
    identity = filters.CharFilter(
        method="filter_identity",
        max_length=255,
        help_text=(
            "The portal's search: the start of a userName or displayName (any case) or of an "
            "externalId, a request id, or a GUID that is the id or externalId of an account or group."
        ),
    )
    request_id = filters.CharFilter(max_length=128, help_text="The client's request id, exactly.")
    http_status = IntegerFilter(min_value=100, max_value=599, help_text="The HTTP status of the answer.")
    order = OrderFilter(help_text="newest (default) or oldest first. Oldest first always has a next link.")

    class Meta:
        model = ProvisioningEvent
        fields = []

    def filter_queryset(self, queryset):
        return self._bounded_by_id(super().filter_queryset(queryset))

    def _bounded_by_id(self, queryset):
        """
        The pages are in id order, the time bounds are on created_at. Where the two work against
        each other (oldest first from `since`, newest first to `until`) PostgreSQL walks the id
        index through every event outside the bound, a million of them at a million events. The
        id of an event recorded well outside the bound (ID_BOUND_MARGIN) limits the walk: ids and
        times agree that far, as no recording transaction runs that long and the web servers'
        clocks agree. The time filter itself stays, so the events selected are the same.
        """
        data = self.form.cleaned_data
        oldest_first = data.get("order") == OLDEST
        since, until = data.get("since"), data.get("until")
        scope = self.queryset.order_by()
        if oldest_first and since is not None:
            before = scope.filter(created_at__lt=since - ID_BOUND_MARGIN).order_by("-created_at", "-id")
            start = before.values_list("id", flat=True).first()
            if start is not None:
                queryset = queryset.filter(id__gt=start)
        if not oldest_first and until is not None:
            after = scope.filter(created_at__gte=until + ID_BOUND_MARGIN).order_by("created_at", "id")
            end = after.values_list("id", flat=True).first()
            if end is not None:
                queryset = queryset.filter(id__lt=end)
        return queryset

    def filter_resource_type(self, queryset, name, value):
        return queryset.filter(resource_type="" if value == "none" else value)

    def filter_identity(self, queryset, name, value):
        return event_search(queryset, term=value, scope=api_scope(self.request))


class CycleFilter(filters.FilterSet):
    connection = filters.ModelChoiceFilter(
        queryset=_readable_connections, help_text="A provisioning connection's id."
    )
    kind = filters.ChoiceFilter(choices=CycleKind.choices, help_text="initial or incremental.")
    since = RFC3339DateTimeFilter(
        field_name="started_at", lookup_expr="gte", help_text="Cycles started at or after this date-time."
    )
    until = RFC3339DateTimeFilter(
        field_name="started_at", lookup_expr="lt", help_text="Cycles started before this date-time."
    )
    order = OrderFilter(help_text="newest (default) or oldest first.")

    class Meta:
        model = ProvisioningCycle
        fields = []
