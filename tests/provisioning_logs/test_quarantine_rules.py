"""
Entra's quarantine rules (entra-scim.md §3) as the portal applies them to a connection: the escrow
thresholds with the doc's worked examples, credential and SCIM-compliance quarantine through real
SCIM requests, reason changes, the retry schedule and the 28-day disable, an admin's clear, and
the outbox row every transition writes in its own transaction.

Timing tests pass `now=` explicitly to the health services (and to event_record, which hands it to
health_observe): they never consult the wall clock then, so "six hours later" or "28 days later"
is an argument, not a sleep, and no clock-patching library is needed.
"""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import transaction

from accounts.connections.models import ProvisioningConnection
from accounts.models import OrganizationRole
from provisioning_logs.health import (
    Thresholds,
    escrow_verdict,
    health_clear,
    health_tick,
    next_attempt,
)
from provisioning_logs.models import (
    Action,
    ConnectionHealth,
    HealthState,
    HealthTransition,
    OutboxMessage,
    QuarantineReason,
)
from provisioning_logs.services import EventRecord, event_record
from tests.conftest import entra_user


pytestmark = pytest.mark.django_db

# Entra's published numbers (the site-wide defaults).
ENTRA = Thresholds(min_failures=5000, failure_percent=40, failure_limit=40000, absolute_limit=60000)
UNKNOWN_ID = "5171a35d-8207-4e06-8ce2-000000000000"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def connection(scim_connection) -> ProvisioningConnection:
    return scim_connection


def health(connection) -> ConnectionHealth:
    return ConnectionHealth.objects.get(connection=connection)


def small_thresholds(connection, **overrides) -> ConnectionHealth:
    values = {"min_failures": 5, "failure_percent": 40, **overrides}
    row, _ = ConnectionHealth.objects.update_or_create(
        connection=connection, defaults={"organization_id": connection.organization_id, **values}
    )
    return row


def transitions(connection) -> list[tuple[str, str, str]]:
    return [
        (t.from_state, t.to_state, t.reason)
        for t in HealthTransition.objects.filter(connection=connection).order_by("at", "id")
    ]


def outbox_kinds(connection) -> list[str]:
    return list(
        OutboxMessage.objects.filter(connection=connection).order_by("id").values_list("kind", flat=True)
    )


def record(connection, http_status: int, now, *, resource_type: str = "User", path: str = "/scim/v2/Users"):
    """One request as the SCIM layer records it, at a chosen time."""
    event = event_record(
        EventRecord(
            organization=connection.organization,
            connection=connection,
            method="GET",
            path=path,
            http_status=http_status,
            resource_type=resource_type,
            action=Action.LOOKUP,
        ),
        now=now,
    )
    assert event is not None


def refused_three_times(connection, now) -> None:
    for second in range(3):
        record(connection, 401, now + timedelta(seconds=second), resource_type="")


# Escrow thresholds: the doc's worked examples -----------------------------------------------------


@pytest.mark.parametrize(
    ("failures", "reference_failures", "successes", "expected"),
    [
        pytest.param(45_000, 0, 0, QuarantineReason.TOO_MANY_FAILURES, id="45000-failures-over-40000"),
        pytest.param(30_000, 0, 5_000, QuarantineReason.TOO_MANY_FAILURES, id="30000-of-35000-over-40pct"),
        pytest.param(20_000, 0, 100_000, None, id="20000-against-100000-successes"),
        pytest.param(40_000, 21_000, 0, QuarantineReason.FAILURE_LIMIT, id="40000-plus-21000-managers"),
    ],
)
def test_escrow_verdict_follows_entras_worked_examples(failures, reference_failures, successes, expected):
    verdict = escrow_verdict(
        failures=failures, reference_failures=reference_failures, successes=successes, thresholds=ENTRA
    )
    assert verdict == expected


def test_escrow_verdict_never_quarantines_below_5000_failures():
    assert escrow_verdict(failures=4_999, reference_failures=0, successes=0, thresholds=ENTRA) is None


def test_escrow_verdict_quarantines_at_5000_failures_when_over_40_percent():
    assert (
        escrow_verdict(failures=5_000, reference_failures=0, successes=0, thresholds=ENTRA)
        == QuarantineReason.TOO_MANY_FAILURES
    )


