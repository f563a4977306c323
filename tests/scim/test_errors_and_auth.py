"""Bearer authentication, organization isolation, and the SCIM error frame (401/403/404/413/500)."""

import re
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts.connections.models import ProvisioningConnection, ScimSecretToken
from accounts.connections.services import scim_token_create, scim_token_revoke
from accounts.models import WorkAccount
from accounts.services import admin_create
from tests.conftest import ScimClient, entra_user


pytestmark = pytest.mark.django_db

ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
MISSING_TOKEN = "Send a bearer token in the Authorization header: 'Authorization: Bearer <token>'."
INVALID_TOKEN = "The bearer token is not valid: it is unknown, expired or revoked."
INVALID_TOKEN_CHALLENGE = 'Bearer realm="scim", error="invalid_token"'
INTERNAL_ERROR = "The request could not be processed because of an internal error; it changed nothing."


def error(status: int, detail: str) -> dict:
    return {"schemas": [ERROR], "status": str(status), "detail": detail}


def assert_invalid_token(response) -> None:
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == INVALID_TOKEN_CHALLENGE
    assert response.body == error(401, INVALID_TOKEN)


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_missing_authorization_is_401_with_bearer_challenge(anonymous_scim, method):
    response = anonymous_scim.request(method, "/Users", entra_user() if method == "POST" else None)
    assert response.status_code == 401
    assert response["Content-Type"] == "application/scim+json"
    assert response["WWW-Authenticate"] == 'Bearer realm="scim"'
    assert response.body == error(401, MISSING_TOKEN)


@pytest.mark.parametrize("header", ["Basic ZW50cmE6c2VjcmV0", "Bearer", "Bearer   ", "wat_abc"])
def test_non_bearer_authorization_is_401(anonymous_scim, header):
    response = anonymous_scim.get("/Users", headers={"Authorization": header})
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="scim"'
    assert response.body == error(401, MISSING_TOKEN)


@pytest.mark.parametrize("token", ["wat_unknown", "not-one-of-ours", "wat_" + "x" * 300])
def test_unknown_token_is_401_invalid_token(db, token):
    assert_invalid_token(ScimClient(token).get("/Users"))


def test_bearer_scheme_is_case_insensitive(scim_token, anonymous_scim):
    response = anonymous_scim.get("/Users", headers={"Authorization": f"bearer {scim_token}"})
    assert response.status_code == 200


def test_revoked_token_is_401(scim, organization):
    scim_token_revoke(organization=organization, label="entra")
    assert_invalid_token(scim.get("/Users"))


def test_token_with_expiry_works_before_it_expires(organization):
    issued = scim_token_create(organization=organization, label="short", expires_days=1)
    assert ScimClient(issued.secret).get("/Users").status_code == 200


def test_expired_token_is_401(organization):
    issued = scim_token_create(organization=organization, label="short", expires_days=1)
    ScimSecretToken.objects.filter(pk=issued.token.pk).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    assert_invalid_token(ScimClient(issued.secret).get("/Users"))


def test_disabled_connection_is_403(scim, organization):
    ProvisioningConnection.objects.filter(organization=organization).update(enabled=False)
    response = scim.get("/Users")
    assert response.status_code == 403
    assert response.body == error(
        403, "This provisioning connection is disabled; an organization admin can enable it."
    )


@pytest.fixture
def signed_in_admin(organization) -> ScimClient:
    """A client holding a signed-in admin's session cookie and no bearer token."""
    admin = admin_create(
        organization=organization, email="admin@contoso.com", password="Correct-Horse-Battery-9"
    )
    client = ScimClient(None)
    client.client.force_login(admin)
    return client


def test_session_cookie_never_authenticates_a_read(signed_in_admin):
    response = signed_in_admin.get("/Users")
    assert response.status_code == 401
    assert response.body == error(401, MISSING_TOKEN)


def test_session_cookie_never_authenticates_a_write(signed_in_admin):
    response = signed_in_admin.post("/Users", entra_user("mallory@contoso.com"))
    assert response.status_code == 401
    assert not WorkAccount.objects.filter(user_name="mallory@contoso.com").exists()


