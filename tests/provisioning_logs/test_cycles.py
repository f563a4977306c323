"""
Provisioning cycles: consecutive requests of one connection with no quiet gap longer than
PROVISIONING_CYCLE_GAP_SECONDS; initial or incremental, with counts and progress.

The clock: event_record(..., now=...) takes the time of the event, so most tests place events at
chosen instants from T0 and need no real waiting. The process keeps a cache of running cycles
keyed on that same `now`, so it follows the chosen clock too. Tests that go through real SCIM
requests (which record at timezone.now()) end a cycle by moving its last_event_at into the past
and then call forget_running_cycles(): the cache trusts this process's own last event and would
otherwise still take the cycle as running.
"""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from accounts.attributes import GroupAttributes
from accounts.connections.services import connection_get_or_create
from accounts.services import account_delete, group_create
from provisioning_logs.models import Action, CycleObject, ProvisioningCycle, ProvisioningEvent
from provisioning_logs.services import (
    CycleProgress,
    EventRecord,
    cycle_ended_at,
    cycle_is_running,
    cycle_progress,
    event_record,
    forget_running_cycles,
    managed_object_count,
)
from tests.conftest import entra_user
from tests.scim.group_support import PATCH_OP, entra_group


pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
GAP = timedelta(seconds=600)  # PROVISIONING_CYCLE_GAP_SECONDS in config/settings/base.py
SECOND = timedelta(seconds=1)
TEST_GUID = "cf4d78e8-cc4f-4d5d-b8b9-183561c0104a"


@pytest.fixture
def connection(organization):
    return connection_get_or_create(organization=organization)


@pytest.fixture
def second_connection(organization):
    return connection_get_or_create(organization=organization, name="Entra test tenant")


def record(
    connection,
    at: datetime,
    *,
    action: str = Action.LOOKUP,
    http_status: int = 200,
    identity: str = "",
    resource_type: str = "User",
    resource_id=None,
    skipped: bool = False,
) -> ProvisioningEvent:
    event = event_record(
        EventRecord(
            organization=connection.organization,
            connection=connection,
            method="GET",
            path="/scim/v2/Users",
            http_status=http_status,
            resource_type=resource_type,
            action=action,
            skipped=skipped,
            resource_id=resource_id,
            identity=identity,
        ),
        now=at,
    )
    assert event is not None
    return event


def cycles_of(connection) -> list[ProvisioningCycle]:
    return list(ProvisioningCycle.objects.filter(connection=connection).order_by("started_at"))


def end_running_cycles() -> None:
    """Let a quiet gap pass for real SCIM requests (see the module docstring)."""
    ProvisioningCycle.objects.update(
        started_at=timezone.now() - 2 * GAP, last_event_at=timezone.now() - GAP - SECOND
    )
    forget_running_cycles()


def make_accounts(make_account, organization, count: int, prefix: str = "user") -> list:
    return [make_account(f"{prefix}{n}@contoso.com", organization=organization) for n in range(count)]


# Grouping requests into cycles --------------------------------------------------------------------


def test_consecutive_requests_of_a_connection_form_one_cycle(scim, organization):
    scim.get(f"/Users?filter=userName+eq+%22{TEST_GUID}%22")
    scim.post("/Users", entra_user("alice@contoso.com"))
    scim.get("/Groups?filter=displayName+eq+%22Engineering%22")
    (cycle,) = ProvisioningCycle.objects.all()
    events = list(ProvisioningEvent.objects.order_by("id"))
    assert len(events) == 3
    assert {event.cycle_id for event in events} == {cycle.pk}
    assert cycle.organization == organization
    assert cycle.started_at == events[0].created_at
    assert cycle.last_event_at == events[-1].created_at


def test_events_within_the_gap_of_the_last_one_continue_the_cycle(connection):
    # The gap is measured from the last event, not from the start: 27 minutes, one cycle.
    for minutes in (0, 9, 18, 27):
        record(connection, T0 + timedelta(minutes=minutes))
    (cycle,) = cycles_of(connection)
    assert (cycle.started_at, cycle.last_event_at) == (T0, T0 + timedelta(minutes=27))
    assert cycle.total_events == 4


