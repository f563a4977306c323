"""
Who may read the audit API: an API client's client-credentials token of scope audit:read, or a
portal session of an admin or support staff member. Scopes never cross: a SCIM credential gets
401 here and an audit:read token gets 401 on /scim/v2/.
"""

from datetime import timedelta

import pytest
from django.utils import timezone
from oauth2_provider.models import AccessToken

from accounts.connections.services import entra_client_create
from accounts.models import OrganizationRole
from provisioning_logs.api.authentication import INVALID_TOKEN, NOT_AN_AUDIT_TOKEN
from provisioning_logs.api.clients import api_client_revoke
from provisioning_logs.api.models import ApiClient
from tests.conftest import ScimClient
from tests.provisioning_logs.api.conftest import ApiClient as Api
from tests.provisioning_logs.api.conftest import access_token, token_response


pytestmark = pytest.mark.django_db
NOT_AUTHENTICATED = {"detail": "Authentication credentials were not provided."}
NOT_ALLOWED = {"detail": "You do not have permission to perform this action."}
INVALID_CHALLENGE = 'Bearer realm="api",error="invalid_token"'


@pytest.fixture
def entra(organization):
    """A provisioning connection's OAuth client (client credentials), as Entra uses it."""
    return entra_client_create(organization=organization, name="Entra prod")


# Tokens ---------------------------------------------------------------------------------------


def test_an_api_client_gets_an_hour_long_audit_read_token_without_asking_for_a_scope(issued_client):
    response = token_response(issued_client.client.client_id, issued_client.client_secret)

    assert response.status_code == 200
    body = response.json()
    assert (body["token_type"], body["expires_in"], body["scope"]) == ("Bearer", 3600, "audit:read")
    assert "refresh_token" not in body


def test_an_api_client_cannot_ask_for_the_scim_scope(issued_client):
    response = token_response(issued_client.client.client_id, issued_client.client_secret, scope="scim")

    assert (response.status_code, response.json()["error"]) == (400, "invalid_scope")


def test_an_api_client_cannot_ask_for_both_scopes(issued_client):
    response = token_response(
        issued_client.client.client_id, issued_client.client_secret, scope="audit:read scim"
    )

    assert (response.status_code, response.json()["error"]) == (400, "invalid_scope")


def test_a_provisioning_connection_cannot_ask_for_the_audit_scope(entra):
    response = token_response(entra.client_id, entra.client_secret, scope="audit:read")

    assert (response.status_code, response.json()["error"]) == (400, "invalid_scope")


def test_a_provisioning_connection_still_gets_scim_without_asking_for_a_scope(entra):
    response = token_response(entra.client_id, entra.client_secret)

    assert (response.status_code, response.json()["scope"]) == (200, "scim")


def test_an_api_client_may_use_only_the_client_credentials_grant(issued_client):
    response = token_response(
        issued_client.client.client_id,
        issued_client.client_secret,
        grant_type="password",
        username="admin@contoso.com",
        password="x",
    )

    assert response.status_code in (400, 401)
    assert response.json()["error"] in ("unsupported_grant_type", "unauthorized_client", "invalid_grant")


# Bearer tokens on /api/ --------------------------------------------------------------------------


def test_an_audit_read_token_reads_the_api(api):
    response = api.get("/events/")

    assert response.status_code == 200
    assert response.body == {"next": None, "previous": None, "results": []}


def test_no_credentials_get_401_with_a_bearer_challenge(db):
    response = Api(None).get("/events/")

    assert (response.status_code, response.body) == (401, NOT_AUTHENTICATED)
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_an_unknown_bearer_gets_401_invalid_token(db):
    response = Api("not-a-token").get("/events/")

    assert (response.status_code, response.body) == (401, {"detail": INVALID_TOKEN})
    assert response["WWW-Authenticate"] == INVALID_CHALLENGE


def test_an_empty_bearer_gets_401_invalid_token(db):
    response = Api(None).get("/events/", headers={"Authorization": "Bearer "})

    assert (response.status_code, response.body) == (401, {"detail": INVALID_TOKEN})


def test_a_scim_secret_token_gets_401_on_the_api(api, scim_token):
    response = Api(scim_token).get("/events/")

    assert (response.status_code, response.body) == (401, {"detail": INVALID_TOKEN})
    assert response["WWW-Authenticate"] == INVALID_CHALLENGE


def test_a_scim_scoped_oauth_token_gets_401_on_the_api(entra):
    scim_token = token_response(entra.client_id, entra.client_secret).json()["access_token"]

    response = Api(scim_token).get("/events/")

    assert (response.status_code, response.body) == (401, {"detail": NOT_AN_AUDIT_TOKEN})
    assert response["WWW-Authenticate"] == INVALID_CHALLENGE


