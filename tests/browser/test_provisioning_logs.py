"""
The provisioning log and dashboard in a real browser (headless Chromium against the in-process live
server): the progress bar of a running cycle moving while Entra's requests arrive, the estimating
first cycle, reading a failure's error through the filters and the Troubleshooting tab, and the
read-only portal of support staff.

The SCIM requests are made from the test through ScimClient: they go through the real SCIM views
and are recorded in the provisioning log as Entra's would be.
"""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.connections.services import scim_token_create
from accounts.models import OrganizationRole
from provisioning_logs.event_detail import SCIM_TYPE_ADVICE
from provisioning_logs.models import CycleKind, ProvisioningCycle
from provisioning_logs.services import forget_running_cycles
from tests.browser.conftest import sign_in
from tests.conftest import PORTAL_PASSWORD, ScimClient, entra_user


pytestmark = pytest.mark.django_db(transaction=True)

ADMIN = "admin@contoso.com"
SUPPORT = "support@contoso.com"
DASHBOARD_PATH = "/admin/provisioning_logs/provisioningevent/dashboard/"
LOGS_PATH = "/admin/provisioning_logs/provisioningevent/"
ACCOUNTS_PATH = "/admin/accounts/workaccount/"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
# The dashboard polls every 2 seconds: a few polls' worth for the figures to change.
POLL_TIMEOUT_MS = 10_000
# Everything that adds, saves or deletes in the admin portal.
EDIT_CONTROLS = (
    "input[name=_save]",
    "input[name=_continue]",
    "input[name=_addanother]",
    "a.deletelink",
    "a.addlink",
    "select[name=action]",
    "#changelist-form .actions",
)


# Fixtures ----------------------------------------------------------------------------------------


@pytest.fixture
def entra(organization) -> ScimClient:
    """Contoso's Entra: the SCIM client of a secret token (its connection is created with it)."""
    issued = scim_token_create(organization=organization, label="entra-prod")
    client = ScimClient(issued.secret)
    client.connection = issued.token.connection
    return client


# Helpers -----------------------------------------------------------------------------------------


def create_users(entra: ScimClient, user_names) -> dict[str, str]:
    """POST each user as Entra does; userName → id."""
    ids = {}
    for user_name in user_names:
        response = entra.post("/Users", entra_user(user_name, externalId=f"ext-{user_name}"))
        assert response.status_code == 201, response.body
        ids[user_name] = response.body["id"]
    return ids


def end_the_running_cycle(gap_seconds: int) -> None:
    """
    Let the connection's quiet gap pass without waiting for it: the cycle's last event is moved
    back beyond PROVISIONING_CYCLE_GAP_SECONDS, so the next request starts a new cycle. The
    recorder's cache of running cycles trusts this process's own last event, so it is dropped too.
    """
    now = timezone.now()
    gap = timedelta(seconds=gap_seconds)
    ProvisioningCycle.objects.update(started_at=now - 2 * gap, last_event_at=now - gap - timedelta(seconds=1))
    forget_running_cycles()


def look_up_and_update(entra: ScimClient, user_name: str, user_id: str) -> None:
    """What Entra does for a changed user in an incremental cycle: look it up, then PATCH it."""
    lookup = entra.get(f'/Users?filter=userName eq "{user_name}"')
    assert (lookup.status_code, lookup.body["totalResults"]) == (200, 1), lookup.body
    patch = entra.patch(
        f"/Users/{user_id}",
        {"schemas": [PATCH_OP], "Operations": [{"op": "Replace", "path": "title", "value": "Engineer"}]},
    )
    assert patch.status_code == 200, patch.body


def expect_current_counts(page, pk: int, **counts: int) -> None:
    for key, value in counts.items():
        expect(page.locator(f"#current-count-{pk}-{key}")).to_have_text(str(value), timeout=POLL_TIMEOUT_MS)


