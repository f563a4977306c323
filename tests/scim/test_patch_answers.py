"""
What a successful PATCH answers (scim.answers): `attributes`/`excludedAttributes` → 200 with the
projected resource (RFC 7644 §3.5.2); otherwise by the connection's client profile, detected
from the User-Agent of its first request and changeable on the connection page: Entra → 204 for
groups (200 for users), Okta and generic RFC clients → 200 with the resource.
"""

import base64

import pytest
from django.test import Client

from accounts.connections.models import ProvisioningConnection
from accounts.connections.services import entra_client_create
from accounts.services import admin_create
from tests.conftest import ScimClient
from tests.scim.group_support import BASE, ERROR, GROUP, PATCH_OP, member


pytestmark = pytest.mark.django_db

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTRA_AGENT = "Azure Active Directory SCIM Client"
OKTA_AGENT = "Okta SCIM Client 1.0.0"
GENERIC_AGENT = "python-httpx/0.27.0"
PASSWORD = "a-long-enough-passphrase-42"


def client_with(scim_token: str, agent: str | None) -> ScimClient:
    client = ScimClient(scim_token)
    if agent is not None:
        client.client.defaults["HTTP_USER_AGENT"] = agent
    return client


def add_member(client, group_id: str, user_id: str, query: str = ""):
    body = {
        "schemas": [PATCH_OP],
        "Operations": [{"op": "add", "path": "members", "value": [{"value": user_id}]}],
    }
    return client.patch(f"/Groups/{group_id}{query}", body)


def connection() -> ProvisioningConnection:
    return ProvisioningConnection.objects.get()


@pytest.fixture
def setup(scim, create_user, make_group):
    """A user (no displayName: display is its userName) and an empty group, made without a
    User-Agent, so nothing is detected yet."""
    return create_user("ada@contoso.com")["id"], make_group("Analysts")


def group_with(group: dict, response, members: list) -> dict:
    return {
        "schemas": [GROUP],
        "id": group["id"],
        "displayName": "Analysts",
        "members": members,
        "meta": {**group["meta"], "lastModified": response.body["meta"]["lastModified"], "version": 'W/"2"'},
    }


# By client profile -------------------------------------------------------------------------------


def test_entra_group_patch_is_204_without_body(scim_token, setup):
    user_id, group = setup

    response = add_member(client_with(scim_token, ENTRA_AGENT), group["id"], user_id)

    assert response.status_code == 204
    assert response.raw_content == b""
    assert response["ETag"] == 'W/"2"'


def test_okta_group_patch_is_200_with_the_group_and_members_with_display(scim_token, setup):
    user_id, group = setup

    response = add_member(client_with(scim_token, OKTA_AGENT), group["id"], user_id)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/scim+json"
    assert response["Location"] == f"{BASE}/Groups/{group['id']}"
    assert response["ETag"] == 'W/"2"'
    assert response.body == group_with(group, response, [member(user_id, "ada@contoso.com")])


def test_generic_client_group_patch_is_200_with_the_group_members_without_display(scim_token, setup):
    user_id, group = setup

    response = add_member(client_with(scim_token, GENERIC_AGENT), group["id"], user_id)

    assert response.status_code == 200
    assert response.body == group_with(
        group, response, [{"value": user_id, "$ref": f"{BASE}/Users/{user_id}", "type": "User"}]
    )


def test_generic_client_gets_member_display_when_it_asks(scim_token, setup):
    user_id, group = setup
    generic = client_with(scim_token, GENERIC_AGENT)
    add_member(generic, group["id"], user_id)

    response = generic.get(f"/Groups/{group['id']}?attributes=members.value,members.display")

    assert response.status_code == 200
    assert response.body == {
        "schemas": [GROUP],
        "id": group["id"],
        "members": [{"value": user_id, "display": "ada@contoso.com"}],
    }


