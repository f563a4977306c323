"""
A person whose userName exists in several organizations signs in in a real browser: after the
password, the page lets them choose among the organizations the password matched; Entra's
Authorize button passes its client's organization, so an admin lands on the consent page directly.
"""

import secrets

import pytest
from playwright.sync_api import expect

from accounts.connections.services import entra_client_create
from accounts.models import OrganizationRole
from tests.browser.conftest import sign_in
from tests.browser.test_authorize_entra import authorize_url
from tests.conftest import PORTAL_PASSWORD


USER = "pat@example.com"


@pytest.fixture
def pat_in_two_organizations(make_account, organization, other_organization):
    return {
        org.slug: make_account(USER, organization=org, role=OrganizationRole.ADMIN)
        for org in (organization, other_organization)
    }


def test_the_person_chooses_the_organization_after_the_password(live_server, page, pat_in_two_organizations):
    page.goto(f"{live_server.url}/signin/")
    sign_in(page, USER, PORTAL_PASSWORD)

    expect(page.get_by_role("heading", level=1)).to_have_text("Choose your organization")
    choices = page.locator("form.choices button")
    expect(choices).to_have_text(["Contoso", "Fabrikam"])
    page.get_by_role("button", name="Fabrikam").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Organization administration")
    expect(page.locator(".portal-organization")).to_have_text("Fabrikam")


def test_a_wrong_password_shows_no_organization(live_server, page, pat_in_two_organizations):
    page.goto(f"{live_server.url}/signin/")
    sign_in(page, USER, "not-the-password-at-all")

    expect(page.get_by_role("heading", level=1)).to_have_text("Enter password")
    expect(page.get_by_role("alert")).to_have_text(
        "The username or password is incorrect. Check both and try again."
    )
    expect(page.get_by_text("Contoso")).to_have_count(0)
    expect(page.get_by_text("Fabrikam")).to_have_count(0)


def test_authorize_signs_an_admin_of_several_organizations_in_to_the_clients(
    live_server, page, pat_in_two_organizations, organization
):
    entra = entra_client_create(organization=organization, name="Entra prod")
    page.route("https://portal.azure.com/**", lambda route: route.fulfill(status=200, body="Entra"))
    page.goto(authorize_url(live_server.url, entra.client_id, secrets.token_urlsafe(16)))

    expect(page.get_by_text("to Contoso")).to_be_visible()
    sign_in(page, USER, PORTAL_PASSWORD)
    expect(page.get_by_role("heading", level=1)).to_have_text("Allow Entra prod to provision Contoso?")
