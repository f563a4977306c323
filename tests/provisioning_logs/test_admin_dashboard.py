"""The provisioning dashboard: a panel per connection with the running cycle's progress and counts,
the last completed cycle, the connection's health and a 7-day chart. Its numbers are the audit
API's (/api/v1/connections/), which the page polls with the user's session."""

import re
from datetime import UTC, date, datetime, timedelta
from html import unescape

import pytest
from django.db import connection as db_connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.connections.services import DEFAULT_CONNECTION_NAME, connection_get_or_create
from accounts.models import OrganizationRole, WorkAccount
from provisioning_logs.models import CycleKind
from provisioning_logs.selectors import DayOutcome, connection_dashboard, daily_outcomes
from tests.conftest import PORTAL_PASSWORD
from tests.provisioning_logs.cycle_support import make_cycle


pytestmark = pytest.mark.django_db

DASHBOARD_URL = "/admin/provisioning_logs/provisioningevent/dashboard/"
DATA_URL = "/api/v1/connections/"


@pytest.fixture
def connection(organization):
    return connection_get_or_create(organization=organization)


def panels(client) -> list[dict]:
    response = client.get(DATA_URL)
    assert response.status_code == 200
    return response.json()["results"]


def page_of(client, **params) -> str:
    response = client.get(DASHBOARD_URL, params)
    assert response.status_code == 200
    return response.content.decode()


def text_of(html: str, element_id: str) -> str:
    return unescape(re.search(rf'id="{element_id}"[^>]*>([^<]*)<', html).group(1))


def test_dashboard_data_reports_a_running_cycles_percent_and_counts(admin_browser, connection):
    now = timezone.now()
    make_cycle(
        connection,
        started_at=now - timedelta(minutes=3),
        last_event_at=now - timedelta(seconds=5),
        kind=CycleKind.INCREMENTAL,
        expected_objects=8,
        handled=2,
        count_update=3,
        count_disable=1,
        count_success=3,
        count_failure=1,
    )

    (panel,) = panels(admin_browser)
    current = panel["current_cycle"]

    assert current["progress"] == {"percent": 25, "estimating": False, "handled": 2, "expected": 8}
    assert current["counts"]["actions"] == {
        "Create": 0,
        "Update": 3,
        "Disable": 1,
        "Enable": 0,
        "Delete": 0,
        "Lookup": 0,
        "Other": 0,
    }
    assert current["counts"]["statuses"] == {"Success": 3, "Failure": 1, "Skipped": 0}
    assert text_of(page_of(admin_browser), f"current-cycle-state-{connection.pk}") == (
        f"Incremental cycle running since {now - timedelta(minutes=3):%Y-%m-%d %H:%M:%S} UTC"
    )


def test_dashboard_data_says_estimating_for_a_first_cycle(admin_browser, create_user):
    create_user("alice@contoso.com")

    (panel,) = panels(admin_browser)
    current = panel["current_cycle"]

    assert (current["kind"], current["progress"]["estimating"], current["progress"]["percent"]) == (
        "initial",
        True,
        None,
    )
    counts = current["counts"]
    assert (counts["actions"]["Create"], counts["statuses"]["Success"], counts["total"]) == (1, 1, 1)
    html = page_of(admin_browser)
    # The organization's other account (the admin signed in here) makes a total of 2 to expect.
    assert text_of(html, f"cycle-progress-text-{panel['id']}") == "about 50 %"
    assert text_of(html, f"cycle-handled-{panel['id']}") == (
        "1 of about 2 objects (the organization's accounts and groups)."
    )