@pytest.fixture
def contoso_user(create_user) -> dict:
    return create_user("alice@contoso.com")


def test_other_organization_gets_404_on_get(other_scim, contoso_user):
    response = other_scim.get(f"/Users/{contoso_user['id']}")
    assert response.status_code == 404
    assert response.body == error(404, f"Resource {contoso_user['id']} not found")


def test_other_organization_gets_404_on_patch(scim, other_scim, contoso_user):
    body = {"schemas": [PATCH_OP], "Operations": [{"op": "Replace", "path": "active", "value": False}]}
    response = other_scim.patch(f"/Users/{contoso_user['id']}", body)
    assert response.status_code == 404
    assert response.body == error(404, f"Resource {contoso_user['id']} not found")
    assert scim.get(f"/Users/{contoso_user['id']}").body["active"] is True


def test_other_organization_gets_404_on_put(scim, other_scim, contoso_user):
    response = other_scim.put(f"/Users/{contoso_user['id']}", entra_user("hijacked@contoso.com"))
    assert response.status_code == 404
    assert response.body == error(404, f"Resource {contoso_user['id']} not found")
    assert scim.get(f"/Users/{contoso_user['id']}").body["userName"] == "alice@contoso.com"


def test_other_organization_gets_404_on_delete(scim, other_scim, contoso_user):
    response = other_scim.delete(f"/Users/{contoso_user['id']}")
    assert response.status_code == 404
    assert response.body == error(404, f"Resource {contoso_user['id']} not found")
    assert scim.get(f"/Users/{contoso_user['id']}").status_code == 200


@pytest.mark.parametrize(
    "path",
    ["/Users", "/Users?filter=userName+eq+%22alice@contoso.com%22", "/Users?filter=id+eq+%22{id}%22"],
)
def test_other_organization_never_sees_users_in_lists(other_scim, create_user, contoso_user, path):
    fabrikam_user = create_user("bob@fabrikam.com", client=other_scim)
    response = other_scim.get(path.format(id=contoso_user["id"]))
    expected = [fabrikam_user["id"]] if path == "/Users" else []
    assert [resource["id"] for resource in response.body["Resources"]] == expected


def test_other_organization_never_sees_users_in_search(other_scim, contoso_user):
    response = other_scim.post("/.search", {"filter": f'id eq "{contoso_user["id"]}"'})
    assert (response.status_code, response.body["totalResults"]) == (200, 0)


def test_body_over_the_limit_is_413(scim, settings):
    settings.SCIM_MAX_BODY_BYTES = 200
    response = scim.post("/Users", entra_user("alice@contoso.com", displayName="A" * 200))
    assert response.status_code == 413
    assert response.body == error(413, "The request body is larger than 200 bytes.")
    assert not WorkAccount.objects.filter(user_name="alice@contoso.com").exists()


def test_patch_body_over_the_limit_is_413(scim, contoso_user, settings):
    settings.SCIM_MAX_BODY_BYTES = 100
    body = {"schemas": [PATCH_OP], "Operations": [{"op": "Replace", "path": "title", "value": "T" * 100}]}
    response = scim.patch(f"/Users/{contoso_user['id']}", body)
    assert response.status_code == 413
    assert response.body == error(413, "The request body is larger than 100 bytes.")


def test_unexpected_error_on_create_is_500_without_internals(scim, monkeypatch):
    def explode(**kwargs):
        raise RuntimeError("secret db text")

    monkeypatch.setattr("accounts.services.account_create", explode)
    response = scim.post("/Users", entra_user())
    assert response.status_code == 500
    assert response["Content-Type"] == "application/scim+json"
    assert response.body == error(500, INTERNAL_ERROR)
    assert b"secret db text" not in response.content


def test_unexpected_error_on_update_is_500_without_internals(scim, contoso_user, monkeypatch):
    def explode(**kwargs):
        raise RuntimeError("secret db text")

    monkeypatch.setattr("accounts.services.account_update", explode)
    body = {"schemas": [PATCH_OP], "Operations": [{"op": "Replace", "path": "title", "value": "x"}]}
    response = scim.patch(f"/Users/{contoso_user['id']}", body)
    assert response.status_code == 500
    assert response.body == error(500, INTERNAL_ERROR)
    assert b"secret db text" not in response.content