def test_escrow_verdict_40_percent_is_strictly_more_than():
    # 5,000 of 12,500 is exactly 40 %: not more than 40 %.
    assert escrow_verdict(failures=5_000, reference_failures=0, successes=7_500, thresholds=ENTRA) is None
    assert (
        escrow_verdict(failures=5_000, reference_failures=0, successes=7_499, thresholds=ENTRA)
        == QuarantineReason.TOO_MANY_FAILURES
    )


def test_escrow_verdict_40000_failures_is_strictly_more_than():
    assert escrow_verdict(failures=40_000, reference_failures=0, successes=100_000, thresholds=ENTRA) is None
    assert (
        escrow_verdict(failures=40_001, reference_failures=0, successes=100_000, thresholds=ENTRA)
        == QuarantineReason.TOO_MANY_FAILURES
    )


def test_reference_failures_do_not_count_toward_the_5000_minimum():
    verdict = escrow_verdict(failures=4_000, reference_failures=30_000, successes=1_000, thresholds=ENTRA)
    assert verdict is None


def test_reference_failures_do_not_count_toward_the_40_percent():
    # 6,000 of 16,000 events is 37.5 %; counting the 30,000 reference failures would make it 78 %.
    verdict = escrow_verdict(failures=6_000, reference_failures=30_000, successes=10_000, thresholds=ENTRA)
    assert verdict is None


def test_reference_failures_do_not_count_toward_the_40000_failures():
    verdict = escrow_verdict(failures=30_000, reference_failures=25_000, successes=100_000, thresholds=ENTRA)
    assert verdict is None


def test_reference_failures_count_toward_the_absolute_limit():
    verdict = escrow_verdict(failures=1_000, reference_failures=59_001, successes=100_000, thresholds=ENTRA)
    assert verdict == QuarantineReason.FAILURE_LIMIT


# Smaller thresholds per connection, through real SCIM requests -----------------------------------


def test_small_thresholds_quarantine_after_five_failing_creates(scim, connection, create_user):
    create_user("alice@contoso.com")  # one success
    small_thresholds(connection)
    for _attempt in range(4):
        assert scim.post("/Users", entra_user("alice@contoso.com")).status_code == 409
    assert health(connection).state == HealthState.HEALTHY  # 4 failures: below min_failures

    assert scim.post("/Users", entra_user("alice@contoso.com")).status_code == 409

    row = health(connection)
    assert (row.state, row.reason) == (HealthState.QUARANTINED, QuarantineReason.TOO_MANY_FAILURES)
    assert (row.window_failures, row.window_successes) == (5, 1)
    transition = HealthTransition.objects.get(connection=connection)
    assert transition.cause.startswith("5 failures and 0 reference failures against 1 successes since ")


def test_small_thresholds_quarantine_ends_with_the_next_success(scim, connection, create_user):
    user = create_user("alice@contoso.com")
    small_thresholds(connection)
    for _attempt in range(5):
        scim.post("/Users", entra_user("alice@contoso.com"))
    assert health(connection).state == HealthState.QUARANTINED

    assert scim.get(f"/Users/{user['id']}").status_code == 200

    row = health(connection)
    assert (row.state, row.reason, row.current_began) == (HealthState.HEALTHY, "", None)
    assert (row.window_failures, row.window_successes) == (0, 0)
    assert transitions(connection) == [
        (HealthState.HEALTHY, HealthState.QUARANTINED, QuarantineReason.TOO_MANY_FAILURES),
        (HealthState.QUARANTINED, HealthState.HEALTHY, ""),
    ]
    ended = HealthTransition.objects.filter(connection=connection, to_state=HealthState.HEALTHY).get()
    assert ended.cause == f"A request succeeded again (GET /scim/v2/Users/{user['id']}, HTTP 200)."


# Invalid credentials, through real SCIM requests ----------------------------------------------------


def test_revoked_token_used_three_times_in_a_row_quarantines_for_invalid_credentials(
    settings, connection, revoked
):
    assert settings.QUARANTINE_CREDENTIAL_FAILURES == 3
    for _attempt in range(3):
        assert revoked.get("/Users").status_code == 401

    row = health(connection)
    assert (row.state, row.reason) == (HealthState.QUARANTINED, QuarantineReason.INVALID_CREDENTIALS)
    assert row.consecutive_credential_failures == 3
    assert row.current_began is not None
    assert (row.series_count, row.series_began) == (1, row.current_began)
    transition = HealthTransition.objects.get(connection=connection)
    assert (transition.from_state, transition.to_state, transition.reason, transition.actor) == (
        HealthState.HEALTHY,
        HealthState.QUARANTINED,
        QuarantineReason.INVALID_CREDENTIALS,
        None,
    )
    assert transition.cause == (
        "3 requests in a row were refused with HTTP 401: the credential Entra uses is expired, "
        "revoked or unknown."
    )


