"""
Reads of the provisioning log for the portal: which events and connections a portal user may see,
one connection's dashboard (current cycle, last completed cycle, outcomes per day) and an object's
provisioning history.

The dashboard reads only the cycles table, whose count columns the recorder keeps up to date:
it never aggregates the events table, which can hold millions of rows.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from accounts.connections.models import ProvisioningConnection
from accounts.models import WorkAccount, WorkGroup
from provisioning_logs.models import ProvisioningCycle, ProvisioningEvent
from provisioning_logs.services import CycleProgress, cycle_is_running, cycle_progress


HISTORY_LIMIT = 50


def _sees_everything(user) -> bool:
    return user.is_active and user.is_superuser


def _sees_own_organization(user) -> bool:
    return user.is_active and user.is_staff and user.organization_id is not None


def connection_list(*, user) -> QuerySet:
    """The provisioning connections a portal user may read, ordered as the connection admin orders them."""
    connections = ProvisioningConnection.objects.select_related("organization").order_by(
        "organization__name", "name"
    )
    if _sees_everything(user):
        return connections
    if _sees_own_organization(user):
        return connections.filter(organization_id=user.organization_id)
    return connections.none()


def object_ids_with_external_id(*, user, external_id: str, limit: int = 100) -> list:
    """Ids of the accounts and groups the user may see whose externalId is this one."""
    if not (_sees_everything(user) or _sees_own_organization(user)):
        return []
    scope = {} if _sees_everything(user) else {"organization_id": user.organization_id}
    # A GUID's case varies between clients; exact matches keep the (organization, external_id) index.
    spellings = {external_id, external_id.lower(), external_id.upper()}
    return [
        *WorkAccount.objects.filter(external_id__in=spellings, **scope).values_list("pk", flat=True)[:limit],
        *WorkGroup.objects.filter(external_id__in=spellings, **scope).values_list("pk", flat=True)[:limit],
    ]


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


def connection_dashboard(connection, now: datetime | None = None) -> ConnectionDashboard:
    """The running cycle (if any) with its progress, the last completed cycle and 7 days of outcomes."""
    now = now or timezone.now()
    latest_two = list(ProvisioningCycle.objects.filter(connection=connection).order_by("-started_at")[:2])
    current = last_completed = None
    if latest_two and cycle_is_running(latest_two[0], now):
        cycle = latest_two[0]
        current = CycleSummary(cycle=cycle, running=True, progress=cycle_progress(cycle, now))
        latest_two = latest_two[1:]
    if latest_two:
        last_completed = CycleSummary(cycle=latest_two[0], running=False, progress=None)
    return ConnectionDashboard(
        connection=connection,
        current=current,
        last_completed=last_completed,
        daily=daily_outcomes(connection, now=now),
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
