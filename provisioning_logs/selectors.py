"""
Reads of the provisioning log for the portal: which events and connections a portal user may see,
one connection's dashboard (current cycle, last completed cycle, outcomes per day) and an object's
provisioning history.

The dashboard reads only the cycles table, whose count columns the recorder keeps up to date:
it never aggregates the events table, which can hold millions of rows.
"""

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from accounts.connections.models import ProvisioningConnection
from accounts.models import WorkAccount, WorkGroup
from provisioning_logs.cycle_estimate import CycleEstimate, cycle_estimate
from provisioning_logs.health_summary import HealthStatus, health_status
from provisioning_logs.models import ProvisioningCycle, ProvisioningEvent
from provisioning_logs.services import CycleProgress, cycle_is_running, cycle_progress


HISTORY_LIMIT = 50


@dataclass(frozen=True)
class ReaderScope:
    """
    Which organizations a reader of the provisioning log sees: one organization, every one (a
    platform superuser), or none. The portal and the audit API scope every query through it.
    """

    organization_id: int | None = None
    everything: bool = False

    @property
    def sees_anything(self) -> bool:
        return self.everything or self.organization_id is not None

    def filter(self, queryset: QuerySet, field: str = "organization_id") -> QuerySet:
        if self.everything:
            return queryset
        if self.organization_id is None:
            return queryset.none()
        return queryset.filter(**{field: self.organization_id})


NO_ORGANIZATION = ReaderScope()
EVERY_ORGANIZATION = ReaderScope(everything=True)


def reader_scope(*, user) -> ReaderScope:
    """A portal user's scope: superusers see every organization, admins and support staff their own."""
    if not (user.is_authenticated and user.is_active):
        return NO_ORGANIZATION
    if user.is_superuser:
        return EVERY_ORGANIZATION
    if user.is_staff and user.organization_id is not None:
        return ReaderScope(organization_id=user.organization_id)
    return NO_ORGANIZATION


def connection_list(*, scope: ReaderScope) -> QuerySet:
    """The provisioning connections a reader may see, ordered as the connection admin orders them."""
    connections = ProvisioningConnection.objects.select_related("organization").order_by(
        "organization__name", "name"
    )
    return scope.filter(connections)


def object_ids_with_external_id(*, scope: ReaderScope, external_id: str, limit: int = 100) -> list:
    """Ids of the accounts and groups in the scope whose externalId is this one."""
    if not scope.sees_anything:
        return []
    # A GUID's case varies between clients; exact matches keep the (organization, external_id) index.
    spellings = {external_id, external_id.lower(), external_id.upper()}
    ids = []
    for model in (WorkAccount, WorkGroup):
        matching = scope.filter(model.objects.filter(external_id__in=spellings))
        ids += matching.values_list("pk", flat=True)[:limit]
    return ids


def event_search(events: QuerySet, *, term: str, scope: ReaderScope) -> QuerySet:
    """
    The provisioning log's search (the portal's search box, the audit API's `identity`): the start
    of a userName or displayName in any case, the start of an externalId, a request id, or a GUID
    that is the id or the externalId of an account or group.
    """
    term = term.strip()
    if not term:
        return events
    try:
        resource_id = uuid.UUID(term)
    except ValueError:
        # Prefixes only (userName/displayName case-insensitively, externalId case-sensitively as
        # RFC 7643 compares it), so indexes answer it with millions of events (on PostgreSQL the
        # pattern-ops indexes of migration 0013); a substring search scanned the whole table
        # (0.9 s at 1,000,000 events).
        matches = Q(identity__istartswith=term) | Q(external_id__startswith=term) | Q(request_id=term)
    else:
        # Every branch is indexed, so an id search stays fast with millions of events. Entra's
        # externalId is often an object's GUID: it is looked up on the accounts and groups that
        # carry it (indexed there) rather than scanned for in the events.
        matches = (
            Q(resource_id=resource_id)
            | Q(request_id=term)
            | Q(resource_id__in=object_ids_with_external_id(scope=scope, external_id=term))
        )
    return events.filter(matches)


