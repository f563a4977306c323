"""
Retention: events older than PROVISIONING_LOG_RETENTION_DAYS are deleted in small batches, then the
cycles that ended before the cut-off with their object lists; a Celery beat task runs it.
"""

from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings as django_settings
from django.db import connection as database
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.connections.services import connection_get_or_create
from provisioning_logs.models import Action, CycleObject, ProvisioningCycle, ProvisioningEvent
from provisioning_logs.retention import events_delete_expired
from provisioning_logs.services import EventRecord, event_record
from provisioning_logs.tasks import delete_expired_events


pytestmark = pytest.mark.django_db

NOW = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)
RETENTION = timedelta(days=30)  # PROVISIONING_LOG_RETENTION_DAYS in config/settings/base.py
EVENT_TABLE = ProvisioningEvent._meta.db_table
CYCLE_TABLE = ProvisioningCycle._meta.db_table
OBJECT_TABLE = CycleObject._meta.db_table


@pytest.fixture
def connection(organization):
    return connection_get_or_create(organization=organization)


def record(connection, at: datetime, identity: str = "alice@contoso.com") -> ProvisioningEvent:
    event = event_record(
        EventRecord(
            organization=connection.organization,
            connection=connection,
            method="GET",
            path="/scim/v2/Users",
            http_status=200,
            resource_type="User",
            action=Action.LOOKUP,
            identity=identity,
        ),
        now=at,
    )
    assert event is not None
    return event


def deletes_from(captured, table: str) -> int:
    return sum(
        1
        for query in captured.captured_queries
        if query["sql"].upper().startswith("DELETE") and f'"{table}"' in query["sql"].split(" WHERE ")[0]
    )


def test_events_older_than_the_retention_period_are_deleted(connection):
    old = record(connection, NOW - RETENTION - DAY)
    result = events_delete_expired(now=NOW)
    assert not ProvisioningEvent.objects.filter(pk=old.pk).exists()
    assert result["events"] == 1


def test_events_within_the_retention_period_are_kept(connection):
    old = record(connection, NOW - RETENTION - timedelta(seconds=1))
    kept = [record(connection, NOW - RETENTION + timedelta(seconds=1)), record(connection, NOW - DAY)]
    events_delete_expired(now=NOW)
    assert set(ProvisioningEvent.objects.values_list("pk", flat=True)) == {event.pk for event in kept}
    assert not ProvisioningEvent.objects.filter(pk=old.pk).exists()


def test_retention_follows_the_setting(connection, settings):
    settings.PROVISIONING_LOG_RETENTION_DAYS = 7
    week_old = record(connection, NOW - 8 * DAY)
    kept = record(connection, NOW - 6 * DAY)
    assert events_delete_expired(now=NOW)["events"] == 1
    assert list(ProvisioningEvent.objects.values_list("pk", flat=True)) == [kept.pk]
    assert not ProvisioningEvent.objects.filter(pk=week_old.pk).exists()


def test_events_of_every_organization_expire(connection, other_organization):
    other = connection_get_or_create(organization=other_organization)
    record(connection, NOW - RETENTION - DAY)
    record(other, NOW - RETENTION - DAY)
    assert events_delete_expired(now=NOW)["events"] == 2
    assert not ProvisioningEvent.objects.exists()


def test_events_are_deleted_in_batches(connection):
    # Seven old events five minutes apart (one cycle), one recent one.
    for hour in range(7):
        record(connection, NOW - RETENTION - DAY + timedelta(minutes=5 * hour), identity=f"u{hour}")
    recent = record(connection, NOW - DAY)
    with CaptureQueriesContext(database) as captured:
        result = events_delete_expired(now=NOW, batch_size=3)
    assert result["events"] == 7
    assert deletes_from(captured, EVENT_TABLE) == 3  # 3 + 3 + 1
    assert list(ProvisioningEvent.objects.values_list("pk", flat=True)) == [recent.pk]


def test_batch_size_defaults_to_the_setting(connection, settings):
    settings.PROVISIONING_LOG_DELETE_BATCH = 2
    for minute in range(5):
        record(connection, NOW - RETENTION - DAY + timedelta(minutes=minute), identity=f"u{minute}")
    with CaptureQueriesContext(database) as captured:
        assert events_delete_expired(now=NOW)["events"] == 5
    assert deletes_from(captured, EVENT_TABLE) == 3  # 2 + 2 + 1


def test_oldest_events_go_first(connection):
    oldest = record(connection, NOW - RETENTION - 3 * DAY, identity="a")
    record(connection, NOW - RETENTION - 2 * DAY, identity="b")
    record(connection, NOW - RETENTION - DAY, identity="c")
    with CaptureQueriesContext(database) as captured:
        events_delete_expired(now=NOW, batch_size=1)
    first_delete = next(q["sql"] for q in captured.captured_queries if q["sql"].upper().startswith("DELETE"))
    assert str(oldest.pk) in first_delete


