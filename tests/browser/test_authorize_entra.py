"""
Entra's legacy "Authorize" button, end to end in a real browser: the authorization-code flow as
Entra builds it (no PKCE, no scope), the sign-in pages, the consent page, the redirect back to
https://portal.azure.com/TokenAuthorize, then what Entra does with the code: the token exchange
(HTTP Basic client auth), "Test Connection" on /scim/v2/Users and a refresh.

portal.azure.com is not reachable from the tests: the browser's requests to it are answered
locally and recorded, so the tests can read the code, state or error Entra would receive.
"""

import base64
import json
import secrets
import urllib.error
import urllib.request
import uuid
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from oauth2_provider.models import Grant
from playwright.sync_api import expect

from accounts.attributes import AccountAttributes
from accounts.connections.services import ENTRA_REDIRECT_URI, entra_client_create
from accounts.models import OrganizationRole
from accounts.services import account_create, admin_create
from tests.browser.conftest import sign_in


PASSWORD = "a-long-enough-passphrase-42"
CONNECTION_NAME = "Entra prod"
ENTRA_PORTAL = "https://portal.azure.com/**"
LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
WRONG_CREDENTIALS = "The username or password is incorrect. Check both and try again."


# Fixtures ----------------------------------------------------------------------------------------


@pytest.fixture
def entra_client(live_server, organization):
    """Contoso's provisioning connection with its OAuth client (the live server serves it)."""
    return entra_client_create(organization=organization, name=CONNECTION_NAME)


@pytest.fixture
def admin(organization):
    return admin_create(organization=organization, email="admin@contoso.com", password=PASSWORD)


@pytest.fixture
def entra_portal(page) -> list[str]:
    """Answers the browser's requests to portal.azure.com locally; returns the URLs requested."""
    requested = []

    def fulfill(route):
        requested.append(route.request.url)
        route.fulfill(status=200, content_type="text/html", body="<html><body>Entra</body></html>")

    page.route(ENTRA_PORTAL, fulfill)
    return requested


# Helpers -----------------------------------------------------------------------------------------


def authorize_url(base_url: str, client_id: str, state: str) -> str:
    """The authorize URL exactly as Entra builds it: no PKCE, no scope."""
    query = urlencode(
        {"response_type": "code", "client_id": client_id, "redirect_uri": ENTRA_REDIRECT_URI, "state": state}
    )
    return f"{base_url}/o/authorize/?{query}"


def open_consent_page_as_admin(page, live_server, entra_client, state: str) -> None:
    page.goto(authorize_url(live_server.url, entra_client.client_id, state))
    assert urlsplit(page.url).path == "/signin/"
    sign_in(page, "admin@contoso.com", PASSWORD)
    expect(page.get_by_role("heading", level=1)).to_have_text("Allow Entra prod to provision Contoso?")


def query_of(url: str) -> dict[str, str]:
    parsed = parse_qs(urlsplit(url).query, keep_blank_values=True, strict_parsing=True)
    assert all(len(values) == 1 for values in parsed.values()), url
    return {name: values[0] for name, values in parsed.items()}


def call(url: str, *, data: dict | None = None, headers: dict | None = None) -> tuple[int, dict, dict]:
    """One HTTP request as Entra makes it (form-encoded when `data`): status, headers, JSON body."""
    body = urlencode(data).encode() if data is not None else None
    request = urllib.request.Request(url, data=body, headers=headers or {})
    if body is not None:
        request.add_header("Content-Type", "application/x-www-form-urlencoded")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        with error:
            return error.code, dict(error.headers), json.loads(error.read() or b"null")


def token_request(live_server, entra_client, **form) -> tuple[int, dict]:
    credentials = f"{entra_client.client_id}:{entra_client.client_secret}".encode()
    basic = {"Authorization": "Basic " + base64.b64encode(credentials).decode()}
    status, _, body = call(f"{live_server.url}/o/token/", data=form, headers=basic)
    return status, body


def run_test_connection(live_server, access_token: str) -> tuple[int, dict]:
    """Entra's "Test Connection": look up a userName that cannot exist."""
    url = f"{live_server.url}/scim/v2/Users?filter=userName+eq+%22{uuid.uuid4()}%22"
    status, _, body = call(url, headers={"Authorization": f"Bearer {access_token}"})
    return status, body


EMPTY_LIST_RESPONSE = {
    "schemas": [LIST_RESPONSE],
    "totalResults": 0,
    "Resources": [],
    "startIndex": 1,
    "itemsPerPage": 0,
}


# Tests -------------------------------------------------------------------------------------------