def test_event_exactly_one_gap_later_continues_the_cycle(connection):
    record(connection, T0)
    record(connection, T0 + GAP)
    assert len(cycles_of(connection)) == 1


def test_quiet_gap_longer_than_the_setting_starts_a_new_cycle(connection):
    first = record(connection, T0)
    second = record(connection, T0 + GAP + SECOND)
    old, new = cycles_of(connection)
    assert (first.cycle, second.cycle) == (old, new)
    assert (new.started_at, new.last_event_at) == (T0 + GAP + SECOND, T0 + GAP + SECOND)
    assert (old.total_events, new.total_events) == (1, 1)


def test_gap_follows_the_setting(connection, settings):
    settings.PROVISIONING_CYCLE_GAP_SECONDS = 60
    record(connection, T0)
    record(connection, T0 + timedelta(seconds=60))
    record(connection, T0 + timedelta(seconds=121))
    assert [cycle.total_events for cycle in cycles_of(connection)] == [2, 1]


def test_quiet_gap_between_scim_requests_starts_a_new_cycle(scim):
    scim.get(f"/Users?filter=userName+eq+%22{TEST_GUID}%22")
    end_running_cycles()
    scim.get(f"/Users?filter=userName+eq+%22{TEST_GUID}%22")
    first, second = ProvisioningEvent.objects.order_by("id")
    assert first.cycle != second.cycle
    assert ProvisioningCycle.objects.count() == 2


def test_a_forgotten_cache_continues_the_stored_cycle(connection):
    # Another process (or a restarted one) finds the running cycle in the database.
    record(connection, T0)
    forget_running_cycles()
    record(connection, T0 + timedelta(minutes=5))
    (cycle,) = cycles_of(connection)
    assert cycle.total_events == 2
    assert cycle.last_event_at == T0 + timedelta(minutes=5)


def test_an_event_recorded_late_never_moves_the_cycle_end_back(connection):
    record(connection, T0 + timedelta(minutes=5))
    record(connection, T0 + timedelta(minutes=2))
    (cycle,) = cycles_of(connection)
    assert cycle.last_event_at == T0 + timedelta(minutes=5)
    assert cycle.total_events == 2


def test_two_connections_have_separate_cycles(connection, second_connection):
    record(connection, T0)
    record(second_connection, T0 + SECOND)
    record(connection, T0 + 2 * SECOND)
    (mine,) = cycles_of(connection)
    (theirs,) = cycles_of(second_connection)
    assert (mine.total_events, theirs.total_events) == (2, 1)
    assert set(ProvisioningEvent.objects.filter(connection=connection).values_list("cycle", flat=True)) == {
        mine.pk
    }


def test_connections_of_two_organizations_have_separate_cycles(
    scim, other_scim, organization, other_organization
):
    scim.get("/Users")
    other_scim.get("/Users")
    scim.get("/Users")
    mine = ProvisioningCycle.objects.get(organization=organization)
    theirs = ProvisioningCycle.objects.get(organization=other_organization)
    assert (mine.count_lookup, theirs.count_lookup) == (2, 1)


# Initial and incremental cycles -------------------------------------------------------------------


def test_first_cycle_of_a_connection_is_initial_and_estimating(connection, make_account, organization):
    make_accounts(make_account, organization, 3)
    record(connection, T0)
    (cycle,) = cycles_of(connection)
    assert cycle.kind == "initial"
    assert cycle.expected_objects is None
    progress = cycle_progress(cycle, now=T0)
    assert progress == CycleProgress(handled=0, expected=None, running=True)
    assert progress.estimating is True
    assert progress.percent is None


def test_later_cycle_is_incremental_expecting_live_accounts_and_groups(
    connection, make_account, organization, other_organization
):
    accounts = make_accounts(make_account, organization, 3)
    account_delete(organization=organization, account_id=accounts[0].pk)
    group_create(organization=organization, attributes=GroupAttributes(display_name="Engineering"))
    group_create(organization=organization, attributes=GroupAttributes(display_name="Sales"))
    make_account("someone@fabrikam.com", organization=other_organization)  # not this connection's
    record(connection, T0)
    record(connection, T0 + GAP + SECOND)
    _, later = cycles_of(connection)
    assert later.kind == "incremental"
    assert later.expected_objects == 2 + 2 == managed_object_count(organization)
    assert cycle_progress(later, now=T0 + GAP + SECOND).estimating is False