def test_fewer_refused_requests_than_the_setting_leave_the_connection_healthy(connection, revoked):
    for _attempt in range(2):
        assert revoked.get("/Users").status_code == 401

    row = health(connection)
    assert (row.state, row.consecutive_credential_failures) == (HealthState.HEALTHY, 2)
    assert not HealthTransition.objects.filter(connection=connection).exists()


def test_a_success_between_refused_requests_restarts_the_run(scim, connection, revoked):
    revoked.get("/Users")
    revoked.get("/Users")
    assert scim.get("/Users").status_code == 200
    revoked.get("/Users")
    revoked.get("/Users")

    row = health(connection)
    assert (row.state, row.consecutive_credential_failures) == (HealthState.HEALTHY, 2)
    assert not HealthTransition.objects.filter(connection=connection).exists()


def test_the_credential_setting_is_honoured(settings, connection, revoked):
    settings.QUARANTINE_CREDENTIAL_FAILURES = 5
    for _attempt in range(4):
        revoked.get("/Users")
    assert health(connection).state == HealthState.HEALTHY
    revoked.get("/Users")
    assert health(connection).reason == QuarantineReason.INVALID_CREDENTIALS


# SCIM compliance ----------------------------------------------------------------------------------


def test_three_requests_to_an_unknown_endpoint_quarantine_for_scim_compliance(scim, connection):
    for _attempt in range(3):
        assert scim.get("/scim/v2/Userz").status_code == 404

    row = health(connection)
    assert (row.state, row.reason) == (HealthState.QUARANTINED, QuarantineReason.SCIM_COMPLIANCE)
    transition = HealthTransition.objects.get(connection=connection)
    assert transition.cause == (
        "3 requests in a row asked for an endpoint that does not exist (last: GET /scim/v2/Userz): "
        "check the Tenant URL."
    )


def test_two_requests_to_an_unknown_endpoint_do_not_quarantine(scim, connection):
    for _attempt in range(2):
        scim.get("/scim/v2/Userz")
    row = health(connection)
    assert (row.state, row.consecutive_compliance_failures) == (HealthState.HEALTHY, 2)


def test_a_404_for_an_unknown_user_id_is_not_a_compliance_failure(scim, connection):
    for _attempt in range(3):
        assert scim.get(f"/Users/{UNKNOWN_ID}").status_code == 404

    row = health(connection)
    assert (row.state, row.consecutive_compliance_failures, row.window_failures) == (
        HealthState.HEALTHY,
        0,
        3,
    )


def test_a_404_for_an_unknown_user_id_breaks_a_run_of_unknown_endpoints(scim, connection):
    scim.get("/scim/v2/Userz")
    scim.get("/scim/v2/Userz")
    scim.get(f"/Users/{UNKNOWN_ID}")
    scim.get("/scim/v2/Userz")

    row = health(connection)
    assert (row.state, row.consecutive_compliance_failures) == (HealthState.HEALTHY, 1)


# Reason change ------------------------------------------------------------------------------------


def test_quarantine_reason_changes_from_credentials_to_too_many_failures(
    scim, connection, revoked, create_user, notified
):
    create_user("alice@contoso.com")
    small_thresholds(connection)
    for _attempt in range(3):
        revoked.get("/Users")
    assert health(connection).reason == QuarantineReason.INVALID_CREDENTIALS

    # The credential is fixed (the valid token is used again), but the requests fail: 3 refused +
    # 2 duplicate creates = 5 failures against 1 success.
    assert scim.post("/Users", entra_user("alice@contoso.com")).status_code == 409
    assert health(connection).reason == QuarantineReason.INVALID_CREDENTIALS  # 4 failures: below 5
    assert scim.post("/Users", entra_user("alice@contoso.com")).status_code == 409

    row = health(connection)
    assert (row.state, row.reason) == (HealthState.QUARANTINED, QuarantineReason.TOO_MANY_FAILURES)
    assert transitions(connection) == [
        (HealthState.HEALTHY, HealthState.QUARANTINED, QuarantineReason.INVALID_CREDENTIALS),
        (HealthState.QUARANTINED, HealthState.QUARANTINED, QuarantineReason.TOO_MANY_FAILURES),
    ]
    assert outbox_kinds(connection) == ["quarantine_entered", "quarantine_reason_changed"]