def expect_no_edit_controls(page) -> None:
    """
    Nothing a user can see adds, saves or deletes. Only visible elements count: Django's
    inlines.js adds an "Add another …" row to every tabular inline and hides it when no form may
    be added, as on the read-only inlines of an account's page.
    """
    for selector in EDIT_CONTROLS:
        expect(page.locator(selector).filter(visible=True)).to_have_count(0)
    expect(page.get_by_role("button", name=re.compile(r"^(Save|Delete|Add)\b"))).to_have_count(0)
    # The log's "By action" filter has a "Delete" link: a filter, not a control.
    links = page.locator("a:not(#changelist-filter a)").filter(visible=True)
    expect(links.filter(has_text=re.compile(r"^\s*(Add|Delete)\b"))).to_have_count(0)


# Tests -------------------------------------------------------------------------------------------


def test_admin_sees_the_progress_bar_move_during_a_running_cycle(
    live_server, page, organization, make_account, entra, settings
):
    make_account(ADMIN, organization=organization, role=OrganizationRole.ADMIN)
    user_names = [f"user{number}@contoso.com" for number in range(10)]
    # The connection's first cycle: Entra creates the 10 users.
    ids = create_users(entra, user_names)
    # Control the clock instead of waiting for the gap: that cycle ends, and the next request
    # starts an incremental one expecting what the connection manages then: 10 users + the admin.
    end_the_running_cycle(settings.PROVISIONING_CYCLE_GAP_SECONDS)
    pk = entra.connection.pk

    page.goto(f"{live_server.url}{DASHBOARD_PATH}")
    sign_in(page, ADMIN, PORTAL_PASSWORD)
    expect(page.get_by_role("heading", level=1)).to_have_text("Provisioning dashboard")
    panel = page.locator(f"#connection-panel-{pk}")
    expect(panel).to_be_visible()
    expect(page.locator(f"#current-cycle-state-{pk}")).to_have_text("No cycle is running.")
    expect(page.locator(f"#last-cycle-state-{pk}")).to_have_text("Initial cycle")
    expect(page.locator(f"#last-count-{pk}-create")).to_have_text("10")
    # Set on this document only: still there at the end means the page was never reloaded.
    page.evaluate("window.__marker = 1")

    # Entra's incremental cycle begins: user0 is looked up and updated, one object of 11.
    look_up_and_update(entra, user_names[0], ids[user_names[0]])
    cycle = ProvisioningCycle.objects.order_by("-started_at").first()
    assert (cycle.kind, cycle.expected_objects) == (CycleKind.INCREMENTAL, 11)

    # An incremental cycle handles only what changed in Entra: no share of all 11 objects, the
    # count of changed objects and how the previous cycle compares.
    progress = page.locator(f"#cycle-progress-{pk}")
    expect(page.locator(f"#current-cycle-state-{pk}")).to_contain_text(
        "Incremental cycle running since", timeout=POLL_TIMEOUT_MS
    )
    expect(progress).to_be_visible()
    expect(page.locator(f"#cycle-progress-text-{pk}")).to_have_text("1 changed", timeout=POLL_TIMEOUT_MS)
    assert progress.get_attribute("value") is None  # an indeterminate bar
    expect(page.locator(f"#cycle-handled-{pk}")).to_have_text(
        "1 changed object so far (only what changed in Entra since the last cycle; "
        "the previous cycle handled 10).",
        timeout=POLL_TIMEOUT_MS,
    )
    expect(page.locator(f"#cycle-activity-{pk}")).to_contain_text("Receiving requests: the last one")
    expect_current_counts(page, pk, lookup=1, update=1, success=2, failure=0, create=0)

    # Four more users, and user0 looked up again: an object handled twice still counts once.
    for user_name in user_names[1:5]:
        look_up_and_update(entra, user_name, ids[user_name])
    assert entra.get(f'/Users?filter=userName eq "{user_names[0]}"').status_code == 200

    expect(page.locator(f"#cycle-progress-text-{pk}")).to_have_text("5 changed", timeout=POLL_TIMEOUT_MS)
    expect(page.locator(f"#cycle-handled-{pk}")).to_have_text(
        "5 changed objects so far (only what changed in Entra since the last cycle; "
        "the previous cycle handled 10).",
        timeout=POLL_TIMEOUT_MS,
    )
    expect_current_counts(page, pk, lookup=6, update=5, success=11, failure=0, create=0)
    assert page.evaluate("window.__marker") == 1