def test_cycles_past_retention_are_deleted_with_their_objects(connection):
    old = record(connection, NOW - RETENTION - 2 * DAY, identity="alice@contoso.com").cycle
    record(connection, NOW - RETENTION - 2 * DAY + timedelta(minutes=1), identity="bob@contoso.com")
    recent = record(connection, NOW - DAY, identity="alice@contoso.com").cycle
    assert CycleObject.objects.filter(cycle=old).count() == 2
    result = events_delete_expired(now=NOW)
    assert result == {"events": 2, "cycles": 1, "cycle_objects": 2}
    assert list(ProvisioningCycle.objects.all()) == [recent]
    assert list(CycleObject.objects.values_list("cycle", "object_key")) == [
        (recent.pk, "User:alice@contoso.com")
    ]


def test_cycle_still_running_at_the_cutoff_is_kept_with_its_recent_events(connection):
    # Started before the cut-off, last event after it: the cycle stays, its old events go.
    start = NOW - RETENTION - timedelta(minutes=5)
    old = record(connection, start, identity="alice@contoso.com")
    recent = record(connection, start + timedelta(minutes=9), identity="bob@contoso.com")
    assert old.cycle == recent.cycle
    result = events_delete_expired(now=NOW)
    assert result == {"events": 1, "cycles": 0, "cycle_objects": 0}
    assert list(ProvisioningEvent.objects.all()) == [recent]
    assert ProvisioningCycle.objects.get().pk == recent.cycle_id
    assert CycleObject.objects.count() == 2


def test_cycles_and_their_objects_are_deleted_in_batches(connection):
    # Five old cycles, a day apart, each with two objects.
    for day in range(5, 0, -1):
        at = NOW - RETENTION - (day + 1) * DAY
        record(connection, at, identity="alice@contoso.com")
        record(connection, at + timedelta(minutes=1), identity="bob@contoso.com")
    assert ProvisioningCycle.objects.count() == 5
    with CaptureQueriesContext(database) as captured:
        result = events_delete_expired(now=NOW, batch_size=4)
    assert result == {"events": 10, "cycles": 5, "cycle_objects": 10}
    assert deletes_from(captured, EVENT_TABLE) == 3  # 4 + 4 + 2
    assert deletes_from(captured, CYCLE_TABLE) == 2  # 4 + 1
    assert not ProvisioningCycle.objects.exists()
    assert not CycleObject.objects.exists()


def test_nothing_to_delete_deletes_nothing(connection):
    record(connection, NOW - DAY)
    with CaptureQueriesContext(database) as captured:
        assert events_delete_expired(now=NOW) == {"events": 0, "cycles": 0, "cycle_objects": 0}
    assert not any(query["sql"].upper().startswith("DELETE") for query in captured.captured_queries)
    assert ProvisioningEvent.objects.count() == 1


def test_deletion_uses_the_current_time_by_default(connection):
    old = record(connection, timezone.now() - RETENTION - DAY)
    recent = record(connection, timezone.now() - DAY)
    assert events_delete_expired()["events"] == 1
    assert list(ProvisioningEvent.objects.values_list("pk", flat=True)) == [recent.pk]
    assert old.cycle_id != recent.cycle_id


# The Celery task ----------------------------------------------------------------------------------


def test_task_deletes_expired_events_and_returns_the_counts(connection):
    record(connection, timezone.now() - RETENTION - DAY)
    record(connection, timezone.now() - DAY)
    result = delete_expired_events.apply()
    assert result.successful()
    assert result.get() == {"events": 1, "cycles": 1, "cycle_objects": 1}
    assert ProvisioningEvent.objects.count() == 1


def test_task_runs_through_delay_in_eager_mode(connection, settings):
    from config.celery import app

    record(connection, timezone.now() - RETENTION - DAY)
    app.conf.task_always_eager = True
    try:
        result = delete_expired_events.delay()
    finally:
        app.conf.task_always_eager = django_settings.CELERY_TASK_ALWAYS_EAGER
    assert result.get() == {"events": 1, "cycles": 1, "cycle_objects": 1}
    assert not ProvisioningEvent.objects.exists()


def test_task_is_registered_under_its_name():
    from config.celery import app

    assert delete_expired_events.name == "provisioning_logs.delete_expired_events"
    assert app.tasks["provisioning_logs.delete_expired_events"].run is delete_expired_events.run


def test_beat_schedule_runs_the_task():
    schedules = [entry["task"] for entry in django_settings.CELERY_BEAT_SCHEDULE.values()]
    assert "provisioning_logs.delete_expired_events" in schedules
    (entry,) = [
        entry
        for entry in django_settings.CELERY_BEAT_SCHEDULE.values()
        if entry["task"] == "provisioning_logs.delete_expired_events"
    ]
    # At least daily, so nothing stays much longer than the retention period.
    assert 0 < entry["schedule"] <= 24 * 3600
