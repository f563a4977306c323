"""Organization admins issue and revoke secret tokens in the admin portal; support staff read."""

import re

import pytest
from django.test import Client

from accounts.attributes import AccountAttributes
from accounts.connections.models import ScimSecretToken
from accounts.connections.services import connection_get_or_create, token_digest
from accounts.models import OrganizationRole
from accounts.services import account_create, admin_create


pytestmark = pytest.mark.django_db
PASSWORD = "a-long-enough-passphrase-42"


@pytest.fixture
def connection(organization):
    return connection_get_or_create(organization=organization)


@pytest.fixture
def admin_browser(organization) -> Client:
    admin_create(organization=organization, email="admin@contoso.com", password=PASSWORD)
    client = Client()
    assert client.login(username="admin@contoso.com", password=PASSWORD)
    return client


@pytest.fixture
def support_browser(organization) -> Client:
    account_create(
        organization=organization,
        attributes=AccountAttributes(user_name="support@contoso.com", password=PASSWORD),
        role=OrganizationRole.SUPPORT,
    )
    client = Client()
    assert client.login(username="support@contoso.com", password=PASSWORD)
    return client


def _issue(client, connection, label="entra-prod"):
    return client.post(
        f"/admin/accounts/provisioningconnection/{connection.pk}/tokens/new/", {"label": label}
    )


def test_admin_issues_a_token_shown_once_and_stored_hashed(admin_browser, connection):
    response = _issue(admin_browser, connection)
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    secret = re.search(r'id="secret-token">(wat_[^<]+)<', response.content.decode()).group(1)
    token = ScimSecretToken.objects.get(label="entra-prod")
    assert token.digest == token_digest(secret)
    assert (
        secret
        not in admin_browser.get(
            f"/admin/accounts/provisioningconnection/{connection.pk}/change/"
        ).content.decode()
    )
    assert Client().get("/scim/v2/Users", headers={"Authorization": f"Bearer {secret}"}).status_code == 200


def test_admin_revokes_a_token_and_it_stops_working(admin_browser, connection):
    response = _issue(admin_browser, connection)
    secret = re.search(r'id="secret-token">(wat_[^<]+)<', response.content.decode()).group(1)
    token = ScimSecretToken.objects.get(label="entra-prod")

    revoked = admin_browser.post(
        f"/admin/accounts/provisioningconnection/{connection.pk}/tokens/{token.pk}/revoke/",
        {"confirm": "yes"},
    )

    assert revoked.status_code == 302
    assert Client().get("/scim/v2/Users", headers={"Authorization": f"Bearer {secret}"}).status_code == 401


def test_revoking_without_the_confirmation_asks_first_and_revokes_nothing(admin_browser, connection):
    response = _issue(admin_browser, connection)
    secret = re.search(r'id="secret-token">(wat_[^<]+)<', response.content.decode()).group(1)
    token = ScimSecretToken.objects.get(label="entra-prod")
    url = f"/admin/accounts/provisioningconnection/{connection.pk}/tokens/{token.pk}/revoke/"

    for asked in (admin_browser.get(url), admin_browser.post(url)):
        assert asked.status_code == 200
        assert "Revoke the secret token entra-prod" in asked.content.decode()
    token.refresh_from_db()
    assert token.revoked_at is None
    assert Client().get("/scim/v2/Users", headers={"Authorization": f"Bearer {secret}"}).status_code == 200


def test_support_staff_can_read_the_connection_but_not_issue_tokens(support_browser, connection):
    assert (
        support_browser.get(f"/admin/accounts/provisioningconnection/{connection.pk}/change/").status_code
        == 200
    )
    assert _issue(support_browser, connection).status_code == 403
    assert not ScimSecretToken.objects.exists()


def test_admin_cannot_reach_another_organizations_connection(admin_browser, other_organization):
    theirs = connection_get_or_create(organization=other_organization)
    assert _issue(admin_browser, theirs).status_code == 404
    assert admin_browser.get(f"/admin/accounts/provisioningconnection/{theirs.pk}/change/").status_code == 302


def test_issuing_requires_post(admin_browser, connection):
    response = admin_browser.get(f"/admin/accounts/provisioningconnection/{connection.pk}/tokens/new/")
    assert response.status_code == 405


# "Connect Microsoft Entra ID" -------------------------------------------------------------------

CONNECT_URL = "/admin/accounts/provisioningconnection/add/"


def _shown(page: str, element_id: str) -> str:
    return re.search(rf'id="{element_id}">([^<]+)<', page).group(1)


def test_connection_list_offers_connect_microsoft_entra_id_to_admins(admin_browser):
    page = admin_browser.get("/admin/accounts/provisioningconnection/").content.decode()
    assert f'href="{CONNECT_URL}" class="addlink">Connect Microsoft Entra ID</a>' in page


def test_connect_shows_urls_and_the_client_secret_once(admin_browser):
    from oauth2_provider.models import get_application_model

    response = admin_browser.post(CONNECT_URL, {"name": "Entra prod", "extra_redirect_uris": ""})
    page = response.content.decode()
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert _shown(page, "tenant-url") == "http://testserver/scim/v2/"
    assert _shown(page, "authorization-url") == "http://testserver/o/authorize/"
    assert _shown(page, "token-url") == "http://testserver/o/token/"
    application = get_application_model().objects.get(client_id=_shown(page, "client-id"))
    secret = _shown(page, "client-secret")
    assert application.client_secret != secret  # stored hashed
    assert application.redirect_uris == "https://portal.azure.com/TokenAuthorize"
    change_page = admin_browser.get(
        f"/admin/accounts/provisioningconnection/{application.provisioning_connection.pk}/change/"
    ).content.decode()
    assert secret not in change_page
    assert application.client_id in change_page


def test_connect_adds_the_admins_extra_redirect_uris(admin_browser):
    from accounts.connections.models import ProvisioningConnection

    admin_browser.post(
        CONNECT_URL, {"name": "Entra gov", "extra_redirect_uris": "https://portal.azure.us/TokenAuthorize\n"}
    )
    connection = ProvisioningConnection.objects.get(name="Entra gov")
    assert connection.application.redirect_uris.split() == [
        "https://portal.azure.com/TokenAuthorize",
        "https://portal.azure.us/TokenAuthorize",
    ]


def test_connect_with_a_bad_redirect_uri_shows_the_error_and_creates_nothing(admin_browser):
    from accounts.connections.models import ProvisioningConnection

    response = admin_browser.post(
        CONNECT_URL, {"name": "Entra prod", "extra_redirect_uris": "ftp://x.example"}
    )
    assert response.status_code == 200
    assert "is not a valid redirect URI" in response.content.decode()
    assert not ProvisioningConnection.objects.filter(name="Entra prod").exists()


def test_connect_with_a_taken_name_shows_the_error(admin_browser, connection):
    response = admin_browser.post(CONNECT_URL, {"name": connection.name, "extra_redirect_uris": ""})
    assert "already exists in this organization" in response.content.decode()


def test_connect_always_uses_the_admins_own_organization(admin_browser, other_organization):
    from accounts.connections.models import ProvisioningConnection

    admin_browser.post(
        CONNECT_URL, {"name": "Sneaky", "organization": other_organization.pk, "extra_redirect_uris": ""}
    )
    assert ProvisioningConnection.objects.get(name="Sneaky").organization.slug == "contoso"


def test_support_staff_cannot_connect_entra(support_browser):
    assert support_browser.get(CONNECT_URL).status_code == 403
    assert support_browser.post(CONNECT_URL, {"name": "x"}).status_code == 403
