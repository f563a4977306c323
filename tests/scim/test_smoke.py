import pytest


pytestmark = pytest.mark.django_db


def test_test_connection_probe_returns_empty_list_response(scim):
    response = scim.get("/Users?filter=userName+eq+%22cf4d78e8-cc4f-4d5d-b8b9-183561c0104a%22")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/scim+json"
    assert response.body == {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults": 0,
        "itemsPerPage": 0,
        "startIndex": 1,
        "Resources": [],
    }


def test_create_then_get_round_trip(scim, create_user):
    created = create_user()
    response = scim.get(f"/Users/{created['id']}")
    assert response.status_code == 200
    assert response.body == created


def test_double_slash_after_the_tenant_url_still_reaches_users(scim, create_user):
    created = create_user()
    response = scim.get(f"/scim/v2//Users/{created['id']}")
    assert response.status_code == 200
    assert response.body["id"] == created["id"]
