"""
Recording provisioning events and grouping them into cycles.

event_record runs in its own transaction after the SCIM request finished, so a request that failed
and rolled back is logged too. Whatever the body held is stored (text no database can hold is
escaped). It never raises into the SCIM response: a logging failure is logged to the server log,
counted on the connection's health (recording_failures) and the request's answer stands.
"""

import dataclasses
import functools
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection as database
from django.db import transaction
from django.db.models import F, Sum
from django.db.models.functions import Greatest
from django.utils import timezone

from accounts.connections.models import ProvisioningConnection
from accounts.models import WorkGroup
from accounts.selectors import live_accounts
from accounts.statements import Statement, insert_rows
from provisioning_logs.health import (
    forget_health_ids,
    health_observe,
    health_of,
    health_successes_on_healthy,
)
from provisioning_logs.models import (
    ACTION_COUNT_FIELD,
    STATUS_COUNT_FIELD,
    Action,
    ConnectionHealth,
    CycleKind,
    CycleObject,
    ProvisioningCycle,
    ProvisioningEvent,
    Status,
)
from provisioning_logs.redaction import redacted_property
from provisioning_logs.storable import storable_json, storable_text


logger = logging.getLogger(__name__)
NO_CHANGE_NEEDED = "No change needed: the resource already had these values."


@dataclass
class EventRecord:
    """What the SCIM layer knows about one request once it has been answered."""

    organization: object
    connection: object
    method: str
    path: str
    http_status: int
    duration_ms: int = 0
    request_id: str = ""
    client_address: str = ""
    credential: str = ""
    resource_type: str = ""
    action: str = Action.OTHER
    skipped: bool = False
    resource_id: object = None
    external_id: str = ""
    identity: str = ""
    scim_type: str = ""
    detail: str = ""
    modified_properties: list = field(default_factory=list)  # [(name, old, new)]
    request_body: str = ""
    reference_failure: bool = False  # about an unknown manager or member
    # A success that stored something to look at (a manager not provisioned yet): shown as the
    # event's detail (event_detail.warning_of), the event stays a success.
    warnings: tuple = ()

    @property
    def credential_failure(self) -> bool:
        return self.http_status == 401

    @property
    def compliance_failure(self) -> bool:
        """Entra is asking for an endpoint we do not have: a wrong Tenant URL, not bad data."""
        return self.resource_type == "" and self.http_status in (404, 405, 501)

    @property
    def throttled(self) -> bool:
        """Refused by our own rate limit (429): Entra slows down and retries; not the connection's fault."""
        return self.http_status == 429

    @property
    def status(self) -> str:
        if self.http_status >= 400:
            return Status.FAILURE
        return Status.SKIPPED if self.skipped else Status.SUCCESS

    @property
    def object_key(self) -> str:
        """
        Which object the request handled, for the cycle's distinct count ('' for none).

        Keyed on the identity first (userName or displayName, what Entra matches on by default):
        the lookup before a create knows only the userName it looked for, so keying on our id
        would count the looked-up and the created user as two objects. A request by id that
        failed before loading its object (404) knows only the id.
        """
        key = self.identity or self.resource_id or self.external_id
        if not key or self.resource_type not in ("User", "Group"):
            return ""
        return f"{self.resource_type}:{str(key).lower()}"[:300]


def cycle_gap() -> timedelta:
    return timedelta(seconds=settings.PROVISIONING_CYCLE_GAP_SECONDS)


def event_record(record: EventRecord, *, now: datetime | None = None) -> ProvisioningEvent | None:
    """Write the event and count it in its cycle; None (logged and counted) if that failed."""
    now = now or timezone.now()
    try:
        record = _storable_record(record)
        with transaction.atomic():
            _start_log_transaction(record.organization)
            cycle = _current_cycle(record, now)
            event = ProvisioningEvent.objects.create(**_event_fields(record, cycle, now))
            _count(cycle, record, now)
            if not record.throttled:  # a 429 we answered never counts toward quarantine
                _observe(record, event, now)
        _running_cycles[record.connection.pk] = (cycle, now)
    except Exception:
        forget_running_cycles()  # a cached row may be what failed (e.g. rolled back, deleted)
        logger.exception("Could not record the provisioning event of %s %s", record.method, record.path)
        recording_failed(connection=record.connection, now=now)
        return None
    return event


