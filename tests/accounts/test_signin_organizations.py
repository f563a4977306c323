"""
Sign-in with a userName that exists in several organizations (SCIM allows one per organization):
after Continue and the password, the person chooses among the organizations whose account the
password matched, or an organization hint (?org=<slug>) picks one. Nobody without the password
learns which organizations have that userName; throttling and single sign-on hold as for anyone.
"""

import time
from urllib.parse import urlsplit

import pytest
from django.contrib.auth import SESSION_KEY
from django.test import Client, override_settings

from accounts.models import OrganizationRole, SsoConfiguration, WorkAccount
from accounts.services import account_set_password, organization_create
from accounts.services.signin import WRONG_CREDENTIALS
from accounts.views import CHOOSE_ONE, SESSION_CHOICES
from tests.conftest import PORTAL_PASSWORD


pytestmark = pytest.mark.django_db
ADMIN_INDEX = "/admin/"
USER = "pat@example.com"
OTHER_PASSWORD = "another-long-passphrase-77"


@pytest.fixture
def northwind(db):
    return organization_create(slug="northwind", name="Northwind")


@pytest.fixture
def pats(make_account, organization, other_organization, northwind):
    """pat@example.com in Contoso and Fabrikam (same password) and Northwind (another one)."""
    accounts = {
        org.slug: make_account(USER, organization=org, role=OrganizationRole.ADMIN)
        for org in (organization, other_organization, northwind)
    }
    account_set_password(account=accounts["northwind"], password=OTHER_PASSWORD)
    return accounts


def password_step(client: Client, username: str, password: str, *, org: str | None = None, next_url=None):
    query = f"?next={next_url}" if next_url else ""
    data = {"username": username} if org is None else {"username": username, "org": org}
    client.post("/signin/" + query, data)
    form = {"password": password} | ({"next": next_url} if next_url else {})
    return client.post("/signin/password/", form)


def signed_in_as(client: Client) -> WorkAccount | None:
    return WorkAccount.objects.filter(pk=client.session.get(SESSION_KEY)).first()


def test_a_password_matching_one_of_two_organizations_signs_in_to_that_one(pats):
    client = Client()
    response = password_step(client, USER, OTHER_PASSWORD)
    assert (response.status_code, response["Location"]) == (302, ADMIN_INDEX)
    assert signed_in_as(client) == pats["northwind"]


def test_a_password_matching_two_organizations_leads_to_the_chooser(pats):
    client = Client()
    response = password_step(client, USER, PORTAL_PASSWORD)
    assert response.status_code == 302
    assert urlsplit(response["Location"]).path == "/signin/organization/"
    assert signed_in_as(client) is None


def test_the_chooser_lists_only_the_organizations_the_password_matched(pats):
    client = Client()
    password_step(client, USER, PORTAL_PASSWORD)
    page = client.get("/signin/organization/").content.decode()
    assert "Choose your organization" in page
    assert ">Contoso</button>" in page and ">Fabrikam</button>" in page
    assert "Northwind" not in page


def test_choosing_an_organization_signs_in_to_its_account_and_follows_next(pats):
    client = Client()
    password_step(client, USER, PORTAL_PASSWORD, next_url="/admin/accounts/")
    response = client.post(
        "/signin/organization/", {"account": str(pats["fabrikam"].pk), "next": "/admin/accounts/"}
    )
    assert (response.status_code, response["Location"]) == (302, "/admin/accounts/")
    assert signed_in_as(client) == pats["fabrikam"]
    assert SESSION_CHOICES not in client.session


def test_the_chooser_refuses_an_account_it_did_not_offer(pats):
    client = Client()
    password_step(client, USER, PORTAL_PASSWORD)
    response = client.post("/signin/organization/", {"account": str(pats["northwind"].pk)})
    assert response.status_code == 400
    assert CHOOSE_ONE in response.content.decode()
    assert signed_in_as(client) is None


def test_a_wrong_password_for_a_username_of_several_organizations_names_none(pats):
    client = Client()
    response = password_step(client, USER, "not-the-password-at-all")
    page = response.content.decode()
    assert response.status_code == 200
    assert WRONG_CREDENTIALS in page
    assert not any(name in page for name in ("Contoso", "Fabrikam", "Northwind"))
    assert client.get("/signin/organization/")["Location"].startswith("/signin/?")


def test_the_chooser_without_a_matched_password_goes_back_to_step_one(pats):
    response = Client().get("/signin/organization/")
    assert response.status_code == 302
    assert urlsplit(response["Location"]).path == "/signin/"