def test_expected_objects_are_counted_when_the_cycle_starts(connection, make_account, organization):
    make_accounts(make_account, organization, 2)
    record(connection, T0)
    record(connection, T0 + GAP + SECOND)
    make_accounts(make_account, organization, 3, prefix="late")
    record(connection, T0 + GAP + 2 * SECOND)
    _, later = cycles_of(connection)
    assert later.expected_objects == 2
    assert later.total_events == 2


def test_cycle_after_a_real_gap_between_scim_requests_is_incremental(scim, create_user):
    create_user("alice@contoso.com")
    create_user("bob@contoso.com")
    end_running_cycles()
    scim.get(f"/Users?filter=userName+eq+%22{TEST_GUID}%22")
    first, later = ProvisioningCycle.objects.order_by("started_at")
    assert (first.kind, first.expected_objects) == ("initial", None)
    assert (later.kind, later.expected_objects) == ("incremental", 2)


def lookups(connection, start: datetime, count: int) -> None:
    for n in range(count):
        record(connection, start + n * SECOND, identity=f"user{n}@contoso.com")


def test_later_cycle_looking_up_half_the_objects_becomes_initial(
    connection, make_account, organization, settings
):
    settings.PROVISIONING_RESTART_MIN_LOOKUPS = 2
    make_accounts(make_account, organization, 6)
    record(connection, T0)
    start = T0 + GAP + SECOND
    lookups(connection, start, 2)
    later = cycles_of(connection)[1]
    assert (later.kind, later.expected_objects, later.count_lookup) == ("incremental", 6, 2)
    lookups(connection, start + timedelta(seconds=10), 1)  # 3 of 6: half
    later.refresh_from_db()
    assert (later.kind, later.count_lookup) == ("initial", 3)


def test_restart_needs_at_least_the_minimum_of_lookups(connection, make_account, organization):
    # 4 objects, so half is 2, but PROVISIONING_RESTART_MIN_LOOKUPS is 10.
    make_accounts(make_account, organization, 4)
    record(connection, T0)
    start = T0 + GAP + SECOND
    lookups(connection, start, 9)
    later = cycles_of(connection)[1]
    assert (later.kind, later.count_lookup) == ("incremental", 9)
    lookups(connection, start + timedelta(seconds=30), 1)
    later.refresh_from_db()
    assert (later.kind, later.count_lookup) == ("initial", 10)


def test_only_lookups_count_toward_a_restart(connection, make_account, organization, settings):
    settings.PROVISIONING_RESTART_MIN_LOOKUPS = 2
    make_accounts(make_account, organization, 4)
    record(connection, T0)
    for n in range(6):
        record(connection, T0 + GAP + (n + 1) * SECOND, action=Action.CREATE, identity=f"new{n}@contoso.com")
    later = cycles_of(connection)[1]
    assert (later.kind, later.count_create) == ("incremental", 6)


def test_later_cycle_with_nothing_expected_is_never_a_restart(connection):
    # Nothing to look up again: lookups there are of new objects, not a restart.
    record(connection, T0)
    lookups(connection, T0 + GAP + SECOND, 12)
    later = cycles_of(connection)[1]
    assert (later.kind, later.expected_objects, later.count_lookup) == ("incremental", 0, 12)


def test_restart_promotion_holds_for_the_rest_of_the_cycle(connection, make_account, organization, settings):
    settings.PROVISIONING_RESTART_MIN_LOOKUPS = 2
    make_accounts(make_account, organization, 2)
    record(connection, T0)
    start = T0 + GAP + SECOND
    lookups(connection, start, 5)
    record(connection, start + timedelta(seconds=10), action=Action.CREATE, identity="new@contoso.com")
    later = cycles_of(connection)[1]
    assert (later.kind, later.count_lookup, later.count_create) == ("initial", 5, 1)


# Counts -------------------------------------------------------------------------------------------


