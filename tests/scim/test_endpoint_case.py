"""
Endpoint names in any case (issue 14): generic SCIM libraries and Okta's test harness request
`/users`, `/groups/.search`, `/serviceproviderconfig`; every resource and discovery endpoint
answers them as the canonical one, and meta.location and Location keep the canonical names.
Ids are UUIDs: `/Users/<ID IN UPPER CASE>` is the same resource.
"""

from urllib.parse import quote_plus

import pytest

from tests.conftest import entra_user


pytestmark = pytest.mark.django_db

BASE = "http://testserver/scim/v2"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
SEARCH_REQUEST = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


def user_body(created: dict, version: int = 1, **changes) -> dict:
    """The full User resource the tests create (entra_user), as read back."""
    body = {
        "schemas": [USER],
        "id": created["id"],
        "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
        "userName": created["userName"],
        "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
        "active": True,
        "emails": [{"value": created["userName"], "type": "work", "primary": True}],
        "meta": {
            "resourceType": "User",
            "created": created["meta"]["created"],
            "lastModified": created["meta"]["lastModified"],
            "location": f"{BASE}/Users/{created['id']}",
            "version": f'W/"{version}"',
        },
    }
    body.update(changes)
    return body


def group_body(created: dict) -> dict:
    return {
        "schemas": [GROUP],
        "id": created["id"],
        "displayName": "Sales",
        "members": [],
        "meta": {
            "resourceType": "Group",
            "created": created["meta"]["created"],
            "lastModified": created["meta"]["created"],
            "location": f"{BASE}/Groups/{created['id']}",
            "version": 'W/"1"',
        },
    }


def list_of(*resources) -> dict:
    return {
        "schemas": [LIST_RESPONSE],
        "totalResults": len(resources),
        "itemsPerPage": len(resources),
        "startIndex": 1,
        "Resources": list(resources),
    }


@pytest.fixture
def user(create_user) -> dict:
    return create_user("bjensen@example.com")


@pytest.fixture
def group(scim) -> dict:
    response = scim.post("/Groups", {"schemas": [GROUP], "displayName": "Sales"})
    assert response.status_code == 201, response.body
    return response.body


# Users -------------------------------------------------------------------------------------------


def test_generic_client_creates_a_user_at_lower_case_users_with_canonical_location(scim):
    response = scim.post("/users", entra_user("bjensen@example.com"))

    assert response.status_code == 201
    assert response["Location"] == f"{BASE}/Users/{response.body['id']}"
    assert response.body == user_body(response.body)


def test_okta_filter_on_lower_case_users_lists_the_user(scim, user):
    filter_text = quote_plus('userName eq "bjensen@example.com"')

    response = scim.get(f"/users?filter={filter_text}&startIndex=1&count=100")

    assert response.status_code == 200
    assert response.body == list_of(user_body(user))


def test_get_user_at_upper_case_path_and_upper_case_id_is_the_same_resource(scim, user):
    response = scim.get(f"/USERS/{user['id'].upper()}")

    assert response.status_code == 200
    assert response.body == user_body(user)


def test_patch_user_at_lower_case_path_keeps_canonical_location(scim, user):
    response = scim.patch(
        f"/users/{user['id']}",
        {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "active", "value": False}]},
    )

    assert response.status_code == 200
    assert response.body == user_body(
        user, version=2, active=False, meta={**user_body(user)["meta"], **response.body["meta"]}
    )
    assert response.body["meta"]["location"] == f"{BASE}/Users/{user['id']}"


def test_delete_user_at_mixed_case_path(scim, user):
    response = scim.delete(f"/uSeRs/{user['id']}")

    assert response.status_code == 204
    assert scim.get(f"/Users/{user['id']}").status_code == 404


def test_lower_case_users_search_finds_the_user(scim, user):
    response = scim.post(
        "/users/.search", {"schemas": [SEARCH_REQUEST], "filter": 'userName eq "bjensen@example.com"'}
    )

    assert response.status_code == 200
    assert response.body == list_of(user_body(user))


def test_upper_case_users_search_suffix_finds_the_user(scim, user):
    response = scim.post(
        "/Users/.SEARCH", {"schemas": [SEARCH_REQUEST], "filter": 'userName eq "bjensen@example.com"'}
    )

    assert response.status_code == 200
    assert response.body == list_of(user_body(user))


# Groups ------------------------------------------------------------------------------------------


def test_generic_client_creates_a_group_at_lower_case_groups_with_canonical_location(scim):
    response = scim.post("/groups", {"schemas": [GROUP], "displayName": "Sales"})

    assert response.status_code == 201
    assert response["Location"] == f"{BASE}/Groups/{response.body['id']}"
    assert response.body == group_body(response.body)


def test_get_group_at_upper_case_path_and_upper_case_id_is_the_same_resource(scim, group):
    response = scim.get(f"/GROUPS/{group['id'].upper()}")

    assert response.status_code == 200
    assert response.body == group_body(group)


def test_lower_case_groups_search_finds_the_group(scim, group):
    response = scim.post("/groups/.search", {"schemas": [SEARCH_REQUEST], "filter": 'displayName eq "Sales"'})

    assert response.status_code == 200
    assert response.body == list_of(group_body(group))


def test_lower_case_root_search_finds_users_and_groups(scim, user, group):
    response = scim.post("/.SEARCH", {"schemas": [SEARCH_REQUEST]})

    assert response.status_code == 200
    assert response.body == list_of(user_body(user), group_body(group))


# Discovery ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("asked", "canonical"),
    [
        ("/serviceproviderconfig", "/ServiceProviderConfig"),
        ("/SERVICEPROVIDERCONFIGS", "/ServiceProviderConfig"),
        ("/resourcetypes", "/ResourceTypes"),
        ("/resourcetypes/User", "/ResourceTypes/User"),
        ("/schemas", "/Schemas"),
        (f"/schemas/{USER}", f"/Schemas/{USER}"),
    ],
)
def test_discovery_endpoint_in_another_case_answers_the_canonical_document(scim, asked, canonical):
    expected = scim.get(canonical)
    assert expected.status_code == 200

    response = scim.get(asked)

    assert response.status_code == 200
    assert response.body == expected.body


def test_lower_case_service_provider_config_keeps_canonical_location(scim):
    response = scim.get("/serviceproviderconfig")

    assert response.body["meta"] == {
        "resourceType": "ServiceProviderConfig",
        "location": f"{BASE}/ServiceProviderConfig",
    }


def test_lower_case_schema_keeps_canonical_location(scim):
    response = scim.get(f"/schemas/{USER}")

    assert response.body["meta"]["location"] == f"{BASE}/Schemas/{USER}"


def test_resource_type_id_stays_case_exact(scim):
    response = scim.get("/ResourceTypes/user")

    assert response.status_code == 404
    assert response.body == {"schemas": [ERROR], "status": "404", "detail": "Resource user not found"}


@pytest.mark.parametrize(("path", "feature"), [("/bulk", "Bulk"), ("/ME", "/Me")])
def test_unimplemented_endpoint_in_another_case_is_501(scim, path, feature):
    canonical = scim.post("/Bulk" if feature == "Bulk" else "/Me")

    response = scim.post(path)

    assert response.status_code == 501
    assert response.body == canonical.body


def test_misspelled_endpoint_is_still_a_scim_404(scim):
    response = scim.get("/userz")

    assert response.status_code == 404
    assert response.body == {
        "schemas": [ERROR],
        "status": "404",
        "detail": "No SCIM endpoint at /scim/v2/userz.",
    }
