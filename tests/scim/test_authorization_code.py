"""
Entra's legacy "Authorize" button: the authorization-code grant at /o/authorize/ and /o/token/.
Only an active admin of the organization that owns the client may allow it; the tokens work on
/scim/v2/ for that organization only, refresh tokens rotate, and a reused one revokes the chain.
"""

import base64
import json
import uuid
from datetime import timedelta
from io import StringIO
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone
from oauth2_provider.models import AccessToken, Grant, RefreshToken, get_application_model

from accounts.connections.authorize import NEEDS_ADMIN
from accounts.connections.credentials import client_secret_revoke
from accounts.connections.services import ENTRA_REDIRECT_URI, entra_client_create
from accounts.models import OrganizationRole
from accounts.services import account_set_role, account_update
from tests.conftest import PORTAL_PASSWORD


pytestmark = pytest.mark.django_db
INVALID_TOKEN_CHALLENGE = 'Bearer realm="scim", error="invalid_token"'
EMPTY_LIST_RESPONSE = {
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
    "totalResults": 0,
    "itemsPerPage": 0,
    "startIndex": 1,
    "Resources": [],
}


@pytest.fixture
def entra(organization):
    return entra_client_create(organization=organization, name="Entra prod")


@pytest.fixture
def admin(make_account, organization):
    return make_account("admin@contoso.com", organization=organization, role=OrganizationRole.ADMIN)


def _signed_in(account) -> Client:
    client = Client()
    assert client.login(username=account.user_name, password=PORTAL_PASSWORD)
    return client


def _authorize_query(client_id: str, **overrides) -> dict:
    # Exactly what Entra's legacy flow sends: no PKCE, no scope.
    return {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": ENTRA_REDIRECT_URI,
        "state": "entra-state-1",
        **overrides,
    }


def _authorize_url(client_id: str, **overrides) -> str:
    return "/o/authorize/?" + urlencode(_authorize_query(client_id, **overrides))


def _allow(browser: Client, client_id: str, *, allow: bool = True):
    form = _authorize_query(client_id, scope="scim")
    if allow:
        form["allow"] = "Authorize"
    return browser.post("/o/authorize/", form)


def _query_of(response) -> dict:
    return {key: values[0] for key, values in parse_qs(urlsplit(response["Location"]).query).items()}


def _basic(entra) -> dict:
    pair = f"{entra.client_id}:{entra.client_secret}".encode()
    return {"Authorization": "Basic " + base64.b64encode(pair).decode()}


def _exchange(entra, code: str):
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": ENTRA_REDIRECT_URI}
    return Client().post("/o/token/", data, headers=_basic(entra))


def _refresh(entra, refresh_token: str):
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    return Client().post("/o/token/", data, headers=_basic(entra))


def _tokens(entra, admin) -> dict:
    code = _query_of(_allow(_signed_in(admin), entra.client_id))["code"]
    response = _exchange(entra, code)
    assert response.status_code == 200
    return response.json()


def _test_connection(access_token: str):
    return Client().get(
        f"/scim/v2/Users?filter=userName+eq+%22{uuid.uuid4()}%22",
        headers={"Authorization": f"Bearer {access_token}"},
    )


# The authorization page ------------------------------------------------------------------------


def test_signed_out_admin_is_sent_to_the_sign_in_page_with_the_request_kept(entra):
    url = _authorize_url(entra.client_id)
    response = Client().get(url)
    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert (location.path, parse_qs(location.query)) == ("/signin/", {"org": ["contoso"], "next": [url]})


def test_an_invalid_authorization_request_names_no_organization_on_the_way_to_sign_in(entra):
    url = _authorize_url(entra.client_id).replace("portal.azure.com", "evil.example")
    response = Client().get(url)
    location = urlsplit(response["Location"])
    assert (location.path, parse_qs(location.query)) == ("/signin/", {"next": [url]})


def test_admin_of_the_owning_organization_sees_a_consent_page_naming_client_organization_and_access(
    entra, admin
):
    response = _signed_in(admin).get(_authorize_url(entra.client_id))
    page = response.content.decode()
    assert response.status_code == 200
    assert "Allow Entra prod to provision Contoso?" in page
    assert "Create, update, deactivate and delete work accounts and groups" in page
    assert ">Allow</button>" in page and ">Cancel</button>" in page


@pytest.mark.parametrize("role", [OrganizationRole.MEMBER, OrganizationRole.SUPPORT])
def test_non_admin_gets_the_admin_permission_page(entra, make_account, organization, role):
    account = make_account("someone@contoso.com", organization=organization, role=role)
    response = _signed_in(account).get(_authorize_url(entra.client_id))
    assert response.status_code == 403
    assert NEEDS_ADMIN.format(organization="Contoso") in response.content.decode()


def test_admin_of_another_organization_gets_the_admin_permission_page_naming_the_clients(
    entra, make_account, other_organization
):
    outsider = make_account(
        "admin@fabrikam.com", organization=other_organization, role=OrganizationRole.ADMIN
    )
    response = _signed_in(outsider).get(_authorize_url(entra.client_id))
    assert response.status_code == 403
    assert NEEDS_ADMIN.format(organization="Contoso") in response.content.decode()


