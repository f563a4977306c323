"""What a person sees (headless Chromium, 1440 px and 390 px): quarantine at a glance on the
dashboard, the connections list and the connection page; progress that says when Entra went quiet;
the connection page's sections, field errors, confirmation and outbox; the admin activity trail."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.connections.services import connection_get_or_create, scim_token_create
from accounts.models import OrganizationRole
from provisioning_logs.health import health_of
from provisioning_logs.models import CycleKind, HealthState, QuarantineReason
from tests.browser.conftest import sign_in
from tests.conftest import PORTAL_PASSWORD
from tests.provisioning_logs.cycle_support import make_cycle


pytestmark = pytest.mark.django_db(transaction=True)

ADMIN = "admin@contoso.com"
SUPPORT = "support@contoso.com"
DASHBOARD_PATH = "/admin/provisioning_logs/provisioningevent/dashboard/"
WIDE, PHONE = {"width": 1440, "height": 900}, {"width": 390, "height": 844}
RED_BACKGROUND, GREEN_BACKGROUND = "rgb(253, 231, 231)", "rgb(227, 244, 230)"


@pytest.fixture
def people(organization, make_account):
    make_account(ADMIN, organization=organization, role=OrganizationRole.ADMIN)
    make_account(SUPPORT, organization=organization, role=OrganizationRole.SUPPORT)


@pytest.fixture
def two_connections(organization, people):
    """'A calm one' is healthy and idle; 'Z in trouble' is quarantined (alphabetically last)."""
    calm = connection_get_or_create(organization=organization, name="A calm one")
    trouble = connection_get_or_create(organization=organization, name="Z in trouble")
    health = health_of(trouble)
    health.state, health.reason = HealthState.QUARANTINED, QuarantineReason.INVALID_CREDENTIALS
    health.current_began = timezone.now() - timedelta(hours=1)
    health.save()
    now = timezone.now()
    make_cycle(
        calm,
        started_at=now - timedelta(days=1),
        last_event_at=now - timedelta(days=1),
        count_success=1234,
        count_failure=56,
    )
    return calm, trouble


@pytest.mark.parametrize("viewport", [WIDE, PHONE], ids=["1440px", "390px"])
def test_the_dashboard_shows_the_quarantined_connection_first_in_red(
    live_server, page, two_connections, viewport
):
    calm, trouble = two_connections
    page.set_viewport_size(viewport)
    page.goto(f"{live_server.url}{DASHBOARD_PATH}")
    sign_in(page, ADMIN, PORTAL_PASSWORD)

    panels = page.locator(".dashboard-panel h2")
    expect(panels).to_have_text(["Z in trouble", "A calm one"])
    quarantined, healthy = (
        page.locator(f"#health-badge-{trouble.pk}"),
        page.locator(f"#health-badge-{calm.pk}"),
    )
    expect(quarantined).to_have_text("Quarantined")
    expect(healthy).to_have_text("Healthy")
    # expect() waits for the stylesheet: read at once, the computed colour could still be the default.
    expect(quarantined).to_have_css("background-color", RED_BACKGROUND)
    expect(healthy).to_have_css("background-color", GREEN_BACKGROUND)
    expect(page.locator(f"#quarantine-status-{trouble.pk}")).to_contain_text("Invalid credentials (since")
    # The quarantined panel's badge is on the first screen.
    box = quarantined.bounding_box()
    assert box["y"] + box["height"] <= viewport["height"]

    # The chart has an axis and numbers: 1,234 successes and 56 failures yesterday.
    chart = page.locator(f"#daily-chart-{calm.pk} svg")
    expect(chart.locator(".chart-tick")).to_have_text(["0", "1k", "2k"])
    expect(chart.locator(".chart-value-success").nth(5)).to_have_text("1.2k")
    expect(chart.locator(".chart-value-failure").nth(5)).to_have_text("56")


def test_the_dashboard_says_when_entra_went_quiet_and_when_the_cycle_counts_as_finished(
    live_server, page, organization, people, settings
):
    settings.PROVISIONING_CYCLE_GAP_SECONDS = 600
    connection = connection_get_or_create(organization=organization)
    now = timezone.now()
    make_cycle(
        connection,
        kind=CycleKind.INCREMENTAL,
        started_at=now - timedelta(minutes=8),
        last_event_at=now - timedelta(minutes=4, seconds=5),
        expected_objects=1505,
        handled=400,
    )
    page.set_viewport_size(WIDE)
    page.goto(f"{live_server.url}{DASHBOARD_PATH}")
    sign_in(page, ADMIN, PORTAL_PASSWORD)

    pk = connection.pk
    expect(page.locator(f"#current-cycle-state-{pk}")).to_contain_text(
        "Incremental cycle waiting: no request since"
    )
    expect(page.locator(f"#cycle-progress-text-{pk}")).to_have_text("waiting · 400 changed")
    expect(page.locator(f"#cycle-activity-{pk}")).to_contain_text(
        "No requests for 4 min; counted as finished after 10 min of quiet"
    )
    expect(page.locator(f"#cycle-handled-{pk}")).to_have_text(
        "400 changed objects so far (only what changed in Entra since the last cycle)."
    )
    expect(page.get_by_text("26 %")).to_have_count(0)
    # Still the same after the page has polled the API (dashboard.js shows the API's texts).
    page.wait_for_timeout(2500)
    expect(page.locator(f"#cycle-activity-{pk}")).to_contain_text("counted as finished after 10 min of quiet")


@pytest.mark.parametrize("viewport", [WIDE, PHONE], ids=["1440px", "390px"])
def test_the_connection_page_opens_with_its_health_banner_and_sections(
    live_server, page, two_connections, viewport
):
    _, trouble = two_connections
    page.set_viewport_size(viewport)
    page.goto(f"{live_server.url}/admin/accounts/provisioningconnection/")
    sign_in(page, ADMIN, PORTAL_PASSWORD)

    row = page.locator("#result_list tr", has_text="Z in trouble")
    expect(row.locator(".health-badge")).to_have_text("Quarantined")
    expect(row.locator(".health-badge")).to_have_css("background-color", RED_BACKGROUND)

    page.goto(f"{live_server.url}/admin/accounts/provisioningconnection/{trouble.pk}/change/")
    banner = page.locator("#health-banner")
    expect(banner).to_contain_text("Quarantined")
    expect(banner).to_contain_text("Invalid credentials since")
    expect(banner.get_by_role("button", name="Clear quarantine")).to_be_visible()
    box = banner.bounding_box()
    assert box["y"] + box["height"] <= viewport["height"], box
    expect(page.locator("#connection-toc a")).to_have_text(
        ["Credentials", "SCIM client", "Health", "Notifications", "Guard and thresholds", "History"]
    )
    expect(page.get_by_role("button", name="Save and continue editing")).to_have_count(0)


def test_from_the_dashboard_to_the_notifications_then_errors_test_mail_revoke_and_history(
    live_server, page, organization, people
):
    issued = scim_token_create(organization=organization, label="entra-prod")
    connection = issued.token.connection
    page.set_viewport_size(WIDE)
    page.goto(f"{live_server.url}{DASHBOARD_PATH}")
    sign_in(page, ADMIN, PORTAL_PASSWORD)

    # The dashboard's link opens the page at its Notifications section.
    page.locator(f"#connection-notifications-{connection.pk}").click()
    expect(page).to_have_url(
        f"{live_server.url}/admin/accounts/provisioningconnection/{connection.pk}/change/#notifications"
    )
    expect(page.get_by_role("heading", name="Notifications", exact=True)).to_be_in_viewport()

    # A bad value: the error at the field, the typed input kept.
    page.get_by_label("Hold disables/deletes beyond (% of accounts per cycle)").fill("140")
    page.get_by_role("button", name="Save thresholds").click()
    field = page.get_by_label("Hold disables/deletes beyond (% of accounts per cycle)")
    expect(field).to_have_value("140")
    expect(page.locator("#thresholds .form-row.errors")).to_contain_text(
        "Ensure this value is less than or equal to 100."
    )

    # A test e-mail appears in the outbox as sent.
    page.get_by_label("Notification e-mail addresses").fill("it-team@contoso.com")
    page.get_by_role("button", name="Save notification settings").click()
    page.get_by_role("button", name="Send test e-mail").click()
    expect(page.locator(".messagelist")).to_contain_text(
        "The mail server accepted the test e-mail for it-team@contoso.com."
    )
    expect(page.locator("#outbox")).not_to_contain_text("Nothing sent yet.")
    expect(page.locator("#outbox tbody tr").first).to_contain_text("it-team@contoso.com")
    expect(page.locator("#outbox tbody tr").first).to_contain_text("Sent")

    # Revoking the live token asks first; Cancel keeps it.
    page.get_by_role("link", name="Revoke entra-prod").click()
    expect(page.locator("#confirm-question")).to_have_text(
        f"Revoke the secret token entra-prod ({issued.token.prefix}…) of {connection.name}?"
    )
    page.locator("#confirm-cancel").click()
    expect(page.locator("#secret-tokens")).to_contain_text("Active")
    page.get_by_role("link", name="Revoke entra-prod").click()
    page.get_by_role("button", name="Revoke entra-prod").click()
    expect(page.locator(".messagelist")).to_contain_text(
        "Token entra-prod revoked; Entra can no longer use it."
    )
    expect(page.locator("#secret-tokens")).to_contain_text("Revoked")

    # The History section and the organization's Admin activity (read by support staff).
    history = page.locator("#connection-activity")
    expect(history).to_contain_text("Revoked secret token entra-prod")
    expect(history).to_contain_text("Notification settings: addresses it-team@contoso.com")
    page.context.clear_cookies()
    page.goto(f"{live_server.url}/admin/accounts/adminactivity/")
    sign_in(page, SUPPORT, PORTAL_PASSWORD)
    rows = page.locator("#result_list tbody tr")
    expect(rows.first).to_contain_text("Revoked secret token entra-prod")
    expect(rows.first).to_contain_text(ADMIN)
    expect(rows.first).to_contain_text("127.0.0.1")
