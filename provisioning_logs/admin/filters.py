"""
List filters of the provisioning log. None of them reads the events table to build its choices:
with a million events, a DISTINCT over a column would cost more than the page itself.
"""

from datetime import UTC, datetime, time, timedelta

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from provisioning_logs.selectors import connection_list, reader_scope


class ConnectionFilter(admin.RelatedFieldListFilter):
    """The connections of the signed-in user's organization only (superusers: all)."""

    def field_choices(self, field, request, model_admin):
        connections = connection_list(scope=reader_scope(user=request.user))
        if request.user.is_superuser:
            return [(connection.pk, str(connection)) for connection in connections]
        return [(connection.pk, connection.name) for connection in connections]


class ResourceTypeFilter(admin.SimpleListFilter):
    title = "resource type"
    parameter_name = "resource_type"
    OTHER = "none"

    def lookups(self, request, model_admin):
        return [("User", "User"), ("Group", "Group"), (self.OTHER, "None (discovery, unknown endpoint)")]

    def queryset(self, request, queryset):
        value = self.value()
        if value is None:
            return queryset
        return queryset.filter(resource_type="" if value == self.OTHER else value)


def _moment(text: str, *, end_of_day: bool) -> datetime:
    """A date (the day's start, or the next day's start for `until`) or an ISO date-time, as UTC-aware."""
    day = parse_date(text)
    if day is not None:
        moment = datetime.combine(day + timedelta(days=1) if end_of_day else day, time.min)
    else:
        moment = parse_datetime(text.replace(" ", "T") if "T" not in text else text)
        if moment is None:
            raise ValueError(text)
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment)


def _input_value(text: str, *, end_of_day: bool) -> str:
    """A since/until parameter as a datetime-local input's value (UTC, to the minute)."""
    if not text:
        return ""
    try:
        moment = _moment(text, end_of_day=end_of_day)
    except (ValueError, OverflowError):
        return ""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M")


class TimeRangeFilter(admin.ListFilter):
    """
    Quick ranges (today, last 7 days, last 30 days) through `when`, and any range through `since`
    and `until` (a date or an ISO date-time to the minute, as the form's datetime-local inputs
    send it; a date `until` includes that whole day, a date-time `until` is exclusive).
    """

    title = "time"
    template = "admin/provisioning_logs/provisioningevent/time_filter.html"
    WHEN = "when"
    SINCE = "since"
    UNTIL = "until"
    QUICK = [("today", "Today"), ("7d", "Last 7 days"), ("30d", "Last 30 days")]

    def __init__(self, request, params, model, model_admin):
        super().__init__(request, params, model, model_admin)
        for name in self.expected_parameters():
            if name in params:
                value = params.pop(name)[-1].strip()
                if value:
                    self.used_parameters[name] = value
        self.hidden_params = []

    def has_output(self):
        return True

    def expected_parameters(self):
        return [self.WHEN, self.SINCE, self.UNTIL]

    def bounds(self, now: datetime | None = None) -> tuple[datetime | None, datetime | None]:
        now = now or timezone.now()
        since = until = None
        when = self.used_parameters.get(self.WHEN)
        try:
            if when == "today":
                since = timezone.make_aware(datetime.combine(timezone.localdate(now), time.min))
            elif when in ("7d", "30d"):
                since = now - timedelta(days=int(when[:-1]))
            elif when is not None:
                raise ValueError(when)
            if self.SINCE in self.used_parameters:
                since = max(
                    filter(None, (since, _moment(self.used_parameters[self.SINCE], end_of_day=False)))
                )
            if self.UNTIL in self.used_parameters:
                until = _moment(self.used_parameters[self.UNTIL], end_of_day=True)
        except (ValueError, OverflowError) as exc:
            raise IncorrectLookupParameters(exc) from exc
        return since, until

    def queryset(self, request, queryset):
        since, until = self.bounds()
        if since is not None:
            queryset = queryset.filter(created_at__gte=since)
        if until is not None:
            queryset = queryset.filter(created_at__lt=until)
        return queryset

    def choices(self, changelist):
        # The custom-range form keeps every other parameter of the list as hidden fields.
        self.hidden_params = [
            (name, value)
            for name, value in changelist.params.items()
            if name not in self.expected_parameters()
        ]
        self.since_value = self.used_parameters.get(self.SINCE, "")
        self.until_value = self.used_parameters.get(self.UNTIL, "")
        self.since_input = _input_value(self.since_value, end_of_day=False)
        self.until_input = _input_value(self.until_value, end_of_day=True)
        when = self.used_parameters.get(self.WHEN)
        yield {
            "selected": not self.used_parameters,
            "query_string": changelist.get_query_string(remove=self.expected_parameters()),
            "display": "Any time",
        }
        for value, label in self.QUICK:
            yield {
                "selected": when == value and len(self.used_parameters) == 1,
                "query_string": changelist.get_query_string({self.WHEN: value}, [self.SINCE, self.UNTIL]),
                "display": label,
            }
