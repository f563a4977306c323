"""
The provisioning log written in batches (provisioning_logs.batching, issue 15): a batch leaves
exactly the rows, counters, health and transitions that writing its events one by one leaves,
whatever the mix (failures that quarantine, the success that ends it, 429s, lookups that turn a
cycle into a restart, a quiet gap inside a batch, two connections and two organizations
interleaved); a bad row loses only itself; a full queue makes the request write its own event;
shutdown writes what is queued. Through a real gunicorn: test_batching_server.py.
"""

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.db import OperationalError

from accounts.attributes import AccountAttributes
from accounts.connections.services import connection_get_or_create
from accounts.services import account_create, organization_create
from provisioning_logs import batching
from provisioning_logs.batching import EventBatcher, event_submit
from provisioning_logs.models import (
    Action,
    ConnectionHealth,
    CycleObject,
    HealthTransition,
    OutboxMessage,
    ProvisioningCycle,
    ProvisioningEvent,
)
from provisioning_logs.services import EventRecord, event_record, events_record, forget_running_cycles


pytestmark = pytest.mark.django_db(transaction=True)
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
GROUP_ID = "0f1e2d3c-4b5a-4968-8776-000000000001"


@pytest.fixture
def organizations(db):
    return organization_create(slug="contoso", name="Contoso"), organization_create(
        slug="fabrikam", name="Fabrikam"
    )


def _connection(organization, name):
    return connection_get_or_create(organization=organization, name=name)


def lookup(connection, name, found=False):
    return dict(
        method="GET",
        path=f'/scim/v2/Users?filter=userName+eq+"{name}"',
        http_status=200,
        resource_type="User",
        action=Action.LOOKUP,
        identity=name,
        skipped=not found,
    )


def create(connection, name):
    return dict(
        method="POST",
        path="/scim/v2/Users",
        http_status=201,
        resource_type="User",
        action=Action.CREATE,
        identity=name,
    )


def conflict(connection, name):
    return dict(
        method="POST",
        path="/scim/v2/Users",
        http_status=409,
        resource_type="User",
        action=Action.CREATE,
        identity=name,
        scim_type="uniqueness",
        detail="userName is taken",
    )


def refused_token(connection, name=""):
    return dict(method="GET", path="/scim/v2/Users", http_status=401, detail="The bearer token is not valid.")


def unknown_endpoint(connection, name=""):
    return dict(method="GET", path="/scim/v2/Userz", http_status=404)


def throttled(connection, name=""):
    return dict(
        method="GET", path="/scim/v2/Users", http_status=429, resource_type="User", action=Action.LOOKUP
    )


def unknown_member(connection, name=""):
    return dict(
        method="PATCH",
        path=f"/scim/v2/Groups/{GROUP_ID}",
        http_status=400,
        resource_type="Group",
        action=Action.UPDATE,
        scim_type="invalidValue",
        detail="No work account has the id in members.",
        reference_failure=True,
    )


def _records(connection, steps, start=T0):
    """(EventRecord, answered at) for each (kind, name, seconds after start)."""
    return [
        (
            EventRecord(
                organization=connection.organization, connection=connection, **kind(connection, name)
            ),
            start + timedelta(seconds=offset),
        )
        for kind, name, offset in steps
    ]


def snapshot(connection) -> dict:
    """Everything the log, the dashboard and quarantine show of one connection."""
    cycles = list(ProvisioningCycle.objects.filter(connection=connection).order_by("started_at"))
    cycle_index = {cycle.pk: index for index, cycle in enumerate(cycles)}
    health = ConnectionHealth.objects.filter(connection=connection).values().first() or {}
    if not HealthTransition.objects.filter(connection=connection).exists():
        health.pop("window_started_at", None)  # when the row was made (the clock), not an event's time
    return {
        "events": [
            {**event, "cycle_id": cycle_index[event["cycle_id"]]}
            for event in ProvisioningEvent.objects.filter(connection=connection)
            .order_by("id")
            .values(
                "cycle_id",
                "created_at",
                "method",
                "path",
                "http_status",
                "status",
                "action",
                "resource_type",
                "identity",
                "scim_type",
                "detail",
                "reference_failure",
            )
        ],
        "cycles": [
            {
                name: getattr(cycle, name)
                for name in (
                    "kind",
                    "started_at",
                    "last_event_at",
                    "expected_objects",
                    "count_create",
                    "count_update",
                    "count_disable",
                    "count_enable",
                    "count_delete",
                    "count_lookup",
                    "count_other",
                    "count_success",
                    "count_failure",
                    "count_skipped",
                )
            }
            | {
                "objects": sorted(
                    CycleObject.objects.filter(cycle=cycle).values_list("object_key", flat=True)
                )
            }
            for cycle in cycles
        ],
        "health": {name: value for name, value in health.items() if name not in ("id", "connection_id")},
        "transitions": list(
            HealthTransition.objects.filter(connection=connection)
            .order_by("at", "id")
            .values("at", "from_state", "to_state", "reason", "cause")
        ),
        "notifications": OutboxMessage.objects.filter(organization=connection.organization).count(),
    }