def test_an_audit_read_token_gets_401_on_scim(api):
    response = ScimClient(api.token).get("/Users")

    assert response.status_code == 401
    assert response.body["status"] == "401"
    assert response["WWW-Authenticate"] == 'Bearer realm="scim", error="invalid_token"'


def test_an_expired_token_gets_401(api):
    AccessToken.objects.update(expires=timezone.now() - timedelta(seconds=1))

    response = api.get("/events/")

    assert (response.status_code, response.body) == (401, {"detail": INVALID_TOKEN})


def test_a_revoked_clients_token_stops_working_at_once(api, issued_client):
    assert api_client_revoke(client=issued_client.client) is True

    response = api.get("/events/")

    assert (response.status_code, response.body) == (401, {"detail": INVALID_TOKEN})
    assert AccessToken.objects.count() == 0


def test_a_revoked_client_gets_no_new_token(issued_client):
    api_client_revoke(client=issued_client.client)

    response = token_response(issued_client.client.client_id, issued_client.client_secret)

    assert (response.status_code, response.json()["error"]) == (401, "invalid_client")


def test_revoking_twice_says_it_was_revoked_already(issued_client):
    assert api_client_revoke(client=issued_client.client) is True
    assert api_client_revoke(client=issued_client.client) is False
    assert ApiClient.objects.get().revoked_at is not None


def test_a_token_in_the_query_string_is_not_accepted(api):
    response = Api(None).get("/events/", {"access_token": api.token})

    assert (response.status_code, response.body) == (401, NOT_AUTHENTICATED)


def test_the_clients_use_is_noted_for_admins(api, issued_client):
    assert ApiClient.objects.get().last_used_at is None

    api.get("/events/")

    assert ApiClient.objects.get().last_used_at is not None


# Portal sessions -------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [OrganizationRole.ADMIN, OrganizationRole.SUPPORT])
def test_admins_and_support_staff_read_the_api_with_their_session(portal_client, role):
    response = portal_client(role).get("/api/v1/events/")

    assert (response.status_code, response.json()["results"]) == (200, [])


def test_a_member_session_gets_403(portal_client):
    response = portal_client(OrganizationRole.MEMBER).get("/api/v1/events/")

    assert (response.status_code, response.json()) == (403, NOT_ALLOWED)


def test_a_session_post_is_405_with_or_without_its_csrf_token(portal_client):
    client = portal_client(OrganizationRole.ADMIN)
    client.handler.enforce_csrf_checks = True

    response = client.post("/api/v1/events/", {}, content_type="application/json")

    assert (response.status_code, response.json()) == (405, {"detail": 'Method "POST" not allowed.'})
    assert response["Allow"] == "GET, HEAD, OPTIONS"


def test_sessions_are_read_through_drfs_csrf_enforcing_session_authentication(settings):
    # Should the API ever accept a write, a session request without its CSRF token is refused.
    assert settings.REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"][1] == (
        "rest_framework.authentication.SessionAuthentication"
    )


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_every_method_but_get_head_and_options_is_405_for_a_token(api, method, connection, record):
    event = record(connection)
    for path in ("/api/v1/events/", f"/api/v1/events/{event.pk}/"):
        response = getattr(api.client, method)(path, headers={"Authorization": f"Bearer {api.token}"})
        assert response.status_code == 405, path
        assert response.json() == {"detail": f'Method "{method.upper()}" not allowed.'}


def test_a_bearer_wins_over_the_session(portal_client, other_api):
    client = portal_client(OrganizationRole.ADMIN)

    response = client.get("/api/v1/connections/", headers={"Authorization": f"Bearer {other_api.token}"})

    assert response.status_code == 200  # Fabrikam's client, whatever the cookie says


def test_a_wrong_bearer_is_refused_even_with_a_session(portal_client):
    client = portal_client(OrganizationRole.ADMIN)

    response = client.get("/api/v1/events/", headers={"Authorization": "Bearer wrong"})

    assert response.status_code == 401


def test_a_basic_authorization_header_falls_back_to_the_session(portal_client):
    client = portal_client(OrganizationRole.SUPPORT)

    response = client.get("/api/v1/events/", headers={"Authorization": "Basic dXNlcjpwYXNz"})

    assert response.status_code == 200


def test_a_second_token_of_the_same_client_works_too(issued_client, api):
    second = Api(access_token(issued_client))

    assert (api.get("/events/").status_code, second.get("/events/").status_code) == (200, 200)
