"""An admin sets the notification address, sends a test e-mail, sees a quarantined connection
with its reason and clears it (headless Chromium against the in-process live server)."""

import pytest
from django.core import mail
from playwright.sync_api import expect

from accounts.connections.services import scim_token_create, scim_token_revoke
from accounts.models import OrganizationRole
from provisioning_logs.health import health_of
from provisioning_logs.models import HealthState
from tests.browser.conftest import sign_in
from tests.conftest import PORTAL_PASSWORD, ScimClient


pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def quarantined_connection(organization, make_account, settings):
    """A connection quarantined the real way: a revoked token, refused three times in a row."""
    make_account("admin@contoso.com", organization=organization, role=OrganizationRole.ADMIN)
    issued = scim_token_create(organization=organization, label="entra-prod")
    client = ScimClient(issued.secret)
    assert client.get("/Users").status_code == 200
    scim_token_revoke(organization=organization, label="entra-prod")
    for _ in range(settings.QUARANTINE_CREDENTIAL_FAILURES):
        assert client.get("/Users").status_code == 401
    connection = issued.token.connection
    assert health_of(connection).state == HealthState.QUARANTINED
    return connection


def test_admin_sets_notifications_sends_a_test_mail_and_clears_the_quarantine(
    live_server, page, quarantined_connection
):
    page.goto(f"{live_server.url}/admin/accounts/provisioningconnection/{quarantined_connection.pk}/change/")
    sign_in(page, "admin@contoso.com", PORTAL_PASSWORD)

    expect(page.locator("#health-state")).to_have_text("Quarantined")
    expect(page.locator("#health-reason")).to_have_text("Invalid credentials")
    expect(page.locator("#health-timeline")).to_contain_text("3 requests in a row were refused with HTTP 401")

    page.get_by_label("Notification e-mail addresses").fill("it-team@contoso.com")
    page.get_by_label("Send an e-mail notification when a failure occurs").check()
    page.get_by_role("button", name="Save notification settings").click()
    expect(page.locator(".messagelist")).to_contain_text("Notification settings saved.")

    mail.outbox.clear()
    page.get_by_role("button", name="Send test e-mail").click()
    expect(page.locator(".messagelist")).to_contain_text(
        "The mail server accepted the test e-mail for it-team@contoso.com."
    )
    assert [message.to for message in mail.outbox] == [["it-team@contoso.com"]]

    page.get_by_role("button", name="Clear quarantine").click()
    expect(page.locator(".messagelist")).to_contain_text(
        "Quarantine cleared. The connection is healthy again."
    )
    expect(page.locator("#health-state")).to_have_text("Healthy")
    expect(page.locator("#health-timeline")).to_contain_text("Cleared by admin@contoso.com.")
    assert health_of(quarantined_connection).state == HealthState.HEALTHY