def events_record(batch: list[tuple[EventRecord, datetime]]) -> int:
    """
    Write a batch of (event, when it was answered), in order, with exactly the rows, counters,
    health and transitions event_record gives them one by one; the batching flusher
    (provisioning_logs.batching) calls it. One transaction per organization: its lock once, one
    multi-row INSERT, one UPDATE per cycle and one per run of successes on a healthy connection
    (failures and recoveries are judged event by event, as they come). If a batch cannot be
    written, each of its events is written alone, so one bad row loses only itself. Returns the
    events written.
    """
    by_organization: dict[int, list[tuple[EventRecord, datetime]]] = {}
    for record, now in batch:
        by_organization.setdefault(record.organization.pk, []).append((record, now))
    written = 0
    for items in by_organization.values():
        try:
            written += _write_organization_batch(items)
        except Exception:
            forget_running_cycles()
            logger.warning("A batch of %s provisioning events failed; writing them one by one", len(items))
            written += sum(event_record(record, now=now) is not None for record, now in items)
    return written


def _write_organization_batch(items: list[tuple[EventRecord, datetime]]) -> int:
    items = [(_storable_record(record), now) for record, now in items]
    opened: dict[int, tuple[ProvisioningCycle, datetime]] = {}  # cycles of this transaction
    with transaction.atomic():
        _start_log_transaction(items[0][0].organization)
        cycles = []
        for record, now in items:
            cycle = _batch_cycle(record, now, opened)
            cycles.append(cycle)
            opened[record.connection.pk] = (cycle, now)
        # Rows, not model instances: an event becomes one only where health needs it (_observe_batch).
        rows = [_event_fields(record, cycle, now) for (record, now), cycle in zip(items, cycles, strict=True)]
        ids = insert_rows(ProvisioningEvent, rows)
        _count_batch(items, cycles)
        _observe_batch(items, rows, ids)
    for connection_pk, running in opened.items():
        _running_cycles[connection_pk] = running
    return len(ids)


def _batch_cycle(record: EventRecord, now: datetime, opened: dict) -> ProvisioningCycle:
    """The cycle of this event: one this batch already counts in, else as event_record finds it."""
    running = _still_running(opened, record, now)
    if running is not None:
        return running
    # A quiet gap inside one batch (a flush held up for longer than the gap) reaches the database,
    # where the cycle's last event is older still: a new cycle, as event by event.
    return _current_cycle(record, now)


def _count_batch(items, cycles) -> None:
    """The cycles' counters, coalesced: what _count adds event by event, in one UPDATE per cycle."""
    increments: dict[int, dict[str, int]] = {}
    last_event: dict[int, datetime] = {}
    lookups: dict[int, ProvisioningCycle] = {}
    keys = set()
    for (record, now), cycle in zip(items, cycles, strict=True):
        counters = increments.setdefault(cycle.pk, {})
        for name in (ACTION_COUNT_FIELD[Action(record.action)], STATUS_COUNT_FIELD[Status(record.status)]):
            counters[name] = counters.get(name, 0) + 1
        last_event[cycle.pk] = max(last_event.get(cycle.pk, now), now)
        if record.object_key:
            keys.add((cycle.pk, record.object_key))
        if record.action == Action.LOOKUP:
            lookups[cycle.pk] = cycle
    for cycle_pk, counters in increments.items():
        counting = _cycle_counting(tuple(sorted(counters)))
        counting.execute(pk=cycle_pk, last_event_at=last_event[cycle_pk], **counters)
    if keys:
        insert_rows(
            CycleObject,
            [{"cycle": cycle_pk, "object_key": key} for cycle_pk, key in sorted(keys)],
            ignore_conflicts=True,
        )
    for cycle in lookups.values():
        _detect_restart(cycle)


