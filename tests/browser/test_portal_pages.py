"""
The portal as a person meets it (issue 16), in headless Chromium at 1440 px and on a 390 px phone:
the log and work-account tables fit their box, the account and group pages, member names in the
log, the edges (View site, 403, signing out, secrets with a copy button, a member's own page),
finding one's way by identity, one timestamp format in the viewer's time zone, and the first-run
checklist.
"""

import re

import pytest
from playwright.sync_api import expect

from accounts.connections.services import scim_token_create
from accounts.models import OrganizationRole, WorkAccount
from tests.browser.conftest import DEFAULT_TIMEOUT_MS, sign_in
from tests.conftest import PORTAL_PASSWORD, ScimClient, entra_user


pytestmark = pytest.mark.django_db(transaction=True)

ADMIN = "admin@contoso.com"
SUPPORT = "support@contoso.com"
LOGS_PATH = "/admin/provisioning_logs/provisioningevent/"
ACCOUNTS_PATH = "/admin/accounts/workaccount/"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}
LONG_NAME = "a.very.long.user.name.that.goes.on.and.on.for.the.whole.line@contoso-international.example"


@pytest.fixture
def entra(organization) -> ScimClient:
    issued = scim_token_create(organization=organization, label="entra-prod")
    client = ScimClient(issued.secret)
    client.connection = issued.token.connection
    return client


