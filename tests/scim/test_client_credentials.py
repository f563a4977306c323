"""
Entra's "OAuth2 Client Credentials Grant": a provisioning connection's own OAuth client gets
tokens at /o/token/ (client_secret_basic or client_secret_post, form-encoded) that work on
/scim/v2/ for exactly its organization.
"""

import base64
import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from oauth2_provider.models import AccessToken

from accounts.connections.models import ProvisioningConnection
from accounts.connections.services import entra_client_create


pytestmark = pytest.mark.django_db
INVALID_TOKEN_CHALLENGE = 'Bearer realm="scim", error="invalid_token"'


@pytest.fixture
def entra_client(organization):
    return entra_client_create(organization=organization, name="Entra prod")


def _token(client_id: str, secret: str, *, how: str = "basic", scope: str = "scim"):
    data = {"grant_type": "client_credentials", "scope": scope}
    headers = {}
    if how == "basic":
        headers["Authorization"] = "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    else:
        data.update(client_id=client_id, client_secret=secret)
    return Client().post("/o/token/", data, headers=headers)


def _scim_get(token: str, path: str = "/scim/v2/Users"):
    return Client().get(path, headers={"Authorization": f"Bearer {token}"})


@pytest.mark.parametrize("how", ["basic", "post"])
def test_client_credentials_grant_issues_an_hour_long_scim_token(entra_client, how):
    response = _token(entra_client.client_id, entra_client.client_secret, how=how)
    assert response.status_code == 200
    body = response.json()
    assert (body["token_type"], body["expires_in"], body["scope"]) == ("Bearer", 3600, "scim")
    assert "refresh_token" not in body


def test_client_credentials_token_works_on_scim_for_its_organization(entra_client, create_user, other_scim):
    mine = create_user("mine@contoso.com")["id"]
    theirs = other_scim.post("/Users", {"userName": "theirs@fabrikam.com"}).body["id"]
    token = _token(entra_client.client_id, entra_client.client_secret).json()["access_token"]

    listed = json.loads(_scim_get(token).content)
    assert [r["id"] for r in listed["Resources"]] == [mine]
    assert _scim_get(token, f"/scim/v2/Users/{theirs}").status_code == 404


def test_wrong_client_secret_gets_no_token(entra_client):
    response = _token(entra_client.client_id, "not-the-secret")
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_expired_oauth_token_is_refused_with_invalid_token(entra_client):
    token = _token(entra_client.client_id, entra_client.client_secret).json()["access_token"]
    AccessToken.objects.update(expires=timezone.now() - timedelta(seconds=1))
    response = _scim_get(token)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == INVALID_TOKEN_CHALLENGE


def test_oauth_token_without_the_scim_scope_is_refused(entra_client):
    token = _token(entra_client.client_id, entra_client.client_secret).json()["access_token"]
    AccessToken.objects.update(scope="read")
    response = _scim_get(token)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == INVALID_TOKEN_CHALLENGE


def test_oauth_token_of_a_disabled_connection_gets_403(entra_client):
    token = _token(entra_client.client_id, entra_client.client_secret).json()["access_token"]
    ProvisioningConnection.objects.filter(pk=entra_client.connection.pk).update(enabled=False)
    assert _scim_get(token).status_code == 403


def test_token_stored_hashed(entra_client):
    token = _token(entra_client.client_id, entra_client.client_secret).json()["access_token"]
    stored = AccessToken.objects.get()
    assert token not in (stored.token, stored.token_checksum)


def test_application_management_pages_are_not_exposed(admin_client):
    assert admin_client.get("/o/applications/").status_code == 404


def test_create_entra_client_prints_what_to_enter_in_entra_as_json(organization):
    out = StringIO()
    call_command(
        "create_entra_client",
        "contoso",
        "--name",
        "Entra test",
        "--base-url",
        "https://wa.example",
        stdout=out,
    )
    printed = json.loads(out.getvalue())
    assert printed["tenant_url"] == "https://wa.example/scim/v2/"
    assert printed["token_url"] == "https://wa.example/o/token/"
    assert printed["connection"] == "Entra test"
    response = _token(printed["client_id"], printed["client_secret"])
    assert response.status_code == 200


def test_oauth_bearer_check_through_django_oauth_toolkit_costs_what_a_secret_token_does(
    entra_client, scim_token
):
    """One query for the token with its connection and organization (after the first use's write)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    oauth_token = _token(entra_client.client_id, entra_client.client_secret).json()["access_token"]
    counts = []
    for token in (oauth_token, scim_token):
        _scim_get(token, "/scim/v2/Users?count=0")  # the first use records last_used_at
        with CaptureQueriesContext(connection) as queries:
            assert _scim_get(token, "/scim/v2/Users?count=0").status_code == 200
        counts.append(len(queries))

    assert counts[0] == counts[1], counts