def test_first_cycle_estimates_from_the_organizations_accounts(
    live_server, page, organization, make_account, entra
):
    make_account(ADMIN, organization=organization, role=OrganizationRole.ADMIN)
    # A brand-new connection: its first request starts its first cycle. What the organization has
    # (the admin and alice) is the total to expect.
    create_users(entra, ["alice@contoso.com"])
    pk = entra.connection.pk

    page.goto(f"{live_server.url}{DASHBOARD_PATH}")
    sign_in(page, ADMIN, PORTAL_PASSWORD)
    expect(page.locator(f"#current-cycle-state-{pk}")).to_contain_text("Initial cycle running since")
    progress = page.locator(f"#cycle-progress-{pk}")
    expect(progress).to_be_visible()
    expect(progress).to_have_attribute("value", "50")
    expect(page.locator(f"#cycle-progress-text-{pk}")).to_have_text("about 50 %")
    expect(page.locator(f"#cycle-handled-{pk}")).to_have_text(
        "1 of about 2 objects (the organization's accounts and groups)."
    )

    # The page's own refresh follows the cycle: bob makes 2 of about 3.
    create_users(entra, ["bob@contoso.com"])
    expect(page.locator(f"#cycle-handled-{pk}")).to_have_text(
        "2 of about 3 objects (the organization's accounts and groups).", timeout=POLL_TIMEOUT_MS
    )
    expect(page.locator(f"#current-count-{pk}-create")).to_have_text("2")
    expect(progress).to_have_attribute("value", "66")
    expect(page.locator(f"#cycle-progress-text-{pk}")).to_have_text("about 66 %")


def test_admin_filters_the_logs_to_failures_and_reads_the_error(
    live_server, page, organization, make_account, entra
):
    make_account(ADMIN, organization=organization, role=OrganizationRole.ADMIN)
    ids = create_users(entra, ["alice@contoso.com", "bob@contoso.com"])
    duplicate = entra.post("/Users", entra_user("alice@contoso.com", externalId="ext-alice-again"))
    assert (duplicate.status_code, duplicate.body["scimType"]) == (409, "uniqueness"), duplicate.body
    bad_patch = entra.patch(
        f"/Users/{ids['bob@contoso.com']}",
        {"schemas": [PATCH_OP], "Operations": [{"op": "Replace", "path": "active", "value": "maybe"}]},
    )
    assert bad_patch.status_code == 400, bad_patch.body

    page.goto(f"{live_server.url}/admin/")
    sign_in(page, ADMIN, PORTAL_PASSWORD)
    page.locator("#provisioning-logs-link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Provisioning logs")
    expect(page.locator("#page-summary")).to_have_text("Events 1–4 of 4")

    by_status = page.locator("#changelist-filter details").filter(
        has=page.locator("summary", has_text="By status")
    )
    by_status.get_by_role("link", name="Failure", exact=True).click()
    page.wait_for_url(re.compile(r"[?&]status__exact=Failure(&|$)"))
    expect(page.locator("#page-summary")).to_have_text("Events 1–2 of 2")
    expect(page.locator("td.field-status_label")).to_have_text(["Failure", "Failure"])

    uniqueness = page.locator("#result_list tbody tr").filter(
        has=page.locator("td.field-identity_label", has_text="alice@contoso.com")
    )
    expect(uniqueness).to_have_count(1)
    uniqueness.locator(".field-time a").click()

    expect(page.locator("#event-status")).to_have_text("Failure")
    expect(page.locator("#event-action")).to_have_text("Create")
    page.locator("#tab-troubleshooting").click()
    expect(page.locator("#troubleshooting")).to_be_visible()
    expect(page.locator("#steps")).to_be_hidden()
    expect(page.locator("#error-code")).to_have_text("uniqueness")
    expect(page.locator("#error-reason")).to_have_text(duplicate.body["detail"])
    expect(page.locator("#error-advice")).to_have_text(SCIM_TYPE_ADVICE["uniqueness"])