@pytest.fixture
def screen(browser):
    """A page factory: a fresh context of the given size (and time zone)."""
    contexts = []

    def make(viewport=DESKTOP, timezone_id="UTC"):
        context = browser.new_context(viewport=viewport, timezone_id=timezone_id)
        context.set_default_timeout(DEFAULT_TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def signed_in(screen, live_server, path, username=ADMIN, **kwargs):
    page = screen(**kwargs)
    page.goto(f"{live_server.url}{path}")
    sign_in(page, username, PORTAL_PASSWORD)
    return page


def fits(page, box_selector: str) -> None:
    """Nothing in the box is wider than the box (no horizontal scrolling inside or beside it)."""
    widths = page.locator(box_selector).evaluate(
        "box => ({scroll: box.scrollWidth, client: box.clientWidth,"
        " table: box.querySelector('table').scrollWidth,"
        " page: document.documentElement.scrollWidth, viewport: window.innerWidth})"
    )
    assert widths["scroll"] <= widths["client"], widths
    assert widths["table"] <= widths["client"], widths
    assert widths["page"] <= widths["viewport"], widths


def within_viewport(page, locator) -> None:
    box = locator.bounding_box()
    width = page.viewport_size["width"]
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width, (box, width)


# 2. Tables that fit -------------------------------------------------------------------------------


def test_the_log_table_fits_its_box_at_1440_px_with_every_column_visible(
    live_server, screen, organization, make_account, entra
):
    make_account(ADMIN, organization=organization, role=OrganizationRole.ADMIN)
    assert entra.post("/Users", entra_user(LONG_NAME, externalId="e" * 60)).status_code == 201

    page = signed_in(screen, live_server, LOGS_PATH)

    fits(page, "#log-table-box")
    for header in ("Connection", "Duration", "HTTP status", "Identity", "Source id", "Target id"):
        column = page.locator("#result_list thead th").filter(has_text=re.compile(rf"^\s*{header}\s*$", re.I))
        expect(column).to_be_visible()
        within_viewport(page, column)
    identity = page.locator("td.field-identity_label .cell-truncate")
    expect(identity).to_have_attribute("title", LONG_NAME)
    assert identity.evaluate("cell => cell.scrollWidth > cell.clientWidth")  # cut with an ellipsis


def test_on_a_phone_the_log_shows_identity_and_status(live_server, screen, organization, make_account, entra):
    make_account(ADMIN, organization=organization, role=OrganizationRole.ADMIN)
    assert entra.post("/Users", entra_user(LONG_NAME)).status_code == 201

    page = signed_in(screen, live_server, LOGS_PATH, viewport=PHONE)

    fits(page, "#log-table-box")
    for cell in ("td.field-identity_label", "td.field-status_label", "th.field-time"):
        expect(page.locator(cell).first).to_be_visible()
        within_viewport(page, page.locator(cell).first)
    expect(page.locator("td.field-status_label").first).to_have_text("Success")
    expect(page.locator("td.field-duration").first).to_be_hidden()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1440px", "390px"])
def test_the_work_account_list_fits_its_box(live_server, screen, organization, make_account, entra, viewport):
    make_account(ADMIN, organization=organization, role=OrganizationRole.ADMIN)
    assert (
        entra.post("/Users", entra_user(LONG_NAME, displayName="Someone With A Long Name " * 4)).status_code
        == 201
    )

    page = signed_in(screen, live_server, ACCOUNTS_PATH, viewport=viewport)

    fits(page, "#list-table-box")
    row = page.locator("#result_list tbody tr").filter(has=page.locator(f'[title="{LONG_NAME}"]'))
    for cell in ("th.field-user_name_label", "td.field-status"):
        expect(row.locator(cell)).to_be_visible()
        within_viewport(page, row.locator(cell))
    expect(row.locator("td.field-status")).to_have_text("Active")


# 6 and 7. Account and group pages -----------------------------------------------------------------


def test_a_disabled_accounts_page_says_so_and_shows_no_django_internals(
    live_server, screen, organization, make_account, entra
):
    make_account(ADMIN, organization=organization, role=OrganizationRole.ADMIN)
    ada = entra.post("/Users", entra_user("ada@contoso.com", displayName="Ada Lovelace")).body
    patch = {"schemas": [PATCH_OP], "Operations": [{"op": "Replace", "path": "active", "value": False}]}
    assert entra.patch(f"/Users/{ada['id']}", patch).status_code == 200

    page = signed_in(screen, live_server, f"{ACCOUNTS_PATH}{ada['id']}/change/")

    expect(page.get_by_role("heading", level=1)).to_have_text("Ada Lovelace")
    expect(page.locator("#status-banner")).to_contain_text(
        "Disabled · Microsoft Entra ID disabled this account"
    )
    expect(page.locator("#account-profile")).to_contain_text("Display name")
    expect(page.locator("#account-profile")).to_contain_text("displayName")
    for internal in ("Last login", "Superuser status", "Change work account", "Save"):
        expect(page.get_by_text(internal, exact=False)).to_have_count(0)
    expect(page.locator("#provisioning-history .provisioning-history-event")).to_have_count(2)


def test_a_group_lists_its_members_and_the_log_names_who_was_added(
    live_server, screen, organization, make_account, entra
):
    make_account(ADMIN, organization=organization, role=OrganizationRole.ADMIN)
    alice = entra.post("/Users", entra_user("alice@contoso.com", displayName="Alice Example")).body
    group = entra.post("/Groups", {"schemas": [GROUP], "displayName": "Engineering"}).body
    add = {
        "schemas": [PATCH_OP],
        "Operations": [{"op": "Add", "path": "members", "value": [{"value": alice["id"]}]}],
    }
    assert entra.patch(f"/Groups/{group['id']}", add).status_code == 204

    page = signed_in(screen, live_server, f"/admin/accounts/workgroup/{group['id']}/change/")

    expect(page.get_by_role("heading", level=1)).to_have_text("Engineering")
    expect(page.locator("#group-members h2")).to_have_text("Members (1)")
    page.locator("#member-list").get_by_role("link", name="Alice Example").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Alice Example")
    expect(page.locator("#account-groups")).to_contain_text("Engineering")

    page.goto(f"{live_server.url}/admin/accounts/workgroup/{group['id']}/change/")
    page.locator("#provisioning-history .provisioning-history-event").first.locator("a").click()
    page.locator("#tab-modified-properties").click()
    expect(page.locator("#modified-properties-table")).to_contain_text("+ Alice Example")


# 8. Edges ---------------------------------------------------------------------------------------


def test_a_member_who_signs_in_gets_a_page_of_their_own(live_server, screen, organization, entra):
    ada = entra.post("/Users", entra_user("ada@contoso.com", displayName="Ada Lovelace")).body
    account = WorkAccount.objects.get(pk=ada["id"])
    account.set_password(PORTAL_PASSWORD)
    account.save()

    page = signed_in(screen, live_server, "/admin/", username="ada@contoso.com")

    expect(page.get_by_role("heading", level=1)).to_have_text("Ada Lovelace")
    expect(page.locator("#my-organization")).to_have_text("Contoso")
    expect(page.locator("#my-managed-by")).to_contain_text("through Microsoft Entra ID")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("You are signed out")
    page.get_by_role("link", name="Sign in again").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")


def test_view_site_log_out_and_a_403_for_support_staff(live_server, screen, organization, make_account):
    make_account(SUPPORT, organization=organization, role=OrganizationRole.SUPPORT)
    page = signed_in(screen, live_server, "/admin/", username=SUPPORT)

    page.get_by_role("link", name="View site").click()
    expect(page).to_have_url(f"{live_server.url}/admin/")

    page.goto(f"{live_server.url}/admin/accounts/provisioningconnection/add/")
    expect(page.get_by_role("heading", level=1)).to_have_text("You can't do this here")
    expect(page.locator("#forbidden-reason")).to_contain_text(
        "Support staff read their organization's portal"
    )
    page.get_by_role("link", name="read the provisioning logs").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Provisioning logs")

    page.locator("#logout-form button").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("You are signed out")
    expect(page.get_by_role("link", name="Sign in again")).to_be_visible()


def test_a_secret_shown_once_has_a_copy_button(live_server, screen, organization, make_account):
    from accounts.connections.services import connection_get_or_create

    make_account(ADMIN, organization=organization, role=OrganizationRole.ADMIN)
    connection = connection_get_or_create(organization=organization)
    page = signed_in(screen, live_server, f"/admin/accounts/provisioningconnection/{connection.pk}/change/")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])

    page.locator("#id_token_label").fill("entra")
    page.get_by_role("button", name="Issue secret token").click()

    expect(page.locator("#secret-warning")).to_contain_text("Copy the secret token now")
    secret = page.locator("#secret-token").inner_text()
    button = page.get_by_role("button", name="Copy Secret Token")
    button.click()
    expect(button).to_have_text("Copied")
    assert re.match(r"^wat_", secret)


