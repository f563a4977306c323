"""GET /api/v1/cycles/ and /api/v1/connections/: kind, times, counts and progress; health; scope."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from accounts.connections.services import connection_get_or_create
from accounts.models import OrganizationRole
from provisioning_logs.health import health_of
from provisioning_logs.models import (
    CycleKind,
    OutboxMessage,
    OutboxStatus,
    StagedDeprovisioning,
)
from tests.provisioning_logs.api.conftest import ids
from tests.provisioning_logs.cycle_support import make_cycle


pytestmark = pytest.mark.django_db
STARTED = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


@pytest.fixture
def completed(connection):
    return make_cycle(
        connection,
        started_at=STARTED,
        last_event_at=STARTED + timedelta(minutes=42, seconds=7),
        kind=CycleKind.INITIAL,
        count_create=40,
        count_lookup=40,
        count_success=79,
        count_failure=1,
        handled=40,
    )


@pytest.fixture
def running(connection, completed):
    now = timezone.now()
    return make_cycle(
        connection,
        started_at=now - timedelta(minutes=3),
        last_event_at=now - timedelta(seconds=5),
        expected_objects=8,
        handled=2,
        count_update=3,
        count_success=3,
    )


# Cycles ---------------------------------------------------------------------------------------


def test_a_completed_cycle(api, completed, connection):
    body = api.get(f"/cycles/{completed.pk}/").body

    assert body == {
        "id": completed.pk,
        "url": f"http://testserver/api/v1/cycles/{completed.pk}/",
        "organization": "contoso",
        "connection": {"id": connection.pk, "name": connection.name},
        "kind": "initial",
        "running": False,
        "started_at": "2026-11-20T08:00:00Z",
        "last_event_at": "2026-11-20T08:42:07Z",
        "ended_at": "2026-11-20T08:42:07Z",
        "duration_seconds": 2527,
        "counts": {
            "actions": {
                "Create": 40,
                "Update": 0,
                "Disable": 0,
                "Enable": 0,
                "Delete": 0,
                "Lookup": 40,
                "Other": 0,
            },
            "statuses": {"Success": 79, "Failure": 1, "Skipped": 0},
            "total": 80,
        },
        "progress": None,
        "estimate": None,
    }


def test_a_running_cycle_has_the_dashboards_progress(api, running):
    body = api.get(f"/cycles/{running.pk}/").body

    assert (body["running"], body["ended_at"], body["kind"]) == (True, None, "incremental")
    assert body["progress"] == {"handled": 2, "expected": 8, "percent": 25, "estimating": False}
    assert body["estimate"]["bar_text"] == "2 changed"
    assert body["estimate"]["percent"] is None


def test_cycles_are_listed_newest_first(api, running, completed):
    assert ids(api.get("/cycles/").body["results"]) == [running.pk, completed.pk]


def test_cycles_oldest_first(api, running, completed):
    assert ids(api.get("/cycles/", {"order": "oldest"}).body["results"]) == [completed.pk, running.pk]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"kind": "initial"}, ["completed"]),
        ({"kind": "incremental"}, ["running"]),
        ({"since": "2026-11-21T00:00:00Z"}, ["running"]),
        ({"until": "2026-11-21T00:00:00Z"}, ["completed"]),
    ],
)
def test_cycle_filters(api, running, completed, params, expected):
    cycles = {"running": running.pk, "completed": completed.pk}

    assert ids(api.get("/cycles/", params).body["results"]) == [cycles[name] for name in expected]


def test_cycles_by_connection(api, completed, organization):
    staging = connection_get_or_create(organization=organization, name="Entra staging")
    theirs = make_cycle(staging, started_at=STARTED, last_event_at=STARTED)

    assert ids(api.get("/cycles/", {"connection": staging.pk}).body["results"]) == [theirs.pk]


def test_a_bad_cycle_filter_is_400(api):
    response = api.get("/cycles/", {"kind": "full", "since": "now"})

    assert response.status_code == 400
    assert sorted(response.body) == ["kind", "since"]


def test_another_organizations_cycle_is_404(api, other_organization):
    theirs = make_cycle(
        connection_get_or_create(organization=other_organization), started_at=STARTED, last_event_at=STARTED
    )

    assert api.get(f"/cycles/{theirs.pk}/").status_code == 404
    assert api.get("/cycles/").body["results"] == []


# Connections ----------------------------------------------------------------------------------


def test_a_healthy_connection_with_its_cycles_and_seven_days(api, connection, running, completed):
    body = api.get(f"/connections/{connection.pk}/").body

    assert {key: body[key] for key in ("id", "name", "organization", "organization_name", "enabled")} == {
        "id": connection.pk,
        "name": connection.name,
        "organization": "contoso",
        "organization_name": "Contoso",
        "enabled": True,
    }
    assert body["health"] == {
        "state": "healthy",
        "reason": "",
        "reason_label": "",
        "since": None,
        "next_retry": None,
        "held_deprovisionings": 0,
        "outbox": {"pending": 0, "failing": 0},
        "summary": "Healthy",
        "label": "Healthy",
        "detail": "",
    }
    assert (body["current_cycle"]["id"], body["last_completed_cycle"]["id"]) == (running.pk, completed.pk)
    assert body["current_cycle"] == api.get(f"/cycles/{running.pk}/").body
    assert len(body["daily"]) == 7
    assert body["daily"][-1] == {"day": timezone.localdate().isoformat(), "successes": 3, "failures": 0}


def test_a_quarantined_connection_says_why_since_when_and_the_next_retry(
    api, connection, organization, make_account
):
    health = health_of(connection)
    health.state, health.reason = "quarantined", "invalid_credentials"
    began = timezone.now().replace(second=0, microsecond=0) - timedelta(hours=1)
    health.current_began = began
    health.save()
    account = make_account("carol@contoso.com", organization=organization, role=OrganizationRole.MEMBER)
    StagedDeprovisioning.objects.create(connection=connection, account=account, action="Disable")
    for status in (OutboxStatus.PENDING, OutboxStatus.PENDING, OutboxStatus.FAILING, OutboxStatus.SENT):
        OutboxMessage.objects.create(
            organization=organization,
            connection=connection,
            kind="quarantine",
            subject="s",
            text_body="t",
            html_body="h",
            status=status,
        )

    body = api.get(f"/connections/{connection.pk}/").body

    assert {
        key: body["health"][key] for key in ("state", "reason", "reason_label", "since", "next_retry")
    } == {
        "state": "quarantined",
        "reason": "invalid_credentials",
        "reason_label": "Invalid credentials",
        "since": began.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "next_retry": (began + timedelta(hours=6)).strftime("%Y-%m-%dT%H:%M:%SZ"),  # Entra's first retry
    }
    assert (body["health"]["held_deprovisionings"], body["health"]["outbox"]) == (
        1,
        {"pending": 2, "failing": 1},
    )
    assert body["health"]["summary"] == (
        f"Quarantined: Invalid credentials (since {began:%Y-%m-%d %H:%M} UTC; next retry expected "
        f"{began + timedelta(hours=6):%Y-%m-%d %H:%M} UTC) · 1 disable(s)/delete(s) held for approval"
    )


def test_connections_are_listed_by_id_with_only_the_organizations_own(
    api, connection, organization, other_organization
):
    staging = connection_get_or_create(organization=organization, name="Entra staging")
    connection_get_or_create(organization=other_organization)

    assert ids(api.get("/connections/").body["results"]) == [connection.pk, staging.pk]


def test_another_organizations_connection_is_404(api, other_organization):
    theirs = connection_get_or_create(organization=other_organization)

    response = api.get(f"/connections/{theirs.pk}/")

    assert response.status_code == 404


def test_connections_take_no_filters(api, connection):
    response = api.get("/connections/", {"enabled": "true"})

    assert (response.status_code, response.body) == (400, {"enabled": ["Unknown parameter."]})
