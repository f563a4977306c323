"""
The audit API in a real browser (headless Chromium against the live server): its documentation
page renders from local files only, under a strict Content-Security-Policy; an admin creates an
API client, whose secret works once copied, and revokes it.
"""

import base64
import re

import pytest
from django.test import Client
from playwright.sync_api import expect

from accounts.models import OrganizationRole
from tests.browser.conftest import sign_in
from tests.conftest import PORTAL_PASSWORD


pytestmark = pytest.mark.django_db(transaction=True)

ADMIN = "admin@contoso.com"
# What a strict deployment sends (django-csp's kind of policy): nothing inline, nothing foreign.
STRICT_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)


def with_strict_csp(route):
    response = route.fetch()
    route.fulfill(response=response, headers={**response.headers, "content-security-policy": STRICT_CSP})


def test_the_documentation_page_renders_from_local_files_under_a_strict_csp(
    live_server, page, organization, make_account
):
    make_account(ADMIN, organization=organization, role=OrganizationRole.ADMIN)
    requested, violations = [], []
    page.on("request", lambda request: requested.append(request.url))
    page.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    page.goto(f"{live_server.url}/admin/")
    sign_in(page, ADMIN, PORTAL_PASSWORD)
    page.route(re.compile(r".*/api/v1/docs/.*"), with_strict_csp)

    page.locator("#audit-api-link").click()

    # Swagger UI renders once the schema is generated, which takes seconds on a loaded machine.
    expect(page.locator(".swagger-ui .info .title")).to_contain_text(
        "Work Accounts provisioning audit API", timeout=30_000
    )
    expect(
        page.locator(".opblock-summary-path").filter(has_text=re.compile(r"^/api/v1/events/$"))
    ).to_be_visible()
    expect(page.locator(".opblock-summary-path")).to_have_count(6)
    assert violations == []
    assert requested and all(
        url.startswith(live_server.url) or url.startswith("data:") for url in requested
    ), [url for url in requested if not url.startswith(live_server.url)]


def test_an_admin_creates_an_api_client_uses_its_secret_and_revokes_it(
    live_server, page, organization, make_account
):
    make_account(ADMIN, organization=organization, role=OrganizationRole.ADMIN)
    page.goto(f"{live_server.url}/admin/provisioning_logs/apiclient/")
    sign_in(page, ADMIN, PORTAL_PASSWORD)

    page.get_by_role("link", name="Add API client").click()
    page.get_by_label("Name").fill("Splunk")
    page.get_by_role("button", name="Create API client").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("API client created")
    client_id = page.locator("#client-id").inner_text()
    secret = page.locator("#client-secret").inner_text()
    expect(page.locator("#token-url")).to_have_text(f"{live_server.url}/o/token/")
    expect(page.locator("#scope")).to_have_text("audit:read")
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    token = (
        Client()
        .post("/o/token/", {"grant_type": "client_credentials"}, headers={"Authorization": f"Basic {basic}"})
        .json()["access_token"]
    )
    assert Client().get("/api/v1/events/", headers={"Authorization": f"Bearer {token}"}).status_code == 200

    page.get_by_role("link", name="Go to the API client").click()
    expect(page.locator(".field-status")).to_contain_text("Active")
    assert secret not in page.content()
    page.get_by_role("button", name="Revoke API client").click()

    expect(page.locator(".messagelist")).to_contain_text(
        "API client Splunk revoked: its tokens no longer work."
    )
    expect(page.locator(".field-status")).to_contain_text("Revoked")
    expect(page.get_by_role("button", name="Revoke API client")).to_have_count(0)
    assert Client().get("/api/v1/events/", headers={"Authorization": f"Bearer {token}"}).status_code == 401