def test_client_request_id_is_echoed(scim):
    response = scim.get("/Users", headers={"client-request-id": "7d8f2b9e-1a2b-4c3d-9e8f-0a1b2c3d4e5f"})
    assert response["client-request-id"] == "7d8f2b9e-1a2b-4c3d-9e8f-0a1b2c3d4e5f"


def test_client_request_id_is_echoed_on_errors(anonymous_scim):
    response = anonymous_scim.get("/Users", headers={"client-request-id": "req-42"})
    assert (response.status_code, response["client-request-id"]) == (401, "req-42")


def test_unsafe_client_request_id_is_replaced(scim):
    response = scim.get("/Users", headers={"client-request-id": "<script>alert(1)</script>"})
    assert re.fullmatch(
        r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", response["client-request-id"]
    )


def test_token_last_used_at_is_set_after_use(scim, organization):
    token = ScimSecretToken.objects.get(connection__organization=organization, label="entra")
    assert token.last_used_at is None
    scim.get("/Users")
    token.refresh_from_db()
    assert token.last_used_at is not None
    assert ProvisioningConnection.objects.get(pk=token.connection_id).last_used_at == token.last_used_at


def test_create_scim_token_prints_only_the_token(organization):
    out = StringIO()
    call_command("create_scim_token", "contoso", "--name", "cli", stdout=out)
    printed = out.getvalue()
    assert re.fullmatch(r"wat_[A-Za-z0-9_-]{43}\n", printed)
    assert ScimClient(printed.strip()).get("/Users").status_code == 200


def test_create_scim_token_without_expiry_never_expires(organization):
    call_command("create_scim_token", "contoso", "--name", "cli", stdout=StringIO())
    assert ScimSecretToken.objects.get(label="cli").expires_at is None


def test_create_scim_token_with_expiry_days(organization):
    call_command("create_scim_token", "contoso", "--name", "cli", "--expires-days", "30", stdout=StringIO())
    expires_in = ScimSecretToken.objects.get(label="cli").expires_at - timezone.now()
    assert timedelta(days=29, hours=23) < expires_in <= timedelta(days=30)


def test_create_scim_token_with_taken_label_is_command_error(scim_token):
    with pytest.raises(
        CommandError, match="^A token labelled 'entra' is already active for this organization.$"
    ):
        call_command("create_scim_token", "contoso", "--name", "entra", stdout=StringIO())


def test_create_scim_token_for_unknown_organization_is_command_error(db):
    with pytest.raises(CommandError, match="^No organization has the slug 'nope'.$"):
        call_command("create_scim_token", "nope", stdout=StringIO())


def test_revoke_scim_token_ends_the_token(scim):
    out = StringIO()
    call_command("revoke_scim_token", "contoso", "entra", stdout=out)
    assert out.getvalue() == "Revoked token entra of contoso.\n"
    assert_invalid_token(scim.get("/Users"))


def test_revoke_scim_token_with_unknown_label_is_command_error(scim_token):
    with pytest.raises(CommandError, match="^No active token labelled 'nope' in organization 'contoso'.$"):
        call_command("revoke_scim_token", "contoso", "nope", stdout=StringIO())


@pytest.mark.parametrize("endpoint", ["/Users", "/Groups", "/Schemas", "/ResourceTypes"])
def test_a_long_unknown_id_is_cut_in_the_404_detail(scim, endpoint):
    response = scim.get(f"{endpoint}/{'x' * 5000}")
    assert response.status_code == 404
    assert response.body == error(404, f"Resource {'x' * 64}… not found")


def test_an_unknown_id_of_64_characters_is_echoed_whole(scim):
    response = scim.get(f"/Users/{'y' * 64}")
    assert response.status_code == 404
    assert response.body == error(404, f"Resource {'y' * 64} not found")
