"""
/scim/v2/ is served through django-scim2's own machinery: every kind of request passes its
SCIMView.dispatch, whose AUTH_CHECK_MIDDLEWARE hook runs our bearer check, and OAuth tokens are
verified by django-oauth-toolkit's validator. Recorded by spies on the library code itself.
"""

import pytest
from django_scim import views as django_scim_views
from oauth2_provider.oauth2_validators import OAuth2Validator

from accounts.connections.services import entra_client_create
from scim.auth import BearerTokenAuthCheck
from tests.conftest import ScimClient


pytestmark = pytest.mark.django_db

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"


@pytest.fixture
def recorded(monkeypatch):
    """Names of the library functions that ran, in order."""
    calls = []

    def spy(owner, name, label):
        original = owner.__dict__[name]

        def recording(*args, **kwargs):
            calls.append(label)
            return original(*args, **kwargs)

        monkeypatch.setattr(owner, name, recording)

    spy(django_scim_views.SCIMView, "dispatch", "SCIMView.dispatch")
    spy(BearerTokenAuthCheck, "__call__", "AUTH_CHECK_MIDDLEWARE")
    spy(OAuth2Validator, "validate_bearer_token", "OAuth2Validator.validate_bearer_token")
    return calls


def _requests(user_id: str, group_id: str) -> list[tuple]:
    return [
        ("GET", f"/Users/{user_id}", None),
        ("GET", "/Users", None),
        ("GET", '/Users?filter=userName eq "ada@contoso.com"', None),
        ("POST", "/Users", {"schemas": [USER], "userName": "grace@contoso.com"}),
        ("PUT", f"/Users/{user_id}", {"schemas": [USER], "userName": "ada@contoso.com", "title": "Countess"}),
        (
            "PATCH",
            f"/Users/{user_id}",
            {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "title", "value": "Dr"}]},
        ),
        ("POST", "/Users/.search", {"schemas": [SEARCH], "filter": 'userName sw "ada"'}),
        ("GET", f"/Groups/{group_id}", None),
        ("GET", "/Groups", None),
        (
            "PATCH",
            f"/Groups/{group_id}",
            {
                "schemas": [PATCH_OP],
                "Operations": [{"op": "add", "path": "members", "value": [{"value": user_id}]}],
            },
        ),
        ("POST", "/Groups/.search", {"schemas": [SEARCH], "filter": 'displayName eq "Sales"'}),
        ("GET", "/ServiceProviderConfig", None),
        ("GET", "/ResourceTypes", None),
        ("GET", "/Schemas", None),
        ("DELETE", f"/Groups/{group_id}", None),
        ("DELETE", f"/Users/{user_id}", None),
    ]


@pytest.fixture
def resources(scim):
    user_id = scim.post("/Users", {"schemas": [USER], "userName": "ada@contoso.com"}).body["id"]
    group_id = scim.post("/Groups", {"schemas": [GROUP], "displayName": "Sales"}).body["id"]
    return user_id, group_id


def test_every_kind_of_request_passes_django_scim2_dispatch_and_its_auth_hook(scim, resources, recorded):
    for method, path, body in _requests(*resources):
        recorded.clear()
        response = scim.request(method, path, body)
        assert response.status_code < 300, (method, path, response.body)
        assert recorded == ["SCIMView.dispatch", "AUTH_CHECK_MIDDLEWARE"], (method, path)


def test_refused_bearer_is_answered_by_the_auth_hook_inside_django_scim2_dispatch(recorded, organization):
    response = ScimClient("wat_not-a-token").get("/Users")

    assert response.status_code == 401
    assert recorded == ["SCIMView.dispatch", "AUTH_CHECK_MIDDLEWARE"]


def test_oauth_token_is_verified_by_django_oauth_toolkits_validator(client, organization, recorded):
    issued = entra_client_create(organization=organization, name="Entra OAuth")
    token = client.post(
        "/o/token/",
        {"grant_type": "client_credentials", "scope": "scim"},
        headers={"Authorization": _basic(issued.client_id, issued.client_secret)},
    ).json()["access_token"]
    recorded.clear()

    response = ScimClient(token).get("/Users")

    assert response.status_code == 200
    assert recorded == ["SCIMView.dispatch", "AUTH_CHECK_MIDDLEWARE", "OAuth2Validator.validate_bearer_token"]


def _basic(client_id: str, secret: str) -> str:
    import base64

    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()
