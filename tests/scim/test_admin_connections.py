"""Organization admins issue and revoke secret tokens in the admin portal; support staff read."""

import re

import pytest
from django.test import Client

from accounts.attributes import AccountAttributes
from accounts.models import OrganizationRole
from accounts.services import account_create, admin_create
from scim.models import ScimSecretToken
from scim.services import connection_get_or_create, token_digest


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
    return client.post(f"/admin/scim/provisioningconnection/{connection.pk}/tokens/new/", {"label": label})


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
            f"/admin/scim/provisioningconnection/{connection.pk}/change/"
        ).content.decode()
    )
    assert Client().get("/scim/v2/Users", headers={"Authorization": f"Bearer {secret}"}).status_code == 200


def test_admin_revokes_a_token_and_it_stops_working(admin_browser, connection):
    response = _issue(admin_browser, connection)
    secret = re.search(r'id="secret-token">(wat_[^<]+)<', response.content.decode()).group(1)
    token = ScimSecretToken.objects.get(label="entra-prod")

    revoked = admin_browser.post(
        f"/admin/scim/provisioningconnection/{connection.pk}/tokens/{token.pk}/revoke/"
    )

    assert revoked.status_code == 302
    assert Client().get("/scim/v2/Users", headers={"Authorization": f"Bearer {secret}"}).status_code == 401


def test_support_staff_can_read_the_connection_but_not_issue_tokens(support_browser, connection):
    assert (
        support_browser.get(f"/admin/scim/provisioningconnection/{connection.pk}/change/").status_code == 200
    )
    assert _issue(support_browser, connection).status_code == 403
    assert not ScimSecretToken.objects.exists()


def test_admin_cannot_reach_another_organizations_connection(admin_browser, other_organization):
    theirs = connection_get_or_create(organization=other_organization)
    assert _issue(admin_browser, theirs).status_code == 404
    assert admin_browser.get(f"/admin/scim/provisioningconnection/{theirs.pk}/change/").status_code == 302


def test_issuing_requires_post(admin_browser, connection):
    response = admin_browser.get(f"/admin/scim/provisioningconnection/{connection.pk}/tokens/new/")
    assert response.status_code == 405