def test_the_same_reason_again_is_not_a_new_transition(connection, revoked, notified):
    for _attempt in range(6):
        revoked.get("/Users")
    assert len(transitions(connection)) == 1
    assert outbox_kinds(connection) == ["quarantine_entered"]


# Escalation timing (controlled clock: every call gets now=) ---------------------------------------


def test_next_attempt_follows_the_retry_schedule(connection):
    refused_three_times(connection, T0)
    row = health(connection)
    began = row.current_began
    assert began == T0 + timedelta(seconds=2)

    assert next_attempt(row, now=began) == began + timedelta(hours=6)
    assert next_attempt(row, now=began + timedelta(hours=5, minutes=59)) == began + timedelta(hours=6)
    assert next_attempt(row, now=began + timedelta(hours=6)) == began + timedelta(hours=12)
    assert next_attempt(row, now=began + timedelta(hours=12)) == began + timedelta(hours=24)
    assert next_attempt(row, now=began + timedelta(hours=24)) == began + timedelta(hours=48)
    assert next_attempt(row, now=began + timedelta(hours=47)) == began + timedelta(hours=48)
    assert next_attempt(row, now=began + timedelta(days=2)) == began + timedelta(days=3)
    assert next_attempt(row, now=began + timedelta(days=26, hours=1)) == began + timedelta(days=27)
    assert next_attempt(row, now=began + timedelta(days=27, hours=1)) == began + timedelta(days=28)


def test_next_attempt_is_none_when_healthy(connection):
    record(connection, 200, T0)
    assert next_attempt(health(connection), now=T0) is None


def test_series_count_grows_when_quarantine_returns_within_24_hours_of_recovery(connection):
    refused_three_times(connection, T0)
    first = health(connection)
    record(connection, 200, T0 + timedelta(hours=1))  # recovered
    refused_three_times(connection, T0 + timedelta(hours=24, minutes=59))  # 23 h 59 min later

    row = health(connection)
    assert row.state == HealthState.QUARANTINED
    assert row.series_count == 2
    assert row.series_began == first.current_began
    assert row.current_began == T0 + timedelta(hours=24, minutes=59, seconds=2)


def test_series_count_restarts_when_quarantine_returns_24_hours_after_recovery(connection):
    refused_three_times(connection, T0)
    record(connection, 200, T0 + timedelta(hours=1))
    refused_three_times(connection, T0 + timedelta(hours=25))

    row = health(connection)
    assert row.series_count == 1
    assert row.series_began == row.current_began == T0 + timedelta(hours=25, seconds=2)


def test_health_tick_disables_after_28_days_of_quarantine(connection, notified):
    refused_three_times(connection, T0)
    began = health(connection).current_began

    assert health_tick(now=began + timedelta(days=28, seconds=1))["disabled"] == 1

    row = health(connection)
    assert (row.state, row.reason) == (HealthState.DISABLED, QuarantineReason.INVALID_CREDENTIALS)
    disabled = HealthTransition.objects.filter(connection=connection).order_by("id").last()
    assert (disabled.from_state, disabled.to_state, disabled.at) == (
        HealthState.QUARANTINED,
        HealthState.DISABLED,
        began + timedelta(days=28, seconds=1),
    )
    assert disabled.cause == "In quarantine for more than 28 days: Entra stops provisioning (job disabled)."
    assert outbox_kinds(connection) == ["quarantine_entered", "connection_disabled"]


def test_health_tick_does_not_disable_before_28_days(connection, notified):
    refused_three_times(connection, T0)
    began = health(connection).current_began

    assert health_tick(now=began + timedelta(days=28) - timedelta(seconds=1))["disabled"] == 0

    assert health(connection).state == HealthState.QUARANTINED
    assert outbox_kinds(connection) == ["quarantine_entered"]


def test_health_tick_disables_only_once(connection, notified):
    refused_three_times(connection, T0)
    began = health(connection).current_began
    health_tick(now=began + timedelta(days=28, seconds=1))
    assert health_tick(now=began + timedelta(days=29))["disabled"] == 0
    assert outbox_kinds(connection) == ["quarantine_entered", "connection_disabled"]