def test_non_admin_posting_the_form_directly_gets_no_code(entra, make_account, organization):
    member = make_account("member@contoso.com", organization=organization)
    response = _allow(_signed_in(member), entra.client_id)
    assert response.status_code == 403
    assert not Grant.objects.exists()


def test_allow_redirects_to_entra_with_a_code_and_the_state(entra, admin):
    response = _allow(_signed_in(admin), entra.client_id)
    assert response.status_code == 302
    assert response["Location"].startswith(ENTRA_REDIRECT_URI + "?")
    query = _query_of(response)
    assert query["state"] == "entra-state-1"
    assert Grant.objects.get(code=query["code"]).user == admin


def test_cancel_redirects_to_entra_with_access_denied(entra, admin):
    response = _allow(_signed_in(admin), entra.client_id, allow=False)
    assert response.status_code == 302
    query = _query_of(response)
    assert (query["error"], query["state"]) == ("access_denied", "entra-state-1")
    assert not Grant.objects.exists()


def test_unregistered_redirect_uri_gets_an_error_page_that_names_no_organization(entra, admin):
    response = _signed_in(admin).get(_authorize_url(entra.client_id, redirect_uri="https://evil.example/cb"))
    assert response.status_code == 400
    assert "Contoso" not in response.content.decode()


def test_unknown_client_gets_an_error_page(admin):
    response = _signed_in(admin).get(_authorize_url("no-such-client"))
    assert response.status_code == 400
    assert "cannot be used" in response.content.decode()


def test_turned_off_connection_cannot_be_authorized(entra, admin):
    entra.connection.enabled = False
    entra.connection.save()
    response = _signed_in(admin).get(_authorize_url(entra.client_id))
    assert response.status_code == 403
    assert "is turned off" in response.content.decode()


def test_extra_redirect_uri_added_by_the_admin_is_accepted(organization, admin):
    entra = entra_client_create(
        organization=organization,
        name="Entra test",
        extra_redirect_uris=["https://portal.azure.us/TokenAuthorize"],
    )
    response = _signed_in(admin).get(
        _authorize_url(entra.client_id, redirect_uri="https://portal.azure.us/TokenAuthorize")
    )
    assert response.status_code == 200


def test_pkce_stays_required_for_clients_that_are_no_provisioning_connection(admin):
    application = get_application_model().objects.create(
        name="other",
        client_type="confidential",
        authorization_grant_type="authorization-code",
        redirect_uris=ENTRA_REDIRECT_URI,
    )
    response = _signed_in(admin).get(_authorize_url(application.client_id))
    assert response.status_code == 302
    assert _query_of(response)["error"] == "invalid_request"


# Token exchange --------------------------------------------------------------------------------


def test_code_exchange_returns_an_hour_long_scim_token_and_a_refresh_token(entra, admin):
    body = _tokens(entra, admin)
    assert (body["token_type"], body["expires_in"], body["scope"]) == ("Bearer", 3600, "scim")
    assert body["access_token"] and body["refresh_token"]


def test_revoking_the_client_secret_ends_the_code_grants_access_and_refresh_tokens(entra, admin):
    tokens = _tokens(entra, admin)

    client_secret_revoke(connection=entra.connection, secret_id=entra.connection.client_secrets.get().pk)

    scim = Client().get("/scim/v2/Users", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert scim.status_code == 401
    assert not RefreshToken.objects.filter(user=admin, revoked__isnull=True).exists()


def test_code_exchange_with_client_secret_post_works(entra, admin):
    code = _query_of(_allow(_signed_in(admin), entra.client_id))["code"]
    response = Client().post(
        "/o/token/",
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": ENTRA_REDIRECT_URI,
            "client_id": entra.client_id,
            "client_secret": entra.client_secret,
        },
    )
    assert response.status_code == 200


def test_code_can_be_exchanged_only_once(entra, admin):
    code = _query_of(_allow(_signed_in(admin), entra.client_id))["code"]
    assert _exchange(entra, code).status_code == 200
    second = _exchange(entra, code)
    assert second.status_code == 400
    assert second.json()["error"] == "invalid_grant"


def test_code_of_an_admin_demoted_before_the_exchange_gets_no_token(entra, admin, make_account, organization):
    make_account("second-admin@contoso.com", organization=organization, role=OrganizationRole.ADMIN)
    code = _query_of(_allow(_signed_in(admin), entra.client_id))["code"]
    account_set_role(account=admin, role=OrganizationRole.MEMBER)
    response = _exchange(entra, code)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_test_connection_right_after_authorizing_gets_an_empty_list(entra, admin):
    response = _test_connection(_tokens(entra, admin)["access_token"])
    assert response.status_code == 200
    assert response.json() == EMPTY_LIST_RESPONSE