def test_dashboard_data_reports_the_last_completed_cycle(admin_browser, connection):
    started = datetime(2026, 11, 20, 8, 0, 0, tzinfo=UTC)
    make_cycle(
        connection,
        started_at=started,
        last_event_at=started + timedelta(minutes=42, seconds=7),
        kind=CycleKind.INITIAL,
        count_create=40,
        count_lookup=40,
        count_success=79,
        count_failure=1,
    )

    (panel,) = panels(admin_browser)

    assert panel["current_cycle"] is None
    last = panel["last_completed_cycle"]
    assert {key: last[key] for key in ("kind", "running", "started_at", "ended_at", "duration_seconds")} == {
        "kind": "initial",
        "running": False,
        "started_at": "2026-11-20T08:00:00Z",
        "ended_at": "2026-11-20T08:42:07Z",
        "duration_seconds": 2527,
    }
    counts = last["counts"]
    assert (
        counts["actions"]["Create"],
        counts["actions"]["Lookup"],
        counts["statuses"],
        counts["total"],
    ) == (
        40,
        40,
        {"Success": 79, "Failure": 1, "Skipped": 0},
        80,
    )
    html = page_of(admin_browser)
    assert [
        text_of(html, f"last-cycle-{part}-{connection.pk}") for part in ("started", "ended", "duration")
    ] == ["2026-11-20 08:00:00 UTC", "2026-11-20 08:42:07 UTC", "42 min 07 s"]


def test_dashboard_data_shows_the_previous_cycle_as_last_completed_while_one_runs(admin_browser, connection):
    now = timezone.now()
    previous = make_cycle(
        connection, started_at=now - timedelta(days=1), last_event_at=now - timedelta(hours=23)
    )
    make_cycle(connection, started_at=now - timedelta(minutes=1), last_event_at=now, expected_objects=0)

    (panel,) = panels(admin_browser)

    assert panel["current_cycle"]["progress"]["percent"] == 99
    assert panel["last_completed_cycle"]["id"] == previous.pk


def test_dashboard_data_is_never_cached(admin_browser, connection):
    response = admin_browser.get(DATA_URL)

    assert "no-store" in response["Cache-Control"]
    assert response["Content-Type"] == "application/json"


def test_dashboard_data_names_the_connection_and_its_state(admin_browser, connection):
    connection.enabled = False
    connection.save()

    (panel,) = panels(admin_browser)

    assert (panel["id"], panel["name"], panel["enabled"]) == (connection.pk, DEFAULT_CONNECTION_NAME, False)
    assert text_of(page_of(admin_browser), f"connection-status-{connection.pk}") == "Turned off"


def test_dashboard_data_of_one_connection(admin_browser, connection, organization):
    second = connection_get_or_create(organization=organization, name="Entra test tenant")

    response = admin_browser.get(f"{DATA_URL}{second.pk}/")

    assert (response.status_code, response.json()["name"]) == (200, "Entra test tenant")


def test_dashboard_data_of_another_organizations_connection_is_not_found(admin_browser, other_organization):
    theirs = connection_get_or_create(organization=other_organization)

    assert admin_browser.get(f"{DATA_URL}{theirs.pk}/").status_code == 404
    assert admin_browser.get(DASHBOARD_URL, {"connection": theirs.pk}).status_code == 404


def test_dashboard_has_no_panel_of_another_organization(admin_browser, connection, other_organization):
    theirs = connection_get_or_create(organization=other_organization)

    html = admin_browser.get(DASHBOARD_URL).content.decode()

    assert [panel["id"] for panel in panels(admin_browser)] == [connection.pk]
    assert re.findall(r'id="connection-panel-(\d+)"', html) == [str(connection.pk)]
    assert f'id="connection-panel-{theirs.pk}"' not in html


def test_superuser_dashboard_shows_every_connection(connection, other_organization):
    theirs = connection_get_or_create(organization=other_organization)
    client = Client()
    client.force_login(WorkAccount.objects.create_superuser("root@platform.example", PORTAL_PASSWORD))

    assert [(panel["organization"], panel["id"]) for panel in panels(client)] == [
        ("contoso", connection.pk),
        ("fabrikam", theirs.pk),
    ]


def test_dashboard_page_shows_the_progress_bar_of_a_running_initial_cycle(admin_browser, connection):
    now = timezone.now()
    make_cycle(
        connection, kind=CycleKind.INITIAL, started_at=now, last_event_at=now, expected_objects=4, handled=1
    )

    html = admin_browser.get(DASHBOARD_URL).content.decode()

    assert (
        f'<progress id="cycle-progress-{connection.pk}" max="100" value="25" aria-label="Cycle progress">'
        "about 25 %</progress>"
    ) in html
    assert (
        f'<span id="cycle-progress-text-{connection.pk}" class="cycle-progress-text">about 25 %</span>'
    ) in html