def one_by_one_and_batched(organization, steps, *, batch_size=None):
    """The snapshot of `steps` written event by event, and in batches, on two fresh connections."""
    alone = _connection(organization, "one by one")
    for record, now in _records(alone, steps):
        assert event_record(record, now=now) is not None
    expected = snapshot(alone)
    OutboxMessage.objects.all().delete()
    forget_running_cycles()
    batched = _connection(organization, "batched")
    items = _records(batched, steps)
    size = batch_size or len(items)
    written = sum(events_record(items[start : start + size]) for start in range(0, len(items), size))
    assert written == len(items)
    return expected, snapshot(batched)


EVERYDAY = [
    (lookup, "ada@contoso.com", 0),
    (create, "ada@contoso.com", 1),
    (lookup, "bob@contoso.com", 2),
    (create, "bob@contoso.com", 3),
    (conflict, "bob@contoso.com", 4),
    (lookup, "bob@contoso.com", 5),
    (throttled, "", 6),
    (unknown_member, "", 7),
    (lookup, "cy@contoso.com", 8),
]


def test_a_batch_of_everyday_requests_leaves_what_writing_them_one_by_one_leaves(organizations):
    expected, batched = one_by_one_and_batched(organizations[0], EVERYDAY)

    assert batched == expected
    cycle = batched["cycles"][0]
    assert (cycle["count_success"], cycle["count_skipped"], cycle["count_failure"]) == (2, 4, 3)
    assert (batched["health"]["window_successes"], batched["health"]["window_failures"]) == (6, 1)
    assert batched["health"]["window_reference_failures"] == 1


def test_credential_failures_quarantine_and_the_next_success_recovers_as_one_by_one(organizations, settings):
    settings.QUARANTINE_CREDENTIAL_FAILURES = 3
    steps = [
        (lookup, "ada@contoso.com", 0),
        (refused_token, "", 1),
        (refused_token, "", 2),
        (throttled, "", 3),  # a 429 neither breaks nor extends the run
        (refused_token, "", 4),
        (refused_token, "", 5),
        (lookup, "ada@contoso.com", 6),
        (lookup, "bob@contoso.com", 7),
        (create, "bob@contoso.com", 8),
    ]

    expected, batched = one_by_one_and_batched(organizations[0], steps)

    assert batched == expected
    assert [(t["from_state"], t["to_state"]) for t in batched["transitions"]] == [
        ("healthy", "quarantined"),
        ("quarantined", "healthy"),
    ]
    assert batched["health"]["window_successes"] == 2  # the recovery restarted the window


def test_compliance_failures_quarantine_within_one_batch_as_one_by_one(organizations, settings):
    settings.QUARANTINE_COMPLIANCE_FAILURES = 3
    steps = [(unknown_endpoint, "", second) for second in range(4)] + [(lookup, "ada@contoso.com", 5)]

    expected, batched = one_by_one_and_batched(organizations[0], steps)

    assert batched == expected
    assert batched["transitions"][0]["reason"] == "scim_compliance"


