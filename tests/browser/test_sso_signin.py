"""
Single sign-on in a real browser: the username, Continue, the identity provider's page, signed in
to the portal. The identity provider is the in-process test IdP (tests/accounts/saml_idp.py):
the browser's requests to https://idp.test/ are answered by it with the page Entra would show
after the user signed in there, an auto-submitting form that posts the signed response to our
Assertion Consumer Service. That POST is cross-site, as Entra's is.
"""

import html
import urllib.request
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from accounts.models import OrganizationRole, SsoConfiguration, WorkAccount
from accounts.sso.services import sso_configuration_save
from tests.accounts.saml_idp import TestIdentityProvider


IDP_PAGES = "https://idp.test/**"


@pytest.fixture
def idp(tmp_path) -> TestIdentityProvider:
    return TestIdentityProvider(tmp_path)


@pytest.fixture
def sso(live_server, organization, idp) -> SsoConfiguration:
    configuration = sso_configuration_save(
        configuration=SsoConfiguration(
            organization=organization,
            enabled=True,
            idp_entity_id=idp.entity_id,
            idp_sso_url=idp.sso_url,
            idp_certificate=idp.certificate_pem,
        )
    )
    with urllib.request.urlopen(f"{live_server.url}/sso/{organization.slug}/metadata/", timeout=10) as reply:
        idp.trust(reply.read().decode())
    return configuration


@pytest.fixture
def admin(live_server, make_account, organization):
    return make_account("admin@contoso.com", organization=organization, role=OrganizationRole.ADMIN)


def auto_post_page(posted) -> str:
    """The identity provider's answer: a form that posts the response to the ACS at once."""
    inputs = "".join(
        f'<input type="hidden" name="{html.escape(name)}" value="{html.escape(value)}">'
        for name, value in posted.fields.items()
    )
    return (
        f'<html><body onload="document.forms[0].submit()"><form method="post" '
        f'action="{html.escape(posted.acs_url)}">{inputs}</form></body></html>'
    )


@pytest.fixture
def idp_pages(page, idp) -> list[str]:
    """Answers https://idp.test/ as the IdP does once its user has signed in; returns the URLs."""
    requested = []

    def answer(route):
        requested.append(route.request.url)
        posted = idp.answer(route.request.url, "admin@contoso.com")
        route.fulfill(status=200, content_type="text/html", body=auto_post_page(posted))

    page.route(IDP_PAGES, answer)
    return requested


def expect_portal_of_contoso(page, live_server):
    page.wait_for_url(f"{live_server.url}/admin/")
    expect(page.locator("#site-name")).to_have_text("Work Accounts")
    expect(page.locator(".portal-organization")).to_have_text("Contoso")


def test_username_continue_identity_provider_then_signed_in(live_server, page, sso, admin, idp_pages):
    acs_posts = []
    page.on("request", lambda r: acs_posts.append(r.method) if r.url.endswith("/sso/contoso/acs/") else None)
    page.goto(f"{live_server.url}/signin/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    page.get_by_label("Username", exact=True).fill("admin@contoso.com")
    page.get_by_role("button", name="Continue").click()

    expect_portal_of_contoso(page, live_server)
    assert len(idp_pages) == 1
    assert urlsplit(idp_pages[0]).path == urlsplit(sso.idp_sso_url).path
    assert "SAMLRequest=" in idp_pages[0]
    # The IdP's cross-site POST lacks the SameSite=Lax session cookie; our page posts it again.
    assert acs_posts == ["POST", "POST"]


def test_identity_provider_initiated_sign_in(live_server, page, sso, admin, idp):
    # Entra's My Apps tile: the IdP posts a response that answers no request.
    posted = idp.unsolicited(
        "admin@contoso.com",
        acs_url=f"{live_server.url}/sso/contoso/acs/",
        audience=f"{live_server.url}/sso/contoso/metadata/",
    )
    page.route(
        "https://idp.test/myapps",
        lambda route: route.fulfill(status=200, content_type="text/html", body=auto_post_page(posted)),
    )
    page.goto("https://idp.test/myapps")
    expect_portal_of_contoso(page, live_server)


def test_account_disabled_meanwhile_gets_a_page_saying_so(live_server, page, sso, admin, idp):
    def answer(route):
        # Entra disables the account while its user is on the identity provider's page.
        WorkAccount.objects.filter(pk=admin.pk).update(is_active=False)
        posted = idp.answer(route.request.url, "admin@contoso.com")
        route.fulfill(status=200, content_type="text/html", body=auto_post_page(posted))

    page.route(IDP_PAGES, answer)
    page.goto(f"{live_server.url}/signin/")
    page.get_by_label("Username", exact=True).fill("admin@contoso.com")
    page.get_by_role("button", name="Continue").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Work account disabled")
    expect(page.get_by_role("alert")).to_contain_text(
        "The work account “admin@contoso.com” in Contoso is disabled."
    )
    page.goto(f"{live_server.url}/admin/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