def test_dashboard_page_shows_an_indeterminate_bar_for_an_incremental_cycle(admin_browser, connection):
    now = timezone.now()
    make_cycle(connection, started_at=now, last_event_at=now, expected_objects=1505, handled=400)

    html = admin_browser.get(DASHBOARD_URL).content.decode()

    assert (
        f'<progress id="cycle-progress-{connection.pk}" max="100" aria-label="Cycle progress" '
        'aria-valuetext="400 changed">400 changed</progress>'
    ) in html


def test_dashboard_page_says_a_quiet_cycle_is_waiting_and_when_it_counts_as_finished(
    admin_browser, connection, settings
):
    settings.PROVISIONING_CYCLE_GAP_SECONDS = 600
    now = timezone.now()
    last = now - timedelta(minutes=4, seconds=10)
    make_cycle(connection, started_at=now - timedelta(minutes=9), last_event_at=last, handled=400)

    html = admin_browser.get(DASHBOARD_URL).content.decode()

    assert text_of(html, f"cycle-activity-{connection.pk}") == (
        f"No requests for 4 min; counted as finished after 10 min of quiet "
        f"({last + timedelta(minutes=10):%H:%M:%S} UTC) unless Entra sends more."
    )
    assert text_of(html, f"current-cycle-state-{connection.pk}").startswith("Incremental cycle waiting:")


def test_dashboard_page_says_when_no_cycle_runs_or_completed(admin_browser, connection):
    html = admin_browser.get(DASHBOARD_URL).content.decode()

    assert f'<p id="current-cycle-state-{connection.pk}">No cycle is running.</p>' in html
    assert f'<div id="current-cycle-details-{connection.pk}" hidden>' in html
    assert f'<p id="last-cycle-state-{connection.pk}">No cycle has completed yet.</p>' in html


def test_dashboard_page_shows_a_healthy_connection(admin_browser, connection):
    html = admin_browser.get(DASHBOARD_URL).content.decode()

    assert (
        f'<span class="health-badge health-badge-healthy" id="health-badge-{connection.pk}">Healthy</span>'
    ) in html


def test_dashboard_shows_the_quarantine_reason_and_next_retry(admin_browser, connection):
    from datetime import timedelta

    from django.utils import timezone

    from provisioning_logs.health import health_of

    health = health_of(connection)
    health.state, health.reason = "quarantined", "invalid_credentials"
    health.current_began = timezone.now() - timedelta(hours=1)
    health.save()
    retry = health.current_began + timedelta(hours=6)
    (panel,) = panels(admin_browser)
    assert (panel["health"]["state"], panel["health"]["summary"]) == (
        "quarantined",
        f"Quarantined: Invalid credentials (since {health.current_began:%Y-%m-%d %H:%M} UTC; "
        f"next retry expected {retry:%Y-%m-%d %H:%M} UTC)",
    )


def test_dashboard_page_polls_the_data_url(admin_browser, connection):
    html = admin_browser.get(DASHBOARD_URL).content.decode()

    assert f'data-refresh-url="{DATA_URL}" data-refresh-seconds="2"' in html
    assert '<script src="/static/portal/dashboard.js" defer></script>' in html


def test_dashboard_page_of_one_connection_polls_for_that_connection(admin_browser, connection, organization):
    connection_get_or_create(organization=organization, name="Entra test tenant")

    html = admin_browser.get(DASHBOARD_URL, {"connection": connection.pk}).content.decode()

    assert re.findall(r'id="connection-panel-(\d+)"', html) == [str(connection.pk)]
    assert f'data-refresh-url="{DATA_URL}{connection.pk}/"' in html


def test_dashboard_chart_has_a_success_and_a_failure_bar_per_day(admin_browser, connection):
    now = timezone.now()
    make_cycle(
        connection,
        started_at=now - timedelta(days=1),
        last_event_at=now - timedelta(days=1),
        count_success=4,
        count_failure=2,
    )

    html = admin_browser.get(DASHBOARD_URL).content.decode()
    chart = re.search(
        rf'<div id="daily-chart-{connection.pk}" class="daily-chart">(.*?)</div>', html, re.S
    ).group(1)

    titles = re.findall(r"<title>(\d{4}-\d\d-\d\d): (\d+) succeeded, (\d+) failed</title>", chart)
    yesterday = timezone.localdate(now) - timedelta(days=1)
    assert len(titles) == 7
    assert titles[5] == (yesterday.isoformat(), "4", "2")
    # The axis goes to 5 (the next 1, 2 or 5 above 4): 86 units of plot, 4 → 68.8, 2 → 34.4.
    assert re.findall(r'<rect class="chart-(success|failure)"[^>]* height="([\d.]+)"/>', chart)[10:12] == [
        ("success", "68.8"),
        ("failure", "34.4"),
    ]
    assert re.findall(r'class="chart-tick">(\w+)</text>', chart) == ["0", "5"]
    assert re.findall(r'class="chart-value chart-value-\w+">(\w+)</text>', chart)[10:12] == ["4", "2"]


