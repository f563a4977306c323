"""Portal pages send a strict Content-Security-Policy, Referrer-Policy, nosniff and Permissions-Policy."""

import pytest
from django.test import Client


pytestmark = pytest.mark.django_db
PORTAL_CSP = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "font-src": "'self'",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'none'",
    "frame-ancestors": "'none'",
    "form-action": "'self'",
}
PERMISSIONS = (
    "accelerometer=(), camera=(), display-capture=(), geolocation=(), gyroscope=(), hid=(), "
    "magnetometer=(), microphone=(), midi=(), payment=(), serial=(), usb=()"
)


def directives(response) -> dict[str, str]:
    """The policy's directives (django-csp writes them in no fixed order)."""
    parts = [part.strip().split(" ", 1) for part in response.headers["Content-Security-Policy"].split(";")]
    return {name: value for name, value in parts}


@pytest.mark.parametrize("path", ["/admin/", "/admin/provisioning_logs/provisioningevent/dashboard/"])
def test_portal_pages_send_the_security_headers(admin_browser, path):
    response = admin_browser.get(path)
    assert response.status_code == 200
    assert directives(response) == PORTAL_CSP
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Permissions-Policy"] == PERMISSIONS
    assert response.headers["X-Frame-Options"] == "DENY"


def test_the_password_step_sends_the_strict_policy():
    client = Client()
    client.post("/signin/", {"username": "someone@contoso.com"})
    response = client.get("/signin/password/")
    assert (response.status_code, directives(response)) == (200, PORTAL_CSP)


def test_the_username_step_may_lead_on_to_an_identity_provider():
    assert directives(Client().get("/signin/")) == {**PORTAL_CSP, "form-action": "'self' https:"}


def test_the_consent_page_may_lead_on_to_an_https_redirect_uri(organization, make_account):
    from urllib.parse import urlencode

    from accounts.connections.services import ENTRA_REDIRECT_URI, entra_client_create

    make_account("admin@contoso.com", organization=organization, role="admin")
    client = Client()
    client.login(username="admin@contoso.com", password="a-long-enough-passphrase-42")
    entra = entra_client_create(organization=organization, name="Entra prod")
    query = urlencode(
        {"response_type": "code", "client_id": entra.client_id, "redirect_uri": ENTRA_REDIRECT_URI}
    )
    response = client.get(f"/o/authorize/?{query}")
    assert response.status_code == 200
    assert directives(response) == {**PORTAL_CSP, "form-action": "'self' https:"}


def test_scim_answers_carry_no_page_policy(scim):
    response = scim.get("/ServiceProviderConfig")
    assert "Content-Security-Policy" not in response.headers
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_a_scim_write_needs_no_csrf_token_since_scim_is_bearer_only(scim_token):
    client = Client(enforce_csrf_checks=True)

    response = client.post(
        "/scim/v2/Users",
        data='{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "ada@contoso.com"}',
        content_type="application/scim+json",
        headers={"Authorization": f"Bearer {scim_token}"},
    )

    assert (response.status_code, response.json()["userName"]) == (201, "ada@contoso.com")


def test_a_portal_form_post_without_a_csrf_token_is_refused():
    response = Client(enforce_csrf_checks=True).post("/signin/", {"username": "ada@contoso.com"})

    assert response.status_code == 403