def event_history(*, obj, limit: int = HISTORY_LIMIT) -> list[ProvisioningEvent]:
    """The newest events whose resource is `obj` (an account or a group), newest first."""
    return list(
        ProvisioningEvent.objects.filter(resource_id=obj.pk, organization_id=obj.organization_id)
        .select_related("connection")
        .order_by("-created_at", "-id")[:limit]
    )


# Dashboards ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CycleSummary:
    cycle: ProvisioningCycle
    running: bool
    # Only for the running cycle: how far it got (None for a completed one).
    progress: CycleProgress | None
    # Only for the running cycle: what the dashboard says about it (cycle_estimate).
    estimate: CycleEstimate | None = None

    @property
    def started_at(self) -> datetime:
        return self.cycle.started_at

    @property
    def ended_at(self) -> datetime | None:
        return None if self.running else self.cycle.last_event_at

    @property
    def duration(self) -> timedelta:
        return self.cycle.last_event_at - self.cycle.started_at

    @property
    def action_counts(self) -> dict[str, int]:
        return self.cycle.action_counts()

    @property
    def status_counts(self) -> dict[str, int]:
        return self.cycle.status_counts()

    @property
    def total(self) -> int:
        return self.cycle.total_events


@dataclass(frozen=True)
class DayOutcome:
    day: date
    successes: int
    failures: int


@dataclass(frozen=True)
class ConnectionDashboard:
    connection: object
    current: CycleSummary | None
    last_completed: CycleSummary | None
    daily: tuple[DayOutcome, ...]


def cycle_summary(cycle: ProvisioningCycle, now: datetime | None = None) -> CycleSummary:
    """A cycle with whether it still runs and, while it does, its progress."""
    now = now or timezone.now()
    if cycle_is_running(cycle, now):
        progress = cycle_progress(cycle, now)
        return CycleSummary(
            cycle=cycle,
            running=True,
            progress=progress,
            estimate=cycle_estimate(cycle, handled=progress.handled, now=now),
        )
    return CycleSummary(cycle=cycle, running=False, progress=None)


def connection_dashboard(connection, now: datetime | None = None) -> ConnectionDashboard:
    """The running cycle (if any) with its progress, the last completed cycle and 7 days of outcomes."""
    now = now or timezone.now()
    latest_two = list(ProvisioningCycle.objects.filter(connection=connection).order_by("-started_at")[:2])
    current = last_completed = None
    if latest_two and cycle_is_running(latest_two[0], now):
        current = cycle_summary(latest_two[0], now)
        latest_two = latest_two[1:]
    if latest_two:
        last_completed = cycle_summary(latest_two[0], now)
    return ConnectionDashboard(
        connection=connection,
        current=current,
        last_completed=last_completed,
        daily=daily_outcomes(connection, now=now),
    )


@dataclass(frozen=True)
class ConnectionReport:
    """A connection as the dashboard and the audit API show it: its cycles, 7 days and health."""

    connection: object
    dashboard: ConnectionDashboard
    health: HealthStatus


def connection_report(connection, now: datetime | None = None) -> ConnectionReport:
    now = now or timezone.now()
    return ConnectionReport(
        connection=connection,
        dashboard=connection_dashboard(connection, now=now),
        health=health_status(connection, now=now),
    )


def daily_outcomes(connection, days: int = 7, now: datetime | None = None) -> tuple[DayOutcome, ...]:
    """
    Successful and failed requests per day over the last `days` days (today included, oldest
    first), counted by the day each cycle started: the cycles' count columns, never the events.
    """
    now = now or timezone.now()
    today = timezone.localdate(now)
    first_day = today - timedelta(days=days - 1)
    since = timezone.make_aware(datetime.combine(first_day, time.min))
    rows = (
        ProvisioningCycle.objects.filter(connection=connection, started_at__gte=since)
        .order_by()
        .annotate(day=TruncDate("started_at"))
        .values("day")
        .annotate(successes=Sum("count_success"), failures=Sum("count_failure"))
    )
    by_day = {row["day"]: row for row in rows}
    outcomes = []
    for offset in range(days):
        day = first_day + timedelta(days=offset)
        row = by_day.get(day, {})
        outcomes.append(
            DayOutcome(day=day, successes=row.get("successes") or 0, failures=row.get("failures") or 0)
        )
    return tuple(outcomes)