def test_daily_outcomes_sum_cycles_by_the_day_they_started(connection):
    now = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    make_cycle(connection, started_at=now - timedelta(days=8), last_event_at=now, count_success=100)
    make_cycle(
        connection,
        started_at=datetime(2026, 11, 24, 23, 50, tzinfo=UTC),
        last_event_at=now,
        count_success=3,
        count_failure=1,
    )
    make_cycle(
        connection, started_at=datetime(2026, 11, 24, 1, 0, tzinfo=UTC), last_event_at=now, count_success=2
    )
    make_cycle(
        connection, started_at=datetime(2026, 11, 26, 0, 0, tzinfo=UTC), last_event_at=now, count_failure=5
    )

    assert daily_outcomes(connection, now=now) == (
        DayOutcome(date(2026, 11, 20), 0, 0),
        DayOutcome(date(2026, 11, 21), 0, 0),
        DayOutcome(date(2026, 11, 22), 0, 0),
        DayOutcome(date(2026, 11, 23), 0, 0),
        DayOutcome(date(2026, 11, 24), 5, 1),
        DayOutcome(date(2026, 11, 25), 0, 0),
        DayOutcome(date(2026, 11, 26), 0, 5),
    )


def test_dashboard_never_reads_the_events_table(admin_browser, create_user):
    create_user("alice@contoso.com")

    with CaptureQueriesContext(db_connection) as queries:
        panels(admin_browser)

    assert not [query["sql"] for query in queries if "provisioning_logs_provisioningevent" in query["sql"]]


def test_connection_dashboard_of_a_connection_without_cycles(connection):
    dashboard = connection_dashboard(connection)

    assert (dashboard.current, dashboard.last_completed, len(dashboard.daily)) == (None, None, 7)


def test_support_staff_can_open_the_dashboard(portal_client, connection):
    support = portal_client(OrganizationRole.SUPPORT)

    assert support.get(DASHBOARD_URL).status_code == 200
    assert support.get(DATA_URL).status_code == 200


def test_member_cannot_open_the_dashboard(portal_client, connection):
    member = portal_client(OrganizationRole.MEMBER)

    response = member.get(DASHBOARD_URL)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
    assert member.get(DATA_URL).status_code == 403


def test_dashboard_shows_held_deprovisionings_of_a_healthy_connection_in_amber(
    admin_browser, connection, make_account
):
    from provisioning_logs.models import StagedDeprovisioning

    account = make_account("leaver@contoso.com", organization=connection.organization)
    StagedDeprovisioning.objects.create(connection=connection, account=account, action="Disable")

    html = page_of(admin_browser)

    assert (
        f'<span class="health-badge health-badge-attention" id="health-badge-{connection.pk}">Healthy</span>'
    ) in html
    assert text_of(html, f"quarantine-status-{connection.pk}") == "1 disable(s)/delete(s) held for approval"


def test_dashboard_puts_trouble_first_then_a_running_cycle_then_the_rest(admin_browser, organization):
    from provisioning_logs.health import health_of

    calm = connection_get_or_create(organization=organization, name="A calm")
    busy = connection_get_or_create(organization=organization, name="B busy")
    trouble = connection_get_or_create(organization=organization, name="C trouble")
    now = timezone.now()
    make_cycle(busy, started_at=now, last_event_at=now, handled=1)
    health = health_of(trouble)
    health.state, health.reason = "quarantined", "invalid_credentials"
    health.save()

    html = page_of(admin_browser)

    assert re.findall(r'id="connection-panel-(\d+)"', html) == [str(trouble.pk), str(busy.pk), str(calm.pk)]