def test_entra_user_patch_is_200_with_the_user(scim_token, setup):
    user_id, _ = setup
    body = {"schemas": [PATCH_OP], "Operations": [{"op": "Replace", "path": "active", "value": "False"}]}

    response = client_with(scim_token, ENTRA_AGENT).patch(f"/Users/{user_id}", body)

    assert response.status_code == 200
    assert (response.body["id"], response.body["active"]) == (user_id, False)


# attributes / excludedAttributes ---------------------------------------------------------------


def test_attributes_with_entra_is_200_with_the_projected_group(scim_token, setup):
    user_id, group = setup

    response = add_member(
        client_with(scim_token, ENTRA_AGENT), group["id"], user_id, "?attributes=displayName"
    )

    assert response.status_code == 200
    assert response.body == {"schemas": [GROUP], "id": group["id"], "displayName": "Analysts"}
    assert response["ETag"] == 'W/"2"'


def test_attributes_members_display_with_entra_is_200_with_only_those_sub_attributes(scim_token, setup):
    user_id, group = setup

    response = add_member(
        client_with(scim_token, ENTRA_AGENT), group["id"], user_id, "?attributes=members.display"
    )

    assert response.status_code == 200
    assert response.body == {
        "schemas": [GROUP],
        "id": group["id"],
        "members": [{"value": user_id, "display": "ada@contoso.com"}],
    }


def test_excluded_attributes_with_entra_is_200_without_them(scim_token, setup):
    user_id, group = setup

    response = add_member(
        client_with(scim_token, ENTRA_AGENT), group["id"], user_id, "?excludedAttributes=members"
    )

    assert response.status_code == 200
    expected = group_with(group, response, [])
    del expected["members"]
    assert response.body == expected


def test_refused_patch_with_attributes_is_the_error_and_changes_nothing(scim, scim_token, setup):
    _, group = setup
    unknown = "6f1c1f0e-0000-4000-8000-000000000000"

    response = add_member(client_with(scim_token, OKTA_AGENT), group["id"], unknown, "?attributes=members")

    assert response.status_code == 400
    assert response.body == {
        "schemas": [ERROR],
        "status": "400",
        "scimType": "invalidValue",
        "detail": f"members: '{unknown}' is not a work account of this organization.",
    }
    assert scim.get(f"/Groups/{group['id']}").body == group


# Detection -------------------------------------------------------------------------------------


def test_profile_is_detected_from_the_first_request_user_agent(scim_token, setup):
    client_with(scim_token, OKTA_AGENT).get("/Users?startIndex=1&count=1")

    found = connection()
    assert (found.client_profile, found.detected_client_profile, found.detected_user_agent) == (
        "auto",
        "okta",
        OKTA_AGENT,
    )
    assert found.detected_at is not None
    assert found.answering_profile == "okta"


def test_later_requests_of_another_client_do_not_change_the_detected_profile(scim_token, setup):
    user_id, group = setup
    client_with(scim_token, OKTA_AGENT).get("/Users?startIndex=1&count=1")

    response = add_member(client_with(scim_token, ENTRA_AGENT), group["id"], user_id)

    assert response.status_code == 200
    assert connection().detected_client_profile == "okta"


@pytest.mark.parametrize(
    "agent, profile",
    [
        ("Azure Active Directory SCIM Client", "entra"),
        ("Microsoft Azure AD SCIM provisioning 1.0.0", "entra"),
        ("Microsoft.AzureAD.Provisioning/1.0", "entra"),
        ("Okta SCIM Client 1.0.0", "okta"),
        ("okta-scim-client/2.1", "okta"),
        ("curl/8.5.0", "generic"),
    ],
)
def test_user_agents_name_their_profile(scim_token, setup, agent, profile):
    client_with(scim_token, agent).get("/Users?startIndex=1&count=1")

    assert connection().detected_client_profile == profile


def test_requests_without_user_agent_detect_nothing_and_answer_as_entra(scim, setup):
    user_id, group = setup

    response = add_member(scim, group["id"], user_id)

    assert response.status_code == 204
    assert (connection().detected_client_profile, connection().answering_profile) == ("", "entra")