def test_a_disabled_connection_is_healthy_again_after_a_success(connection, notified):
    refused_three_times(connection, T0)
    health_tick(now=T0 + timedelta(days=29))
    record(connection, 200, T0 + timedelta(days=30))

    assert health(connection).state == HealthState.HEALTHY
    assert outbox_kinds(connection) == ["quarantine_entered", "connection_disabled", "quarantine_ended"]


# Clearing by an admin -----------------------------------------------------------------------------


def test_health_clear_ends_the_quarantine_and_records_who(organization, connection, make_account, notified):
    admin = make_account("admin@contoso.com", organization=organization, role=OrganizationRole.ADMIN)
    refused_three_times(connection, T0)

    assert health_clear(connection=connection, actor=admin, now=T0 + timedelta(hours=2)) is True

    row = health(connection)
    assert (row.state, row.reason, row.current_began) == (HealthState.HEALTHY, "", None)
    assert (
        row.window_failures,
        row.window_reference_failures,
        row.window_successes,
        row.consecutive_credential_failures,
        row.consecutive_compliance_failures,
    ) == (0, 0, 0, 0, 0)
    assert row.window_started_at == T0 + timedelta(hours=2)
    cleared = HealthTransition.objects.filter(connection=connection).order_by("id").last()
    assert (cleared.from_state, cleared.to_state, cleared.actor, cleared.cause) == (
        HealthState.QUARANTINED,
        HealthState.HEALTHY,
        admin,
        "Cleared by admin@contoso.com.",
    )
    assert outbox_kinds(connection) == ["quarantine_entered", "quarantine_ended"]


def test_health_clear_with_nothing_to_clear_returns_false(organization, connection, make_account):
    admin = make_account("admin@contoso.com", organization=organization, role=OrganizationRole.ADMIN)

    assert health_clear(connection=connection, actor=admin) is False

    assert health(connection).state == HealthState.HEALTHY
    assert not HealthTransition.objects.filter(connection=connection).exists()
    assert not OutboxMessage.objects.exists()


# Every transition writes exactly one outbox row, in the same transaction ---------------------------


def test_every_transition_writes_exactly_one_outbox_row(
    organization, connection, make_account, notified, scim, create_user
):
    admin = make_account("admin@contoso.com", organization=organization, role=OrganizationRole.ADMIN)
    refused_three_times(connection, T0)  # entered
    health_tick(now=T0 + timedelta(days=29))  # disabled
    health_clear(connection=connection, actor=admin, now=T0 + timedelta(days=29, hours=1))  # ended
    for _attempt in range(3):
        scim.get("/scim/v2/Userz")  # entered (compliance)

    assert HealthTransition.objects.filter(connection=connection).count() == 4
    assert OutboxMessage.objects.filter(connection=connection).count() == 4
    assert outbox_kinds(connection) == [
        "quarantine_entered",
        "connection_disabled",
        "quarantine_ended",
        "quarantine_entered",
    ]
    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {"pending"}


def test_a_rolled_back_transition_leaves_no_outbox_row(organization, connection, make_account, notified):
    admin = make_account("admin@contoso.com", organization=organization, role=OrganizationRole.ADMIN)
    refused_three_times(connection, T0)

    with pytest.raises(RuntimeError), transaction.atomic():
        assert health_clear(connection=connection, actor=admin) is True
        assert OutboxMessage.objects.filter(kind="quarantine_ended").count() == 1
        raise RuntimeError("the surrounding transaction fails")

    assert health(connection).state == HealthState.QUARANTINED
    assert len(transitions(connection)) == 1
    assert outbox_kinds(connection) == ["quarantine_entered"]


def test_a_failing_outbox_write_rolls_the_transition_back(
    monkeypatch, organization, connection, make_account, notified
):
    admin = make_account("admin@contoso.com", organization=organization, role=OrganizationRole.ADMIN)
    refused_three_times(connection, T0)

    def broken(*args, **kwargs):
        raise RuntimeError("template missing")

    monkeypatch.setattr("provisioning_logs.notifications.render_to_string", broken)
    with pytest.raises(RuntimeError, match="template missing"):
        health_clear(connection=connection, actor=admin)

    assert health(connection).state == HealthState.QUARANTINED
    assert len(transitions(connection)) == 1
    assert outbox_kinds(connection) == ["quarantine_entered"]