def test_a_quiet_gap_inside_a_batch_starts_an_incremental_cycle_that_becomes_a_restart(
    organizations, settings
):
    settings.PROVISIONING_CYCLE_GAP_SECONDS = 60
    settings.PROVISIONING_RESTART_MIN_LOOKUPS = 2
    for name in ("ada", "bob", "cy", "dee"):  # what the incremental cycle expects to walk through
        account_create(
            organization=organizations[0], attributes=AccountAttributes(user_name=f"{name}@contoso.com")
        )
    gap = 61
    steps = [
        (lookup, "ada@contoso.com", 0),
        (create, "ada@contoso.com", 1),
        (lookup, "ada@contoso.com", 1 + gap),
        (lookup, "bob@contoso.com", 2 + gap),
        (lookup, "cy@contoso.com", 3 + gap),
    ]

    expected, batched = one_by_one_and_batched(organizations[0], steps)

    assert batched == expected
    assert [cycle["kind"] for cycle in batched["cycles"]] == ["initial", "initial"]
    assert [cycle["count_lookup"] for cycle in batched["cycles"]] == [1, 3]


def test_batches_of_two_leave_what_one_batch_leaves(organizations, settings):
    settings.QUARANTINE_CREDENTIAL_FAILURES = 2
    steps = EVERYDAY + [(refused_token, "", 10), (refused_token, "", 11), (lookup, "dee@contoso.com", 12)]

    expected, batched = one_by_one_and_batched(organizations[0], steps, batch_size=2)

    assert batched == expected


def test_two_connections_of_two_organizations_interleaved_in_one_batch_are_each_counted_alone(organizations):
    contoso, fabrikam = organizations
    first, second = _connection(contoso, "first"), _connection(fabrikam, "second")
    mixed = []
    for a, b in zip(_records(first, EVERYDAY), _records(second, EVERYDAY[:5]) + [None] * 4, strict=True):
        mixed += [a] + ([b] if b else [])

    assert events_record(mixed) == len(EVERYDAY) + 5

    for connection, events in ((first, len(EVERYDAY)), (second, 5)):
        state = snapshot(connection)
        assert len(state["events"]) == events
        assert (
            sum(
                cycle["count_success"] + cycle["count_failure"] + cycle["count_skipped"]
                for cycle in state["cycles"]
            )
            == events
        )
    assert ProvisioningEvent.objects.filter(organization=fabrikam, connection=first).count() == 0


def test_a_batch_with_an_unwritable_event_writes_the_others_and_counts_the_loss(organizations):
    connection = _connection(organizations[0], "entra")
    items = _records(connection, EVERYDAY[:3])
    bad = EventRecord(
        organization=connection.organization, connection=connection, method="GET", path="/", http_status=200
    )
    bad.resource_id = "not a uuid"  # the INSERT fails on it
    items.insert(1, (bad, T0))

    written = events_record(items)

    assert written == 3
    assert ProvisioningEvent.objects.filter(connection=connection).count() == 3
    assert ConnectionHealth.objects.get(connection=connection).recording_failures == 1


def _written(connection) -> int:
    try:
        return ProvisioningEvent.objects.filter(connection=connection).count()
    except OperationalError:  # the test's in-memory SQLite locks a table while the flusher writes it
        return 0


def test_the_flusher_writes_submitted_events_without_being_asked(organizations):
    connection = _connection(organizations[0], "entra")
    batcher = EventBatcher(max_queued=100, max_batch=10)
    for record, _ in _records(connection, EVERYDAY):
        batcher.submit(record)

    deadline = time.monotonic() + 10
    while _written(connection) < len(EVERYDAY):
        assert time.monotonic() < deadline, "the flusher did not write the queued events"
        time.sleep(0.02)
    batcher.close()

    assert ProvisioningEvent.objects.filter(connection=connection).count() == len(EVERYDAY)