def test_support_staff_read_logs_but_find_no_edit_or_delete_controls(
    live_server, page, organization, make_account, entra
):
    make_account(SUPPORT, organization=organization, role=OrganizationRole.SUPPORT)
    create_users(entra, ["alice@contoso.com"])
    pk = entra.connection.pk

    page.goto(f"{live_server.url}/admin/")
    sign_in(page, SUPPORT, PORTAL_PASSWORD)
    expect(page.locator("#provisioning-logs-link")).to_be_visible()
    expect_no_edit_controls(page)

    # The log list.
    page.locator("#provisioning-logs-link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Provisioning logs")
    row = page.locator("#result_list tbody tr")
    expect(row).to_have_count(1)
    expect(row.locator("td.field-identity_label")).to_have_text("alice@contoso.com")
    expect(row.locator("td.field-status_label")).to_have_text("Success")
    expect_no_edit_controls(page)

    # An event's detail.
    row.locator(".field-time a").click()
    expect(page.locator("#event-status")).to_have_text("Success")
    expect(page.locator("#event-identity")).to_have_text("alice@contoso.com")
    expect(page.locator("#steps")).to_contain_text("Create User 'alice@contoso.com'.")
    expect_no_edit_controls(page)

    # The dashboard.
    page.goto(f"{live_server.url}{DASHBOARD_PATH}")
    expect(page.locator(f"#connection-panel-{pk}")).to_be_visible()
    expect(page.locator(f"#current-count-{pk}-create")).to_have_text("1")
    expect_no_edit_controls(page)

    # The work accounts, then alice's page with her provisioning history.
    page.goto(f"{live_server.url}{ACCOUNTS_PATH}")
    alice = page.get_by_role("link", name="alice@contoso.com", exact=True)
    expect(alice).to_be_visible()
    expect_no_edit_controls(page)
    alice.click()
    expect(page.locator("#entra-managed-note")).to_be_visible()
    expect(page.locator("#account-user-name")).to_have_text("alice@contoso.com")
    expect(page.locator("#provisioning-history .provisioning-history-event")).to_have_count(1)
    expect(page.locator("#provisioning-history")).to_contain_text("Create")
    expect_no_edit_controls(page)


def test_the_dashboard_polls_the_audit_api_and_shows_a_quarantine_as_it_happens(
    live_server, page, organization, make_account, entra
):
    from provisioning_logs.health import health_of

    make_account(ADMIN, organization=organization, role=OrganizationRole.ADMIN)
    create_users(entra, ["alice@contoso.com"])
    pk = entra.connection.pk
    polled = []
    page.on("request", lambda request: polled.append(request.url) if "/api/" in request.url else None)
    page.goto(f"{live_server.url}{DASHBOARD_PATH}")
    sign_in(page, ADMIN, PORTAL_PASSWORD)
    badge = page.locator(f"#health-badge-{pk}")
    status = page.locator(f"#quarantine-status-{pk}")
    expect(badge).to_have_text("Healthy")

    health = health_of(entra.connection)
    health.state, health.reason = "quarantined", "invalid_credentials"
    health.current_began = timezone.now()
    health.save()

    expect(badge).to_have_text("Quarantined", timeout=POLL_TIMEOUT_MS)
    expect(badge).to_have_class("health-badge health-badge-quarantined")
    expect(status).to_contain_text("Invalid credentials (since")
    expect(page.locator(f"#daily-chart-{pk} svg .chart-day")).to_have_count(7)
    assert polled and set(polled) == {f"{live_server.url}/api/v1/connections/"}