def test_the_choice_expires(pats):
    client = Client()
    password_step(client, USER, PORTAL_PASSWORD)
    session = client.session
    session[SESSION_CHOICES] = {**session[SESSION_CHOICES], "at": time.time() - 301}
    session.save()
    response = client.post("/signin/organization/", {"account": str(pats["contoso"].pk)})
    assert urlsplit(response["Location"]).path == "/signin/"
    assert signed_in_as(client) is None


def test_a_continue_with_another_username_drops_the_choice(pats):
    client = Client()
    password_step(client, USER, PORTAL_PASSWORD)
    client.post("/signin/", {"username": "someone@contoso.com"})
    assert client.get("/signin/organization/").status_code == 302


def test_an_account_disabled_meanwhile_is_no_longer_offered(pats):
    client = Client()
    password_step(client, USER, PORTAL_PASSWORD)
    WorkAccount.objects.filter(pk=pats["fabrikam"].pk).update(is_active=False)
    page = client.get("/signin/organization/").content.decode()
    assert ">Contoso</button>" in page and "Fabrikam" not in page
    response = client.post("/signin/organization/", {"account": str(pats["fabrikam"].pk)})
    assert response.status_code == 400
    assert signed_in_as(client) is None


def test_an_organization_hint_signs_in_to_that_organization_without_choosing(pats):
    client = Client()
    response = password_step(client, USER, PORTAL_PASSWORD, org="fabrikam")
    assert (response.status_code, response["Location"]) == (302, ADMIN_INDEX)
    assert signed_in_as(client) == pats["fabrikam"]


def test_the_hint_names_its_organization_on_the_pages(pats):
    client = Client()
    assert "to Fabrikam" in client.get("/signin/?org=fabrikam").content.decode()
    client.post("/signin/", {"username": USER, "org": "fabrikam"})
    assert f"{USER} (Fabrikam)" in client.get("/signin/password/").content.decode()


def test_a_password_of_another_organization_than_the_hint_signs_in_there(pats):
    # The hint prefers, it does not restrict: an admin of Northwind opening Contoso's Authorize
    # page signs in and is then told they are no admin of Contoso.
    client = Client()
    response = password_step(client, USER, OTHER_PASSWORD, org="contoso")
    assert (response.status_code, response["Location"]) == (302, ADMIN_INDEX)
    assert signed_in_as(client) == pats["northwind"]


def test_a_password_matching_neither_the_hint_nor_others_gets_the_generic_error(pats):
    client = Client()
    response = password_step(client, USER, "not-the-password-at-all", org="contoso")
    assert WRONG_CREDENTIALS in response.content.decode()
    assert signed_in_as(client) is None


def test_an_unknown_hint_is_no_hint(pats):
    client = Client()
    response = password_step(client, USER, OTHER_PASSWORD, org="no-such-org")
    assert (response.status_code, response["Location"]) == (302, ADMIN_INDEX)


@override_settings(SIGNIN_MAX_FAILURES_PER_USERNAME=3)
def test_failures_lock_a_username_of_several_organizations_like_any_other(pats):
    for _ in range(3):
        password_step(Client(), USER, "wrong-wrong-wrong")
    response = password_step(Client(), USER, PORTAL_PASSWORD)
    assert "Too many failed sign-in attempts." in response.content.decode()


def test_the_chooser_honours_an_organization_that_requires_single_sign_on(pats, make_account, organization):
    member = make_account("sam@example.com", organization=organization)
    fabrikam_member = make_account("sam@example.com", organization=pats["fabrikam"].organization)
    SsoConfiguration.objects.create(
        organization=organization,
        enabled=True,
        require_sso_for_non_admins=True,
        idp_entity_id="https://idp.example/",
        idp_sso_url="https://idp.example/sso",
        idp_certificate="-",
    )
    client = Client()
    password_step(client, "sam@example.com", PORTAL_PASSWORD)
    response = client.post("/signin/organization/", {"account": str(member.pk)})
    assert response.status_code == 403
    assert "Contoso requires single sign-on" in response.content.decode()
    assert signed_in_as(client) is None
    response = client.post("/signin/organization/", {"account": str(fabrikam_member.pk)})
    assert signed_in_as(client) == fabrikam_member


def test_the_hint_routes_an_ambiguous_username_to_its_organizations_single_sign_on(pats, organization):
    SsoConfiguration.objects.create(
        organization=organization,
        enabled=True,
        idp_entity_id="https://idp.example/",
        idp_sso_url="https://idp.example/sso",
        idp_certificate="-",
    )
    hinted = Client().post("/signin/", {"username": USER, "org": "contoso"})
    unhinted = Client().post("/signin/", {"username": USER})
    assert urlsplit(hinted["Location"]).path == "/sso/contoso/login/"
    assert urlsplit(unhinted["Location"]).path == "/signin/password/"
