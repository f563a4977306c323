"""What the dashboard says about a running cycle (provisioning_logs.cycle_estimate): exact wording."""

from datetime import UTC, datetime, timedelta

import pytest

from accounts.connections.services import connection_get_or_create
from provisioning_logs.cycle_estimate import CycleFacts, cycle_estimate, describe, span_text
from provisioning_logs.models import CycleObject, ProvisioningCycle


T0 = datetime(2026, 12, 1, 15, 0, 0, tzinfo=UTC)
GAP = timedelta(minutes=10)


def facts(**overrides) -> CycleFacts:
    values = {
        "kind": "initial",
        "started_at": T0,
        "last_event_at": T0 + timedelta(minutes=10),
        "handled": 600,
        "lookups": 600,
        "writes": 580,
        "expected_at_start": None,
        "organization_objects": None,
        "previous_size": None,
        "gap": GAP,
    }
    return CycleFacts(**{**values, **overrides})


def test_an_initial_cycle_estimates_from_the_organizations_accounts_and_groups():
    estimate = describe(facts(organization_objects=1500), now=T0 + timedelta(minutes=10, seconds=5))

    assert (estimate.total, estimate.percent, estimate.per_minute) == (1500, 40, 60)
    assert estimate.bar_text == "about 40 %"
    assert estimate.detail_text == (
        "600 of about 1,500 objects (the organization's accounts and groups); about 60 a minute, about 15 "
        "min left."
    )
    assert estimate.state_text == "Initial cycle running since 2026-12-01 15:00:00 UTC"
    assert estimate.activity_text == "Receiving requests: the last one 5 s ago."


def test_an_initial_cycle_estimates_from_the_previous_full_cycle_when_it_was_larger():
    estimate = describe(facts(organization_objects=700, previous_size=2000), now=T0 + timedelta(minutes=10))

    assert (estimate.total, estimate.percent) == (2000, 30)
    assert estimate.detail_text == (
        "600 of about 2,000 objects (the size of the previous full cycle); about 60 a minute, about 23 min "
        "left."
    )


def test_a_first_cycle_with_nothing_to_go_by_says_how_many_so_far_and_how_fast():
    estimate = describe(facts(organization_objects=590), now=T0 + timedelta(minutes=10))

    assert (estimate.total, estimate.percent) == (None, None)
    assert estimate.bar_text == "600 so far"
    assert estimate.detail_text == (
        "600 objects so far, about 60 a minute; Entra does not say how many objects are in scope, "
        "so the total is known when this first cycle ends."
    )


def test_an_initial_cycle_that_only_looked_up_says_the_writes_follow():
    estimate = describe(
        facts(handled=40, lookups=40, writes=0, organization_objects=100), now=T0 + timedelta(minutes=10)
    )

    assert estimate.detail_text == (
        "40 of about 100 objects (the organization's accounts and groups); about 4 a minute, about 15 min "
        "left. "
        "Entra is still looking objects up; its writes follow."
    )


def test_an_incremental_cycle_gives_no_share_of_all_objects():
    estimate = describe(
        facts(kind="incremental", handled=400, expected_at_start=1505, previous_size=380),
        now=T0 + timedelta(minutes=10, seconds=3),
    )

    assert (estimate.total, estimate.percent) == (None, None)
    assert estimate.bar_text == "400 changed"
    assert estimate.detail_text == (
        "400 changed objects so far (only what changed in Entra since the last cycle; "
        "the previous cycle handled 380), about 40 a minute."
    )
    assert estimate.state_text == "Incremental cycle running since 2026-12-01 15:00:00 UTC"


def test_an_incremental_cycle_that_went_quiet_says_it_is_waiting_and_when_it_counts_as_finished():
    estimate = describe(
        facts(kind="incremental", handled=400, expected_at_start=1505, previous_size=380),
        now=T0 + timedelta(minutes=14),
    )

    assert (estimate.idle, estimate.quiet_seconds) == (True, 240)
    assert estimate.counted_finished_at == T0 + timedelta(minutes=20)
    assert estimate.bar_text == "waiting · 400 changed"
    assert estimate.activity_text == (
        "No requests for 4 min; counted as finished after 10 min of quiet (15:20:00 UTC) unless Entra "
        "sends more."
    )
    assert estimate.state_text == (
        "Incremental cycle waiting: no request since 15:10:00 UTC (started 2026-12-01 15:00:00 UTC)"
    )
    assert estimate.detail_text == (
        "400 changed objects so far (only what changed in Entra since the last cycle; the previous cycle "
        "handled 380)."
    )


def test_a_quiet_initial_cycle_keeps_its_estimate_but_gives_no_time_left():
    estimate = describe(facts(organization_objects=1500), now=T0 + timedelta(minutes=12))

    assert (estimate.idle, estimate.percent) == (True, 40)
    assert estimate.bar_text == "waiting · about 40 %"
    assert estimate.detail_text == "600 of about 1,500 objects (the organization's accounts and groups)."


def test_a_cycle_seconds_old_gives_no_rate_yet():
    estimate = describe(
        facts(handled=3, last_event_at=T0 + timedelta(seconds=10), organization_objects=10),
        now=T0 + timedelta(seconds=11),
    )

    assert estimate.per_minute is None
    assert estimate.detail_text == "3 of about 10 objects (the organization's accounts and groups)."


def test_a_cycle_gap_under_a_minute_is_said_in_seconds(settings):
    estimate = describe(facts(kind="incremental", gap=timedelta(seconds=90)), now=T0 + timedelta(minutes=11))

    assert estimate.activity_text == (
        "No requests for 1 min; counted as finished after 1 min of quiet (15:11:30 UTC) unless Entra sends "
        "more."
    )


def test_spans_read_as_a_person_says_them():
    assert [span_text(s) for s in (0, 59, 60, 599, 3600, 3900)] == [
        "0 s",
        "59 s",
        "1 min",
        "9 min",
        "1 h 00 min",
        "1 h 05 min",
    ]


@pytest.mark.django_db
def test_cycle_estimate_reads_the_previous_cycles_size_and_the_setting(organization, settings):
    connection = connection_get_or_create(organization=organization)
    settings.PROVISIONING_CYCLE_GAP_SECONDS = 300
    previous = ProvisioningCycle.objects.create(
        organization=organization,
        connection=connection,
        kind="incremental",
        started_at=T0 - timedelta(hours=1),
    )
    CycleObject.objects.bulk_create([CycleObject(cycle=previous, object_key=f"User:{n}") for n in range(7)])
    running = ProvisioningCycle.objects.create(
        organization=organization,
        connection=connection,
        kind="incremental",
        started_at=T0,
        last_event_at=T0 + timedelta(minutes=1),
        expected_objects=50,
    )

    estimate = cycle_estimate(running, handled=5, now=T0 + timedelta(minutes=3))

    assert estimate.detail_text == (
        "5 changed objects so far (only what changed in Entra since the last cycle; the previous cycle "
        "handled 7)."
    )
    assert estimate.activity_text == (
        "No requests for 2 min; counted as finished after 5 min of quiet (15:06:00 UTC) unless Entra sends "
        "more."
    )