@functools.cache
def _cycle_counting(names: tuple[str, ...]) -> Statement:
    """The coalesced counters' UPDATE of one cycle, compiled once per set of counters."""
    meta = ProvisioningCycle._meta
    return Statement(
        lambda pk, **_: ProvisioningCycle.objects.filter(pk=pk),
        update=lambda pk, last_event_at, **counts: dict(
            last_event_at=Greatest(F("last_event_at"), last_event_at),
            **{name: F(name) + count for name, count in counts.items()},
        ),
        pk=meta.pk,
        last_event_at=meta.get_field("last_event_at"),
        **{name: meta.get_field(name) for name in names},
    )


def _observe_batch(items, rows: list[dict], ids: list[int]) -> None:
    """
    Health, event by event in order, except that a run of successes on a healthy connection (the
    everyday case, one UPDATE each in event_record) is one UPDATE: a success never changes a
    healthy connection's state, so the run's outcome is the same.
    """
    run: list = []
    for (record, now), fields, pk in zip(items, rows, ids, strict=True):
        if record.throttled:
            continue  # a 429 we answered never counts toward quarantine
        event = _WrittenEvent(pk, fields)
        if record.status != Status.FAILURE and (not run or run[-1][0].connection.pk == record.connection.pk):
            run.append((record, event, now))
            continue
        _observe_successes(run)
        run = []
        if record.status != Status.FAILURE:
            run.append((record, event, now))
            continue
        _observe(record, event.instance, now)
    _observe_successes(run)


@dataclass
class _WrittenEvent:
    """A batch's event row and its id; a model instance only when health needs one."""

    pk: int
    fields: dict

    @property
    def instance(self) -> ProvisioningEvent:
        return ProvisioningEvent(pk=self.pk, **self.fields)


def _observe_successes(run: list) -> None:
    if not run:
        return
    connection = run[0][0].connection
    if health_successes_on_healthy(connection=connection, count=len(run)):
        return
    for record, event, now in run:  # not healthy: the first success ends the quarantine
        _observe(record, event.instance, now)


def _observe(record: EventRecord, event: ProvisioningEvent, now: datetime) -> None:
    """One event's effect on its connection's health (quarantine rules, provisioning_logs.health)."""
    health_observe(
        connection=record.connection,
        event=event,
        credential_failure=record.credential_failure,
        compliance_failure=record.compliance_failure,
        now=now,
    )


def _event_fields(record: EventRecord, cycle: ProvisioningCycle, now: datetime) -> dict:
    return dict(
        organization=record.organization,
        connection=record.connection,
        cycle=cycle,
        created_at=now,
        duration_ms=max(0, int(record.duration_ms)),
        request_id=record.request_id[:128],
        client_address=record.client_address[:64],
        credential=record.credential[:200],
        method=record.method[:8],
        path=record.path[:1024],
        resource_type=record.resource_type[:32],
        action=record.action,
        status=record.status,
        http_status=record.http_status,
        resource_id=record.resource_id,
        external_id=(record.external_id or "")[:255],
        identity=(record.identity or "")[:255],
        scim_type=(record.scim_type or "")[:32],
        detail=record.detail or (NO_CHANGE_NEEDED if record.skipped else " ".join(record.warnings)),
        modified_properties=storable_json(
            [redacted_property(*change) for change in record.modified_properties], default=_json_default
        ),
        request_body=record.request_body,
        reference_failure=record.reference_failure and record.http_status >= 400,
    )