def patch_user(scim, user_id: str, *operations):
    return scim.patch(f"/Users/{user_id}", {"schemas": [PATCH_OP], "Operations": list(operations)})


def test_cycle_counts_events_by_action_and_status(scim):
    scim.get(f"/Users?filter=userName+eq+%22{TEST_GUID}%22")
    scim.get("/Users?filter=userName+eq+%22alice@contoso.com%22")
    alice = scim.post("/Users", entra_user("alice@contoso.com")).body["id"]
    assert scim.post("/Users", entra_user("alice@contoso.com")).status_code == 409
    patch_user(scim, alice, {"op": "Replace", "path": "active", "value": "False"})
    patch_user(scim, alice, {"op": "Replace", "path": "active", "value": "True"})
    patch_user(scim, alice, {"op": "Replace", "path": "displayName", "value": "Alice"})
    patch_user(scim, alice, {"op": "Replace", "path": "displayName", "value": "Alice"})
    scim.get("/ServiceProviderConfig")
    scim.delete(f"/Users/{alice}")
    (cycle,) = ProvisioningCycle.objects.all()
    assert cycle.action_counts() == {
        "Create": 2,
        "Update": 1,
        "Disable": 1,
        "Enable": 1,
        "Delete": 1,
        "Lookup": 2,
        "Other": 2,
    }
    assert cycle.status_counts() == {"Success": 8, "Failure": 1, "Skipped": 1}
    assert cycle.total_events == 10 == ProvisioningEvent.objects.count()


def test_cycle_counts_failures_of_every_action(connection):
    record(connection, T0, action=Action.UPDATE, http_status=400)
    record(connection, T0 + SECOND, action=Action.DELETE, http_status=404)
    record(connection, T0 + 2 * SECOND, action=Action.OTHER, http_status=200, skipped=True)
    record(connection, T0 + 3 * SECOND, action=Action.OTHER, http_status=500, skipped=True)
    (cycle,) = cycles_of(connection)
    assert (cycle.count_update, cycle.count_delete, cycle.count_other) == (1, 1, 2)
    # A failed request is a failure even when it would otherwise have been skipped.
    assert cycle.status_counts() == {"Success": 0, "Failure": 3, "Skipped": 1}


# Objects handled ----------------------------------------------------------------------------------


def handled() -> int:
    (cycle,) = ProvisioningCycle.objects.all()
    return cycle_progress(cycle).handled


def test_lookup_then_create_of_one_user_counts_one_object(scim):
    # Entra matches on userName (entra-scim.md §1.5): the lookup knows only the name it looked
    # for, the create knows our id too. Both are the same object.
    scim.get("/Users?filter=userName+eq+%22alice@contoso.com%22")
    scim.post("/Users", entra_user("alice@contoso.com"))
    assert handled() == 1
    assert list(CycleObject.objects.values_list("object_key", flat=True)) == ["User:alice@contoso.com"]


def test_every_request_about_one_user_counts_one_object(scim):
    scim.get("/Users?filter=userName+eq+%22Alice@Contoso.com%22")
    alice = scim.post("/Users", entra_user("alice@contoso.com")).body["id"]
    scim.get(f"/Users/{alice}")
    patch_user(scim, alice, {"op": "Replace", "path": "displayName", "value": "Alice"})
    patch_user(scim, alice, {"op": "Replace", "path": "active", "value": "False"})
    scim.delete(f"/Users/{alice}")
    assert ProvisioningEvent.objects.count() == 6
    assert handled() == 1


def test_lookup_then_create_of_one_group_counts_one_object(scim):
    scim.get("/Groups?excludedAttributes=members&filter=displayName+eq+%22Engineering%22")
    group = scim.post("/Groups", entra_group("Engineering")).body["id"]
    scim.patch(
        f"/Groups/{group}",
        {"schemas": [PATCH_OP], "Operations": [{"op": "Add", "path": "members", "value": []}]},
    )
    assert handled() == 1
    assert list(CycleObject.objects.values_list("object_key", flat=True)) == ["Group:engineering"]