def test_oauth_token_detects_the_profile_of_its_connection(organization, setup):
    user_id, group = setup
    issued = entra_client_create(organization=organization, name="Okta prod")
    credentials = base64.b64encode(f"{issued.client_id}:{issued.client_secret}".encode()).decode()
    token = (
        Client()
        .post(
            "/o/token/",
            {"grant_type": "client_credentials", "scope": "scim"},
            headers={"Authorization": f"Basic {credentials}"},
        )
        .json()["access_token"]
    )

    response = add_member(client_with(token, OKTA_AGENT), group["id"], user_id)

    assert response.status_code == 200
    assert ProvisioningConnection.objects.get(pk=issued.connection.pk).detected_client_profile == "okta"


# The connection page ---------------------------------------------------------------------------


@pytest.fixture
def admin_browser(organization) -> Client:
    admin_create(organization=organization, email="admin@contoso.com", password=PASSWORD)
    browser = Client()
    assert browser.login(username="admin@contoso.com", password=PASSWORD)
    return browser


def page_url(connection_id: int) -> str:
    return f"/admin/accounts/provisioningconnection/{connection_id}/change/"


def test_connection_page_shows_the_detected_client(scim_token, setup, admin_browser):
    client_with(scim_token, OKTA_AGENT).get("/Users?startIndex=1&count=1")

    page = admin_browser.get(page_url(connection().pk)).content.decode()

    assert (
        'id="client-detected">Okta, from the User-Agent “Okta SCIM Client 1.0.0” of the first request' in page
    )
    assert '<option value="auto" selected>Detect automatically' in page


def test_connection_page_says_when_nothing_was_detected(setup, admin_browser):
    page = admin_browser.get(page_url(connection().pk)).content.decode()

    assert "Nothing detected yet: no request with a User-Agent has arrived." in page


def test_portal_change_of_profile_takes_effect_on_the_next_patch(scim_token, setup, admin_browser):
    user_id, group = setup
    entra = client_with(scim_token, ENTRA_AGENT)
    entra.get("/Groups?count=1")  # detected: Entra

    saved = admin_browser.post(
        f"/admin/accounts/provisioningconnection/{connection().pk}/client/", {"client_profile": "generic"}
    )
    response = add_member(entra, group["id"], user_id)

    assert saved.status_code == 302
    assert saved["Location"] == page_url(connection().pk) + "#client"
    assert (connection().client_profile, connection().detected_client_profile) == ("generic", "entra")
    assert response.status_code == 200
    assert response.body == group_with(
        group, response, [{"value": user_id, "$ref": f"{BASE}/Users/{user_id}", "type": "User"}]
    )


def test_portal_back_to_automatic_answers_as_detected(scim_token, setup, admin_browser):
    user_id, group = setup
    entra = client_with(scim_token, ENTRA_AGENT)
    entra.get("/Groups?count=1")
    url = f"/admin/accounts/provisioningconnection/{connection().pk}/client/"
    admin_browser.post(url, {"client_profile": "okta"})

    admin_browser.post(url, {"client_profile": "auto"})

    assert add_member(entra, group["id"], user_id).status_code == 204


def test_portal_refuses_an_unknown_profile_and_keeps_the_setting(setup, admin_browser):
    url = f"/admin/accounts/provisioningconnection/{connection().pk}/client/"

    response = admin_browser.post(url, {"client_profile": "bogus"}, follow=True)

    assert "Choose one of the listed SCIM clients." in response.content.decode()
    assert connection().client_profile == "auto"


def test_portal_change_is_in_the_connection_history(setup, admin_browser):
    admin_browser.post(
        f"/admin/accounts/provisioningconnection/{connection().pk}/client/", {"client_profile": "okta"}
    )

    page = admin_browser.get(page_url(connection().pk)).content.decode()

    assert "SCIM client of “Microsoft Entra ID” set to: Okta" in page