# 9. By identity ---------------------------------------------------------------------------------


def test_an_admin_finds_a_person_by_the_start_of_their_name_and_comes_back_to_the_filtered_list(
    live_server, screen, organization, make_account, entra
):
    make_account(ADMIN, organization=organization, role=OrganizationRole.ADMIN)
    for name in ("alice@contoso.com", "alfred@contoso.com", "bob@contoso.com"):
        assert entra.post("/Users", entra_user(name)).status_code == 201

    page = signed_in(screen, live_server, LOGS_PATH)
    page.locator("#searchbar").fill("ali")
    page.locator("#searchbar").press("Enter")
    expect(page.locator("td.field-identity_label")).to_have_text(["alice@contoso.com"])

    page.locator("th.field-time a").first.click()
    page.locator("#event-object-link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("alice@contoso.com")
    page.go_back()
    page.locator("#back-to-logs").click()
    expect(page.locator("#searchbar")).to_have_value("ali")
    expect(page.locator("td.field-identity_label")).to_have_text(["alice@contoso.com"])


# 10. Timestamps and onboarding -------------------------------------------------------------------


def test_times_are_shown_in_the_viewers_time_zone_with_utc_on_hover(
    live_server, screen, organization, make_account, entra
):
    make_account(ADMIN, organization=organization, role=OrganizationRole.ADMIN)
    assert entra.post("/Users", entra_user("alice@contoso.com")).status_code == 201

    page = signed_in(screen, live_server, LOGS_PATH, timezone_id="Asia/Kolkata")

    shown = page.locator("th.field-time time")
    expect(shown).to_have_attribute("data-localised", "true")
    expect(shown).to_have_text(re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d GMT\+5:30$"))
    expect(shown).to_have_attribute("title", re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$"))


def test_a_new_organization_sees_a_checklist_that_ticks_itself_off(
    live_server, screen, organization, make_account
):
    make_account(ADMIN, organization=organization, role=OrganizationRole.ADMIN)
    page = signed_in(screen, live_server, LOGS_PATH)
    checklist = page.locator("#first-run-checklist")
    expect(checklist).to_contain_text("Connect Microsoft Entra ID: 0 of 4 done")
    expect(page.locator("#checklist-tenant-url")).to_have_text(f"{live_server.url}/scim/v2/")

    issued = scim_token_create(organization=organization, label="entra")
    entra = ScimClient(issued.secret)
    assert entra.get('/Users?filter=userName eq "test@contoso.com"').status_code == 200
    page.reload()
    expect(checklist).to_contain_text("3 of 4 done")
    expect(page.locator("#checklist-test")).to_have_attribute("data-done", "true")
    expect(page.locator("#checklist-cycle")).to_have_attribute("data-done", "false")

    assert entra.post("/Users", entra_user("alice@contoso.com")).status_code == 201
    page.reload()
    expect(checklist).to_have_count(0)
    expect(page.locator("td.field-identity_label")).to_have_count(2)