def test_events_submitted_by_many_threads_are_each_written_once(organizations):
    connection = _connection(organizations[0], "entra")
    batcher = EventBatcher(max_queued=10_000, max_batch=50)
    threads = [
        threading.Thread(
            target=lambda n=n: [
                batcher.submit(
                    EventRecord(
                        **{
                            "organization": connection.organization,
                            "connection": connection,
                            **lookup(connection, f"u{n}-{i}"),
                        }
                    )
                )
                for i in range(25)
            ]
        )
        for n in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    batcher.close()

    cycle = ProvisioningCycle.objects.get(connection=connection)
    assert ProvisioningEvent.objects.filter(connection=connection).count() == 200
    assert (cycle.count_lookup, cycle.count_skipped) == (200, 200)
    assert CycleObject.objects.filter(cycle=cycle).count() == 200
    assert ConnectionHealth.objects.get(connection=connection).window_successes == 200
    ids = list(
        ProvisioningEvent.objects.filter(connection=connection)
        .order_by("id")
        .values_list("created_at", flat=True)
    )
    assert ids == sorted(ids)  # ids follow the answers' times


def test_close_writes_what_is_still_queued(organizations):
    connection = _connection(organizations[0], "entra")
    batcher = EventBatcher(max_queued=100, max_batch=10, linger_seconds=60)  # the flusher would wait a minute
    for record, _ in _records(connection, EVERYDAY):
        batcher.submit(record)
    assert ProvisioningEvent.objects.filter(connection=connection).count() == 0

    batcher.close()

    assert ProvisioningEvent.objects.filter(connection=connection).count() == len(EVERYDAY)


def test_after_close_a_request_writes_its_own_event(organizations):
    connection = _connection(organizations[0], "entra")
    batcher = EventBatcher(max_queued=100, max_batch=10)
    batcher.close()

    batcher.submit(_records(connection, EVERYDAY[:1])[0][0])

    assert ProvisioningEvent.objects.filter(connection=connection).count() == 1
    assert batcher.queued == 0


def test_a_full_queue_makes_the_request_write_its_own_event(organizations):
    connection = _connection(organizations[0], "entra")
    batcher = EventBatcher(max_queued=2, max_batch=10, linger_seconds=60)
    records = [record for record, _ in _records(connection, EVERYDAY[:3])]
    for record in records:
        batcher.submit(record)

    assert batcher.queued == 2
    assert ProvisioningEvent.objects.filter(connection=connection).count() == 1  # the third, at once
    batcher.close()
    assert ProvisioningEvent.objects.filter(connection=connection).count() == 3


def test_event_submit_queues_when_batched_and_writes_at_once_when_not(organizations, settings):
    connection = _connection(organizations[0], "entra")
    record = _records(connection, EVERYDAY[:1])[0][0]
    settings.PROVISIONING_LOG_BATCHED = False
    event_submit(record)
    assert ProvisioningEvent.objects.filter(connection=connection).count() == 1

    settings.PROVISIONING_LOG_BATCHED = True
    settings.PROVISIONING_LOG_LINGER_MS = 60_000
    batching._batcher = None  # a batcher with this test's settings
    try:
        event_submit(record)
        assert ProvisioningEvent.objects.filter(connection=connection).count() == 1
        batching.flush_at_exit()
    finally:
        batching._batcher = None
    assert ProvisioningEvent.objects.filter(connection=connection).count() == 2


def _metric(sample_name: str) -> float:
    from prometheus_client import REGISTRY

    return REGISTRY.get_sample_value(sample_name) or 0.0


def test_each_batch_is_measured_by_its_events_and_its_time(organizations):
    connection = _connection(organizations[0], "entra")
    batches = _metric("provisioning_log_batch_events_count")
    events = _metric("provisioning_log_batch_events_sum")
    timed = _metric("provisioning_log_batch_duration_seconds_count")
    batcher = EventBatcher(max_queued=100, max_batch=5, linger_seconds=60)
    for record, _ in _records(connection, EVERYDAY):
        batcher.submit(record)

    batcher.flush()

    assert _metric("provisioning_log_batch_events_count") - batches == 2  # 5 + 4
    assert _metric("provisioning_log_batch_events_sum") - events == len(EVERYDAY)
    assert _metric("provisioning_log_batch_duration_seconds_count") - timed == 2
    batcher.close()


def test_an_event_the_request_writes_itself_is_counted(organizations):
    connection = _connection(organizations[0], "entra")
    unqueued = _metric("provisioning_log_unqueued_total")
    batcher = EventBatcher(max_queued=1, max_batch=5, linger_seconds=60)
    for record, _ in _records(connection, EVERYDAY[:3]):
        batcher.submit(record)

    assert _metric("provisioning_log_unqueued_total") - unqueued == 2
    batcher.close()
