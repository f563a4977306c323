"""
The portal's pages under their strict Content-Security-Policy in a real browser: every main page
loads without a single CSP violation (no inline script or style slipped in), its scripts still
work (the live dashboard updates, the event tabs switch, the SSO continue page posts itself), and
the Entra Authorize flow still reaches its https redirect URI.
"""

import secrets
import uuid

import pytest
from playwright.sync_api import expect

from accounts.connections.services import entra_client_create, scim_token_create
from accounts.models import OrganizationRole, SsoConfiguration
from provisioning_logs.health import health_of
from provisioning_logs.models import ProvisioningEvent
from tests.browser.conftest import sign_in
from tests.browser.test_authorize_entra import authorize_url
from tests.conftest import PORTAL_PASSWORD, ScimClient, entra_user


pytestmark = pytest.mark.django_db(transaction=True)
ADMIN = "admin@contoso.com"
POLL_TIMEOUT_MS = 10_000
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
DISABLE = {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "active", "value": False}]}


@pytest.fixture
def violations(page) -> list[str]:
    """Every CSP violation the browser reports, on any page the test opens."""
    seen = []

    def on_console(message):
        text = message.text
        if "Content Security Policy" in text or "Permissions-Policy" in text or "Permissions policy" in text:
            seen.append(f"{page.url}: {text}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: seen.append(f"{page.url}: {error}"))
    return seen


@pytest.fixture
def contoso(organization, make_account):
    """Contoso with an admin, a connection (secret token) with accounts, a held disable and a log."""
    make_account(ADMIN, organization=organization, role=OrganizationRole.ADMIN)
    issued = scim_token_create(organization=organization, label="entra-prod")
    entra = ScimClient(issued.secret)
    entra.connection = issued.token.connection
    users = [entra.post("/Users", entra_user(f"user{n}@contoso.com")).body["id"] for n in range(3)]
    entra.post(
        "/Groups", {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Sales"}
    )
    health = health_of(entra.connection)
    health.guard_count = 1
    health.save()
    assert [entra.patch(f"/Users/{user}", DISABLE).status_code for user in users[:2]] == [200, 503]
    entra.users = users
    return entra


def visit(page, url: str, heading: str) -> None:
    page.goto(url)
    page.wait_for_load_state("networkidle")
    expect(page.get_by_role("heading", level=1)).to_have_text(heading)


def test_the_main_pages_load_without_a_csp_violation(live_server, page, violations, contoso, organization):
    base = live_server.url
    SsoConfiguration.objects.create(
        organization=organization,
        idp_entity_id="https://idp.example/",
        idp_sso_url="https://idp.example/sso",
        idp_certificate="-",
        sp_private_key="-",
        sp_certificate="-",
    )
    page.goto(f"{base}/signin/")
    sign_in(page, ADMIN, PORTAL_PASSWORD)
    expect(page.get_by_role("heading", level=1)).to_have_text("Organization administration")
    connection = contoso.connection.pk
    event = ProvisioningEvent.objects.filter(http_status=503).get().pk
    account = contoso.users[0]
    pages = [
        ("/admin/", "Organization administration"),
        ("/admin/provisioning_logs/provisioningevent/dashboard/", "Provisioning dashboard"),
        ("/admin/provisioning_logs/provisioningevent/", "Provisioning logs"),
        (f"/admin/provisioning_logs/provisioningevent/{event}/change/", None),
        ("/admin/accounts/workaccount/", None),
        (f"/admin/accounts/workaccount/{account}/change/", None),
        ("/admin/accounts/workgroup/", None),
        ("/admin/accounts/provisioningconnection/", None),
        (f"/admin/accounts/provisioningconnection/{connection}/change/", None),
        ("/admin/accounts/provisioningconnection/add/", "Connect Microsoft Entra ID"),
        ("/admin/accounts/ssoconfiguration/", None),
        ("/admin/password_change/", "Password change"),
    ]
    for path, heading in pages:
        response = page.goto(base + path)
        assert response.status == 200, path
        page.wait_for_load_state("networkidle")
        if heading:
            expect(page.get_by_role("heading", level=1)).to_have_text(heading)
    expect_held_forms_side_by_side(page, base, connection)
    assert violations == []


def expect_held_forms_side_by_side(page, base: str, connection: int) -> None:
    """The Approve and Discard links (to their confirmation pages) sit in one line, styled by a stylesheet."""
    page.goto(f"{base}/admin/accounts/provisioningconnection/{connection}/change/")
    approve = page.get_by_role("link", name="Approve and apply…").bounding_box()
    discard = page.get_by_role("link", name="Discard…").bounding_box()
    assert abs(approve["y"] - discard["y"]) < 2


def test_the_event_tabs_still_switch(live_server, page, violations, contoso):
    event = ProvisioningEvent.objects.filter(http_status=503).get().pk
    page.goto(f"{live_server.url}/admin/provisioning_logs/provisioningevent/{event}/change/")
    sign_in(page, ADMIN, PORTAL_PASSWORD)
    tabs = page.get_by_role("tab")
    expect(tabs.first).to_have_attribute("aria-selected", "true")
    tabs.nth(1).click()
    expect(tabs.nth(1)).to_have_attribute("aria-selected", "true")
    assert violations == []


def test_the_live_dashboard_still_updates(live_server, page, violations, contoso):
    pk = contoso.connection.pk
    page.goto(f"{live_server.url}/admin/provisioning_logs/provisioningevent/dashboard/")
    sign_in(page, ADMIN, PORTAL_PASSWORD)
    lookups = page.locator(f"#current-count-{pk}-lookup")
    expect(lookups).to_have_text("0")
    assert contoso.get(f'/Users?filter=userName eq "{uuid.uuid4()}"').status_code == 200
    expect(lookups).to_have_text("1", timeout=POLL_TIMEOUT_MS)
    assert violations == []


def test_the_sign_in_pages_and_chooser_load_without_a_csp_violation(
    live_server, page, violations, make_account, organization, other_organization
):
    for org in (organization, other_organization):
        make_account("pat@example.com", organization=org, role=OrganizationRole.ADMIN)
    page.goto(f"{live_server.url}/signin/?org=nowhere")
    sign_in(page, "pat@example.com", PORTAL_PASSWORD)
    expect(page.get_by_role("heading", level=1)).to_have_text("Choose your organization")
    page.get_by_role("button", name="Contoso").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Organization administration")
    assert violations == []


def test_authorize_still_redirects_to_entra_under_the_policy(live_server, page, violations, organization):
    from accounts.services import admin_create

    admin_create(organization=organization, email=ADMIN, password=PORTAL_PASSWORD)
    entra = entra_client_create(organization=organization, name="Entra prod")
    reached = []
    page.route(
        "https://portal.azure.com/**",
        lambda route: (reached.append(route.request.url), route.fulfill(body="ok")),
    )
    page.goto(authorize_url(live_server.url, entra.client_id, secrets.token_urlsafe(16)))
    sign_in(page, ADMIN, PORTAL_PASSWORD)
    page.get_by_role("button", name="Allow").click()
    page.wait_for_url("https://portal.azure.com/**")
    assert len(reached) == 1 and "code=" in reached[0]
    assert violations == []


def test_the_read_only_pages_of_support_staff_load_without_a_csp_violation(
    live_server, page, violations, contoso, make_account, organization
):
    make_account("support@contoso.com", organization=organization, role=OrganizationRole.SUPPORT)
    page.goto(f"{live_server.url}/signin/")
    sign_in(page, "support@contoso.com", PORTAL_PASSWORD)
    for path in ("/admin/provisioning_logs/provisioningevent/", "/admin/accounts/workaccount/"):
        assert page.goto(live_server.url + path).status == 200
        page.wait_for_load_state("networkidle")
        expect(page.locator("select[name=action]")).to_have_count(0)
    assert violations == []