def _storable_record(record: EventRecord) -> EventRecord:
    """The record with every text field storable (lone surrogates, NUL escaped)."""
    texts = {}
    for name in _RECORD_FIELDS:
        value = getattr(record, name)
        if isinstance(value, str):
            text = storable_text(value)
            if text is not value:
                texts[name] = text
    # Nearly every record is storable as it is: no copy (a tenth of the flusher's CPU, issue 15).
    return dataclasses.replace(record, **texts) if texts else record


_RECORD_FIELDS = tuple(field.name for field in dataclasses.fields(EventRecord))


# Requests that could not be recorded (counted in the database; in this process while it refuses).
_uncounted_failures = 0


def recording_failed(*, connection, now: datetime | None = None) -> None:
    """Count a request whose event could not be written, on its connection's health row."""
    global _uncounted_failures
    now = now or timezone.now()
    try:
        with transaction.atomic():
            health_id = health_of(connection).pk
            ConnectionHealth.objects.filter(pk=health_id).update(
                recording_failures=F("recording_failures") + 1, last_recording_failure_at=now
            )
    except Exception:
        _uncounted_failures += 1
        logger.exception("Could not count the unrecorded event of connection %s either", connection.pk)


def recording_failures_total() -> int:
    """SCIM requests whose event could not be recorded: every process's (database) and this one's."""
    counted = ConnectionHealth.objects.aggregate(total=Sum("recording_failures"))["total"] or 0
    return counted + _uncounted_failures


# connection id → (cycle, when this process last counted an event in it). A cycle ends only after
# a quiet gap, so while this process's own last event is younger than the gap the cycle is
# certainly still running and needs no lookup.
_running_cycles: dict[int, tuple[ProvisioningCycle, datetime]] = {}


# The namespace of the advisory lock that orders an organization's events.
EVENT_ORDER_LOCK = 0x5741_4556
START_LOG_TRANSACTION = "SELECT set_config('synchronous_commit', 'off', true), pg_advisory_xact_lock(%s, %s)"


def _start_log_transaction(organization) -> None:
    """
    PostgreSQL, in one statement:

    - This transaction's COMMIT does not wait for the WAL flush (SET LOCAL synchronous_commit TO
      OFF). The SCIM answer is already decided, so waiting buys nothing; a database crash can lose
      the last fraction of a second of event rows and counters, never corrupt them. A health
      transition or an outbox row turns it back on (commit_durably): what is promised to someone
      is never lost.
    - One organization's events are recorded one at a time from here to COMMIT, so an event's id
      (taken from the sequence at INSERT) is never visible before every smaller id of that
      organization is. The audit API's cursor is a keyset on the id: without the lock, an event
      that took id 100 could commit just after a SIEM had read 101, and the SIEM would never see
      it. Events of one connection already queue on their cycle's row; this extends that to the
      organization. SQLite takes its write lock at BEGIN (transaction_mode IMMEDIATE): the same.
    """
    if database.vendor == "postgresql":
        with database.cursor() as cursor:
            cursor.execute(START_LOG_TRANSACTION, [EVENT_ORDER_LOCK, organization.pk % 2**31])


def _still_running(known: dict, record: EventRecord, now: datetime) -> ProvisioningCycle | None:
    """The connection's cycle from `known` (connection id → (cycle, its last event here)) while
    that last event is younger than the quiet gap: the cycle cannot have ended, no lookup needed."""
    entry = known.get(record.connection.pk)
    if entry is not None and timedelta(0) <= now - entry[1] <= cycle_gap():
        return entry[0]
    return None


def _current_cycle(record: EventRecord, now: datetime) -> ProvisioningCycle:
    cached = _still_running(_running_cycles, record, now)
    if cached is not None:
        return cached
    # Cached only once the transaction committed (event_record): a cycle this transaction just
    # opened does not exist for a concurrent request (another thread) until then.
    return _current_cycle_from_database(record, now)


def forget_running_cycles() -> None:
    """Drop this process's caches (tests that move the clock or roll the database back call it)."""
    _running_cycles.clear()
    forget_health_ids()