def test_admin_authorizes_entra_and_test_connection_succeeds(
    live_server, page, entra_portal, entra_client, admin
):
    state = secrets.token_urlsafe(16)
    open_consent_page_as_admin(page, live_server, entra_client, state)
    expect(page.get_by_text("Create, update, deactivate and delete work accounts and groups")).to_be_visible()
    expect(page.get_by_role("button", name="Cancel")).to_be_visible()

    with page.expect_request(ENTRA_PORTAL) as redirected:
        page.get_by_role("button", name="Allow").click()
    assert redirected.value.url.startswith(ENTRA_REDIRECT_URI + "?")
    returned = query_of(redirected.value.url)
    assert returned["state"] == state
    assert returned["code"]
    assert returned["iss"] == live_server.url  # RFC 9207
    assert "error" not in returned
    page.wait_for_url(ENTRA_PORTAL)
    assert entra_portal == [redirected.value.url]

    status, tokens = token_request(
        live_server,
        entra_client,
        grant_type="authorization_code",
        code=returned["code"],
        redirect_uri=ENTRA_REDIRECT_URI,
    )
    assert status == 200, tokens
    assert (tokens["token_type"], tokens["expires_in"], tokens["scope"]) == ("Bearer", 3600, "scim")
    assert tokens["access_token"] and tokens["refresh_token"]

    assert run_test_connection(live_server, tokens["access_token"]) == (200, EMPTY_LIST_RESPONSE)

    status, refreshed = token_request(
        live_server, entra_client, grant_type="refresh_token", refresh_token=tokens["refresh_token"]
    )
    assert status == 200, refreshed
    assert (refreshed["token_type"], refreshed["expires_in"], refreshed["scope"]) == ("Bearer", 3600, "scim")
    assert refreshed["refresh_token"] and refreshed["refresh_token"] != tokens["refresh_token"]
    assert refreshed["access_token"] != tokens["access_token"]
    assert run_test_connection(live_server, refreshed["access_token"]) == (200, EMPTY_LIST_RESPONSE)


def test_non_admin_sees_the_admin_permission_page_and_no_code(live_server, page, entra_portal, entra_client):
    account_create(
        organization=entra_client.connection.organization,
        attributes=AccountAttributes(user_name="member@contoso.com", password=PASSWORD),
        role=OrganizationRole.MEMBER,
    )
    page.goto(authorize_url(live_server.url, entra_client.client_id, secrets.token_urlsafe(16)))
    sign_in(page, "member@contoso.com", PASSWORD)

    expect(page.get_by_role("heading", level=1)).to_have_text("Admin permissions needed")
    expect(
        page.get_by_text("Your account needs Admin permissions in Contoso to authorize provisioning.")
    ).to_be_visible()
    expect(page.get_by_role("button", name="Allow")).to_have_count(0)
    assert entra_portal == []
    assert not Grant.objects.exists()


def test_admin_of_another_organization_sees_the_admin_permission_page(
    live_server, page, entra_portal, entra_client, other_organization
):
    admin_create(organization=other_organization, email="admin@fabrikam.com", password=PASSWORD)
    page.goto(authorize_url(live_server.url, entra_client.client_id, secrets.token_urlsafe(16)))
    sign_in(page, "admin@fabrikam.com", PASSWORD)

    expect(page.get_by_role("heading", level=1)).to_have_text("Admin permissions needed")
    expect(
        page.get_by_text("Your account needs Admin permissions in Contoso to authorize provisioning.")
    ).to_be_visible()
    expect(page.get_by_role("button", name="Allow")).to_have_count(0)
    assert entra_portal == []
    assert not Grant.objects.exists()


def test_cancel_returns_access_denied_to_entra(live_server, page, entra_portal, entra_client, admin):
    state = secrets.token_urlsafe(16)
    open_consent_page_as_admin(page, live_server, entra_client, state)

    with page.expect_request(ENTRA_PORTAL) as redirected:
        page.get_by_role("button", name="Cancel").click()
    assert redirected.value.url.startswith(ENTRA_REDIRECT_URI + "?")
    returned = query_of(redirected.value.url)
    assert returned["error"] == "access_denied"
    assert returned["state"] == state
    assert "code" not in returned
    assert not Grant.objects.exists()


def test_wrong_password_shows_a_generic_error_and_stays_on_the_password_step(
    live_server, page, entra_portal, entra_client, admin
):
    page.goto(authorize_url(live_server.url, entra_client.client_id, secrets.token_urlsafe(16)))
    sign_in(page, "admin@contoso.com", "not-the-password-1")

    expect(page.get_by_role("alert")).to_have_text(WRONG_CREDENTIALS)
    expect(page.get_by_role("heading", level=1)).to_have_text("Enter password")
    expect(page.get_by_label("Password", exact=True)).to_be_visible()
    expect(page.get_by_label("Password", exact=True)).to_have_value("")
    assert urlsplit(page.url).path == "/signin/password/"
    assert entra_portal == []
