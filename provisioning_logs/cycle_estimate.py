"""
What the dashboard says about a running cycle: how far it probably got, how fast it goes, and
whether Entra is still sending or has gone quiet (a cycle ends only after
PROVISIONING_CYCLE_GAP_SECONDS without a request, so "running" alone misleads for ten minutes).

Entra announces neither the size of a cycle nor its end (entra-scim.md §4.3, §5.1), so the
estimate uses what the portal knows:
- an initial cycle walks every object in scope, a lookup first and then a write for each: the
  organization's accounts and groups, or the previous full cycle's size, is the total to expect;
- an incremental cycle handles only what changed in Entra: a share of all objects means nothing
  there, so it shows how many changed and how the previous cycle compares;
- the rate of objects handled so far gives the time left.

`describe` is pure (the wording has unit tests for each case); `cycle_estimate` gathers the facts.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from provisioning_logs.models import CycleKind, CycleObject, ProvisioningCycle
from provisioning_logs.services import cycle_gap, managed_object_count


# Entra sends a request every few hundred milliseconds while it works; a minute of silence means
# it is waiting (between pages, on a retry, or done).
QUIET_AFTER = timedelta(seconds=60)
# A rate needs some history before it says anything.
RATE_AFTER = timedelta(seconds=30)


@dataclass(frozen=True)
class CycleFacts:
    kind: str
    started_at: datetime
    last_event_at: datetime
    handled: int
    lookups: int
    writes: int
    expected_at_start: int | None  # the organization's objects when the cycle began (None: first cycle)
    organization_objects: int | None  # the organization's accounts and groups now (initial cycles)
    previous_size: int | None  # objects the previous cycle of the same kind handled
    gap: timedelta


@dataclass(frozen=True)
class CycleEstimate:
    total: int | None  # objects the cycle is expected to handle (None: nothing to go by)
    percent: int | None
    per_minute: int | None
    idle: bool
    quiet_seconds: int
    counted_finished_at: datetime  # when the cycle is counted as finished if nothing more comes
    state_text: str
    bar_text: str
    detail_text: str
    activity_text: str


def span_text(seconds: float) -> str:
    """A duration as a person says it: 45 s, 4 min, 1 h 05 min."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def _moment(moment: datetime) -> str:
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"


def _clock(moment: datetime) -> str:
    return f"{moment.astimezone(UTC):%H:%M:%S} UTC"


def _objects(count: int, what: str = "object") -> str:
    return f"{count:,} {what}{'' if count == 1 else 's'}"


def _initial_total(facts: CycleFacts) -> tuple[int, str] | None:
    """The largest known size of a full cycle that this one has not reached yet, and where it comes from."""
    known = []
    if facts.organization_objects:
        known.append((facts.organization_objects, "the organization's accounts and groups"))
    if facts.expected_at_start:
        known.append((facts.expected_at_start, "the accounts and groups when the cycle began"))
    if facts.previous_size:
        known.append((facts.previous_size, "the size of the previous full cycle"))
    known = [item for item in known if item[0] > facts.handled]
    return max(known, key=lambda item: item[0]) if known else None


def describe(facts: CycleFacts, *, now: datetime) -> CycleEstimate:
    kind = CycleKind(facts.kind).label
    quiet = max(timedelta(0), now - facts.last_event_at)
    idle = quiet >= QUIET_AFTER
    elapsed = facts.last_event_at - facts.started_at
    per_minute = None
    if facts.handled and elapsed >= RATE_AFTER:
        per_minute = max(1, round(facts.handled * 60 / elapsed.total_seconds()))
    rate = f"about {per_minute:,} a minute" if per_minute else ""

    total = percent = None
    if facts.kind == CycleKind.INITIAL:
        found = _initial_total(facts)
        if found is not None:
            total, basis = found
            percent = min(99, facts.handled * 100 // total)
            detail = f"{facts.handled:,} of about {_objects(total)} ({basis})"
            if per_minute and not idle:
                detail += f"; {rate}, about {span_text((total - facts.handled) / per_minute * 60)} left"
            bar = f"about {percent} %"
        else:
            detail = f"{_objects(facts.handled)} so far"
            if rate:
                detail += f", {rate}"
            detail += (
                "; Entra does not say how many objects are in scope, so the total is known when this "
                "first cycle ends"
            )
            bar = f"{facts.handled:,} so far"
        if facts.lookups and not facts.writes:
            detail += ". Entra is still looking objects up; its writes follow"
    else:
        detail = (
            f"{_objects(facts.handled, 'changed object')} so far (only what changed in Entra since the "
            f"last cycle"
        )
        if facts.previous_size is not None:
            detail += f"; the previous cycle handled {facts.previous_size:,}"
        detail += ")"
        if rate and not idle:
            detail += f", {rate}"
        bar = f"{facts.handled:,} changed"

    finished_at = facts.last_event_at + facts.gap
    if idle:
        state = (
            f"{kind} cycle waiting: no request since {_clock(facts.last_event_at)} (started "
            f"{_moment(facts.started_at)})"
        )
        activity = (
            f"No requests for {span_text(quiet.total_seconds())}; counted as finished after "
            f"{span_text(facts.gap.total_seconds())} of quiet ({_clock(finished_at)}) unless Entra sends "
            f"more."
        )
        bar = f"waiting · {bar}"
    else:
        state = f"{kind} cycle running since {_moment(facts.started_at)}"
        activity = f"Receiving requests: the last one {span_text(quiet.total_seconds())} ago."
    return CycleEstimate(
        total=total,
        percent=percent,
        per_minute=per_minute,
        idle=idle,
        quiet_seconds=int(quiet.total_seconds()),
        counted_finished_at=finished_at,
        state_text=state,
        bar_text=bar,
        detail_text=detail + ".",
        activity_text=activity,
    )


def _handled(cycle: ProvisioningCycle | None) -> int | None:
    return None if cycle is None else CycleObject.objects.filter(cycle=cycle).count()


def cycle_facts(cycle: ProvisioningCycle, *, handled: int) -> CycleFacts:
    earlier = ProvisioningCycle.objects.filter(
        connection_id=cycle.connection_id, started_at__lt=cycle.started_at
    )
    if cycle.kind == CycleKind.INITIAL:
        previous = earlier.filter(kind=CycleKind.INITIAL).order_by("-started_at").first()
        organization_objects = managed_object_count(cycle.organization)
    else:
        previous = earlier.order_by("-started_at").first()
        organization_objects = None
    writes = (
        cycle.count_create
        + cycle.count_update
        + cycle.count_disable
        + cycle.count_enable
        + cycle.count_delete
    )
    return CycleFacts(
        kind=cycle.kind,
        started_at=cycle.started_at,
        last_event_at=cycle.last_event_at,
        handled=handled,
        lookups=cycle.count_lookup,
        writes=writes,
        expected_at_start=cycle.expected_objects,
        organization_objects=organization_objects,
        previous_size=_handled(previous),
        gap=cycle_gap(),
    )


def cycle_estimate(cycle: ProvisioningCycle, *, handled: int, now: datetime) -> CycleEstimate:
    return describe(cycle_facts(cycle, handled=handled), now=now)