def test_distinct_objects_are_counted_once_each(scim):
    for user_name in ("alice@contoso.com", "bob@contoso.com"):
        scim.get(f"/Users?filter=userName+eq+%22{user_name}%22")
        scim.post("/Users", entra_user(user_name))
    scim.get("/Groups?filter=displayName+eq+%22alice@contoso.com%22")  # a group of that name
    assert handled() == 3


def test_requests_naming_no_object_count_none(scim):
    scim.get("/ServiceProviderConfig")
    scim.get("/Schemas")
    scim.get("/Users")
    assert handled() == 0


def test_request_for_an_unknown_id_counts_that_id(scim):
    unknown = "5171a35d-8207-4e06-8ce2-000000000000"
    scim.delete(f"/Users/{unknown}")
    scim.delete(f"/Users/{unknown}")
    assert list(CycleObject.objects.values_list("object_key", flat=True)) == [f"User:{unknown}"]


def test_objects_are_counted_per_cycle(connection):
    record(connection, T0, identity="alice@contoso.com")
    record(connection, T0 + GAP + SECOND, identity="alice@contoso.com")
    record(connection, T0 + GAP + 2 * SECOND, identity="bob@contoso.com")
    first, later = cycles_of(connection)
    assert (cycle_progress(first).handled, cycle_progress(later).handled) == (1, 2)


# Progress -----------------------------------------------------------------------------------------


def test_progress_percent_of_a_running_cycle():
    assert CycleProgress(handled=1, expected=4, running=True).percent == 25
    assert CycleProgress(handled=2, expected=3, running=True).percent == 66


def test_progress_percent_of_a_running_cycle_is_capped_at_99():
    # Objects created since the cycle began may still come.
    assert CycleProgress(handled=4, expected=4, running=True).percent == 99
    assert CycleProgress(handled=9, expected=4, running=True).percent == 99


def test_progress_percent_of_a_finished_cycle_is_100():
    assert CycleProgress(handled=1, expected=4, running=False).percent == 100
    assert CycleProgress(handled=9, expected=4, running=False).percent == 100


def test_progress_percent_with_nothing_expected():
    assert CycleProgress(handled=0, expected=0, running=True).percent == 99
    assert CycleProgress(handled=3, expected=0, running=True).percent == 99
    assert CycleProgress(handled=0, expected=0, running=False).percent == 100


def test_progress_percent_while_estimating_is_none():
    progress = CycleProgress(handled=7, expected=None, running=False)
    assert (progress.estimating, progress.percent) == (True, None)


def test_cycle_progress_reads_handled_objects_and_running_state(connection, make_account, organization):
    make_accounts(make_account, organization, 4)
    record(connection, T0)
    start = T0 + GAP + SECOND
    record(connection, start, identity="user0@contoso.com")
    record(connection, start + SECOND, identity="user1@contoso.com")
    later = cycles_of(connection)[1]
    assert cycle_progress(later, now=start + SECOND) == CycleProgress(handled=2, expected=4, running=True)
    assert cycle_progress(later, now=start + SECOND).percent == 50
    finished = cycle_progress(later, now=start + SECOND + GAP + SECOND)
    assert (finished.running, finished.percent) == (False, 100)


def test_cycle_is_running_until_a_gap_after_its_last_event(connection):
    record(connection, T0)
    record(connection, T0 + timedelta(minutes=3))
    (cycle,) = cycles_of(connection)
    last = T0 + timedelta(minutes=3)
    assert cycle_is_running(cycle, now=last) is True
    assert cycle_is_running(cycle, now=last + GAP) is True
    assert cycle_is_running(cycle, now=last + GAP + SECOND) is False


def test_cycle_ended_at_is_its_last_event_once_it_stopped(connection):
    record(connection, T0)
    record(connection, T0 + timedelta(minutes=3))
    (cycle,) = cycles_of(connection)
    last = T0 + timedelta(minutes=3)
    assert cycle_ended_at(cycle, now=last + GAP) is None
    assert cycle_ended_at(cycle, now=last + GAP + SECOND) == last


def test_cycle_of_real_requests_is_running_now(scim):
    scim.get("/Users")
    (cycle,) = ProvisioningCycle.objects.all()
    assert cycle_is_running(cycle) is True
    assert cycle_ended_at(cycle) is None