def _current_cycle_from_database(record: EventRecord, now: datetime) -> ProvisioningCycle:
    latest = _latest_cycle(record.connection)
    if latest is not None and now - latest.last_event_at <= cycle_gap():
        return latest
    # Starting a cycle: lock the connection so concurrent first requests start only one. FOR NO
    # KEY UPDATE, not FOR UPDATE: the other requests' event rows take FOR KEY SHARE on the
    # connection when they commit (Django's foreign keys are deferred), which FOR UPDATE waits
    # for — while this transaction goes on to wait for their cycle and health rows: a deadlock.
    ProvisioningConnection.objects.select_for_update(no_key=True).filter(pk=record.connection.pk).first()
    latest = _latest_cycle(record.connection)
    if latest is not None and now - latest.last_event_at <= cycle_gap():
        return latest
    first = latest is None
    return ProvisioningCycle.objects.create(
        organization=record.organization,
        connection=record.connection,
        kind=CycleKind.INITIAL if first else CycleKind.INCREMENTAL,
        started_at=now,
        last_event_at=now,
        expected_objects=None if first else managed_object_count(record.organization),
    )


def _latest_cycle(connection) -> ProvisioningCycle | None:
    return ProvisioningCycle.objects.filter(connection=connection).order_by("-started_at").first()


def managed_object_count(organization) -> int:
    """The accounts and groups an organization has: what a full (initial) cycle walks through."""
    return (
        live_accounts(organization=organization).count()
        + WorkGroup.objects.filter(organization=organization).count()
    )


def _count(cycle: ProvisioningCycle, record: EventRecord, now: datetime) -> None:
    _count_batch([(record, now)], [cycle])


def _detect_restart(cycle: ProvisioningCycle) -> None:
    if cycle.kind == CycleKind.INCREMENTAL and cycle.expected_objects:
        # After "Restart provisioning" Entra looks every object up again: a cycle that looks up
        # at least half of what the connection manages is an initial cycle.
        threshold = max(cycle.expected_objects // 2, settings.PROVISIONING_RESTART_MIN_LOOKUPS)
        _RESTARTED.execute(pk=cycle.pk, threshold=threshold)


_RESTARTED = Statement(
    lambda pk, threshold: ProvisioningCycle.objects.filter(
        pk=pk, kind=CycleKind.INCREMENTAL, count_lookup__gte=threshold
    ),
    update=lambda **_: {"kind": CycleKind.INITIAL},
    pk=ProvisioningCycle._meta.pk,
    threshold=ProvisioningCycle._meta.get_field("count_lookup"),
)


def _json_default(value):
    if dataclasses.is_dataclass(value):
        return {key: item for key, item in dataclasses.asdict(value).items() if item not in (None, "")}
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=str)
    return str(value)


# Reading cycles -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CycleProgress:
    handled: int
    expected: int | None
    running: bool

    @property
    def estimating(self) -> bool:
        return self.expected is None

    @property
    def percent(self) -> int | None:
        if self.expected is None:
            return None
        if self.expected == 0:
            return 99 if self.running else 100
        done = self.handled * 100 // self.expected
        # A running cycle is never "100 %": objects created since it began may still come.
        return min(done, 99) if self.running else 100


def cycle_is_running(cycle: ProvisioningCycle, now: datetime | None = None) -> bool:
    now = now or timezone.now()
    return now - cycle.last_event_at <= cycle_gap()


def cycle_ended_at(cycle: ProvisioningCycle, now: datetime | None = None) -> datetime | None:
    return None if cycle_is_running(cycle, now) else cycle.last_event_at


def cycle_progress(cycle: ProvisioningCycle, now: datetime | None = None) -> CycleProgress:
    handled = CycleObject.objects.filter(cycle=cycle).count()
    return CycleProgress(
        handled=handled, expected=cycle.expected_objects, running=cycle_is_running(cycle, now)
    )