def test_authorized_token_sees_only_its_organization(entra, admin, create_user, other_scim):
    mine = create_user("mine@contoso.com")["id"]
    theirs = other_scim.post("/Users", {"userName": "theirs@fabrikam.com"}).body["id"]
    headers = {"Authorization": f"Bearer {_tokens(entra, admin)['access_token']}"}
    listed = Client().get("/scim/v2/Users", headers=headers).json()
    assert sorted(resource["id"] for resource in listed["Resources"]) == sorted([mine, str(admin.pk)])
    assert Client().get(f"/scim/v2/Users/{theirs}", headers=headers).status_code == 404


def test_expired_authorized_token_gets_invalid_token(entra, admin):
    access_token = _tokens(entra, admin)["access_token"]
    AccessToken.objects.update(expires=timezone.now() - timedelta(seconds=1))
    response = _test_connection(access_token)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == INVALID_TOKEN_CHALLENGE


# Refresh tokens --------------------------------------------------------------------------------


def test_refresh_rotates_the_refresh_token_and_the_new_access_token_works(entra, admin):
    first = _tokens(entra, admin)
    response = _refresh(entra, first["refresh_token"])
    assert response.status_code == 200
    second = response.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert _test_connection(second["access_token"]).status_code == 200


def test_reused_refresh_token_is_refused_and_revokes_the_whole_chain(entra, admin):
    first = _tokens(entra, admin)
    second = _refresh(entra, first["refresh_token"]).json()
    reuse = _refresh(entra, first["refresh_token"])
    assert reuse.status_code == 400
    assert reuse.json()["error"] == "invalid_grant"
    # The attacker's replay also kills the legitimate holder's newer refresh token.
    assert _refresh(entra, second["refresh_token"]).status_code == 400


# The authorizing admin loses the right ----------------------------------------------------------


def test_disabling_the_authorizing_admin_revokes_their_tokens(entra, admin):
    tokens = _tokens(entra, admin)
    account_update(organization=admin.organization, account_id=admin.pk, transform=lambda a: _inactive(a))
    assert _test_connection(tokens["access_token"]).status_code == 401
    assert _refresh(entra, tokens["refresh_token"]).status_code == 400


def _inactive(attributes):
    import dataclasses

    return dataclasses.replace(attributes, active=False)


def test_demoting_the_authorizing_admin_revokes_their_tokens(entra, admin, make_account, organization):
    make_account("second-admin@contoso.com", organization=organization, role=OrganizationRole.ADMIN)
    tokens = _tokens(entra, admin)
    account_set_role(account=admin, role=OrganizationRole.SUPPORT)
    assert _test_connection(tokens["access_token"]).status_code == 401
    assert _refresh(entra, tokens["refresh_token"]).status_code == 400
    assert not RefreshToken.objects.filter(user=admin, revoked__isnull=True).exists()


def test_token_of_an_admin_demoted_without_revocation_is_still_refused(
    entra, admin, make_account, organization
):
    # Defence in depth: even if the revocation were missed, the token's author is re-checked.
    tokens = _tokens(entra, admin)
    type(admin).objects.filter(pk=admin.pk).update(role=OrganizationRole.MEMBER)
    assert _test_connection(tokens["access_token"]).status_code == 401


def test_client_credentials_tokens_survive_an_admin_demotion(entra, admin, make_account, organization):
    make_account("second-admin@contoso.com", organization=organization, role=OrganizationRole.ADMIN)
    data = {"grant_type": "client_credentials", "scope": "scim"}
    access_token = Client().post("/o/token/", data, headers=_basic(entra)).json()["access_token"]
    account_set_role(account=admin, role=OrganizationRole.MEMBER)
    assert _test_connection(access_token).status_code == 200


# Grants a provisioning client may not use -------------------------------------------------------


def test_password_grant_is_refused_for_provisioning_clients(entra, admin):
    data = {"grant_type": "password", "username": admin.user_name, "password": PORTAL_PASSWORD}
    response = Client().post("/o/token/", data, headers=_basic(entra))
    assert response.status_code in (400, 401)
    assert response.json()["error"] in ("unauthorized_client", "unsupported_grant_type")


def test_implicit_response_type_is_refused_for_provisioning_clients(entra, admin):
    response = _signed_in(admin).get(_authorize_url(entra.client_id, response_type="token"))
    assert response.status_code in (302, 400)
    assert "access_token" not in response.get("Location", "")


# create_entra_client ---------------------------------------------------------------------------


def test_create_entra_client_prints_authorization_url_and_redirect_uris(organization):
    out = StringIO()
    call_command(
        "create_entra_client",
        "contoso",
        "--name",
        "Entra test",
        "--redirect-uri",
        "https://portal.azure.us/TokenAuthorize",
        "--base-url",
        "https://wa.example",
        stdout=out,
    )
    printed = json.loads(out.getvalue())
    assert printed["authorization_url"] == "https://wa.example/o/authorize/"
    assert printed["redirect_uris"] == [ENTRA_REDIRECT_URI, "https://portal.azure.us/TokenAuthorize"]


def test_create_entra_client_refuses_a_plain_http_redirect_uri(organization):
    with pytest.raises(CommandError, match="must be an absolute https:// URL"):
        call_command(
            "create_entra_client",
            "contoso",
            "--redirect-uri",
            "http://insecure.example/cb",
            "--base-url",
            "https://wa.example",
        )
