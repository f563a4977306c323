"""
Rotating a client secret as an admin does it in Chromium: Rotate on the connection's page, the new
secret shown once with a copy button, both secrets listed as active, then the old one revoked.
"""

import pytest
from playwright.sync_api import expect

from accounts.connections.services import entra_client_create
from accounts.models import OrganizationRole
from tests.browser.conftest import sign_in
from tests.conftest import PORTAL_PASSWORD


pytestmark = pytest.mark.django_db(transaction=True)

ADMIN = "admin@contoso.com"


def test_an_admin_rotates_the_client_secret_and_revokes_the_old_one(
    live_server, page, organization, make_account
):
    make_account(ADMIN, organization=organization, role=OrganizationRole.ADMIN)
    entra = entra_client_create(organization=organization, name="Entra prod")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.goto(f"{live_server.url}/admin/accounts/provisioningconnection/{entra.connection.pk}/change/")
    sign_in(page, ADMIN, PORTAL_PASSWORD)

    page.get_by_role("button", name="Rotate: issue a new client secret").click()

    expect(page.locator("#secret-warning")).to_contain_text("Copy the client secret now")
    secret = page.locator("#client-secret").inner_text()
    button = page.get_by_role("button", name="Copy Client secret")
    button.click()
    expect(button).to_have_text("Copied")
    page.get_by_role("link", name="Back to the connection").click()
    expect(page.locator("#client-secrets .credential-status")).to_have_text(["Active", "Active"])
    expect(page.locator("#issue-client-secret-full")).to_be_visible()

    old_row = page.locator("#client-secrets tr", has_text=entra.client_secret[:8])
    old_row.get_by_role("link", name="Revoke client secret").click()
    page.get_by_role("button", name="Revoke client secret").click()

    expect(page.locator(".messagelist")).to_contain_text(
        "revoked; Entra can no longer use it, and it had no live access tokens."
    )
    expect(page.locator("#client-secrets .credential-status")).to_contain_text(["Active", "Revoked"])
    assert secret[:8] in page.locator("#client-secrets tr", has_text="Active").inner_text()
