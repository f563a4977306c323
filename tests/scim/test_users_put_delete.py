"""PUT /Users/{id} (RFC 7644 §3.5.1), DELETE (§3.6, Entra §1.12) and soft delete visibility (§1.11)."""

import pytest

from tests.conftest import entra_user


pytestmark = pytest.mark.django_db

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


@pytest.fixture
def user(create_user):
    return create_user("alice@contoso.com")


def not_found(resource_id: str) -> dict:
    return {"schemas": [ERROR], "status": "404", "detail": f"Resource {resource_id} not found"}


def disable(scim, user_id: str):
    body = {"schemas": [PATCH_OP], "Operations": [{"op": "Replace", "path": "active", "value": "False"}]}
    return scim.patch(f"/Users/{user_id}", body)


# PUT ---------------------------------------------------------------------------------------------


def test_put_replaces_attributes_and_clears_absent_ones(scim, user):
    body = {"schemas": [CORE], "userName": "alice@contoso.com", "displayName": "Alice", "title": "CTO"}

    response = scim.put(f"/Users/{user['id']}", body)

    assert response.status_code == 200
    assert response.body == {
        "schemas": [CORE],
        "id": user["id"],
        "userName": "alice@contoso.com",
        "displayName": "Alice",
        "title": "CTO",
        "active": True,
        "meta": {**user["meta"], "lastModified": response.body["meta"]["lastModified"], "version": 'W/"2"'},
    }
    assert scim.get(f"/Users/{user['id']}").body == response.body


def test_put_without_active_keeps_a_disabled_user_disabled(scim, user):
    disable(scim, user["id"])

    response = scim.put(f"/Users/{user['id']}", {"userName": "alice@contoso.com"})

    assert response.status_code == 200
    assert response.body["active"] is False


def test_put_with_active_string_false_disables(scim, user):
    response = scim.put(f"/Users/{user['id']}", entra_user("alice@contoso.com", active="False"))

    assert response.status_code == 200
    assert response.body["active"] is False


def test_put_of_the_same_document_changes_nothing(scim, user):
    response = scim.put(f"/Users/{user['id']}", entra_user("alice@contoso.com"))

    assert response.status_code == 200
    assert response.body == user


def test_put_clears_the_manager_when_left_out(scim, user, create_user):
    boss = create_user("boss@contoso.com")
    scim.put(f"/Users/{user['id']}", entra_user("alice@contoso.com", **{ENTERPRISE: {"manager": boss["id"]}}))

    response = scim.put(f"/Users/{user['id']}", entra_user("alice@contoso.com"))

    assert response.status_code == 200
    assert ENTERPRISE not in response.body
    assert response.body["schemas"] == [CORE]


def test_put_ignores_id_and_meta_in_the_body(scim, user):
    body = {**user, "id": "00000000-0000-4000-8000-000000000000", "meta": {"version": 'W/"99"'}}

    response = scim.put(f"/Users/{user['id']}", body)

    assert response.status_code == 200
    assert response.body == user


def test_put_duplicate_user_name_returns_409_uniqueness(scim, user, create_user):
    create_user("bob@contoso.com")

    response = scim.put(f"/Users/{user['id']}", entra_user("Bob@Contoso.com"))

    assert response.status_code == 409
    assert response.body == {
        "schemas": [ERROR],
        "status": "409",
        "scimType": "uniqueness",
        "detail": "userName 'Bob@Contoso.com' is already taken in this organization.",
    }
    assert scim.get(f"/Users/{user['id']}").body == user


def test_put_changing_only_the_case_of_own_user_name_succeeds(scim, user):
    response = scim.put(f"/Users/{user['id']}", entra_user("ALICE@contoso.com"))

    assert response.status_code == 200
    assert response.body["userName"] == "ALICE@contoso.com"


def test_put_without_user_name_returns_400_invalid_value(scim, user):
    response = scim.put(f"/Users/{user['id']}", {"schemas": [CORE], "displayName": "Alice"})

    assert response.status_code == 400
    assert response.body == {
        "schemas": [ERROR],
        "status": "400",
        "scimType": "invalidValue",
        "detail": "userName is required.",
    }
    assert scim.get(f"/Users/{user['id']}").body == user


def test_put_unknown_user_returns_404(scim):
    missing = "00000000-0000-4000-8000-000000000000"

    response = scim.put(f"/Users/{missing}", entra_user())

    assert response.status_code == 404
    assert response.body == not_found(missing)


# DELETE ------------------------------------------------------------------------------------------


def test_delete_returns_204_with_no_body(scim, user):
    response = scim.delete(f"/Users/{user['id']}")

    assert response.status_code == 204
    assert response.content == b""


def test_get_after_delete_returns_404_with_exact_body(scim, user):
    scim.delete(f"/Users/{user['id']}")

    response = scim.get(f"/Users/{user['id']}")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/scim+json"
    assert response.body == not_found(user["id"])


def test_delete_twice_returns_404_the_second_time(scim, user):
    scim.delete(f"/Users/{user['id']}")

    response = scim.delete(f"/Users/{user['id']}")

    assert response.status_code == 404
    assert response.body == not_found(user["id"])


def test_delete_unknown_id_returns_404(scim):
    response = scim.delete("/Users/5171a35d82074e068ce2")

    assert response.status_code == 404
    assert response.body == not_found("5171a35d82074e068ce2")


def test_delete_of_another_organizations_user_returns_404_and_keeps_it(scim, other_scim, create_user):
    stranger = create_user("stranger@fabrikam.com", client=other_scim)

    response = scim.delete(f"/Users/{stranger['id']}")

    assert response.status_code == 404
    assert other_scim.get(f"/Users/{stranger['id']}").status_code == 200


def test_patch_after_delete_returns_404(scim, user):
    scim.delete(f"/Users/{user['id']}")

    response = disable(scim, user["id"])

    assert response.status_code == 404
    assert response.body == not_found(user["id"])


def test_deleted_user_is_not_found_by_filter(scim, user):
    scim.delete(f"/Users/{user['id']}")

    response = scim.get('/Users?filter=userName eq "alice@contoso.com"')

    assert response.status_code == 200
    assert response.body["totalResults"] == 0
    assert response.body["Resources"] == []


def test_user_name_is_reusable_after_delete(scim, user):
    scim.delete(f"/Users/{user['id']}")

    response = scim.post("/Users", entra_user("alice@contoso.com"))

    assert response.status_code == 201
    assert response.body["id"] != user["id"]
    assert scim.get(f"/Users/{user['id']}").status_code == 404


def test_deleting_a_manager_clears_the_manager_of_its_reports(scim, user, create_user):
    boss = create_user("boss@contoso.com")
    scim.patch(
        f"/Users/{user['id']}",
        {
            "schemas": [PATCH_OP],
            "Operations": [{"op": "Add", "path": f"{ENTERPRISE}:manager", "value": boss["id"]}],
        },
    )

    scim.delete(f"/Users/{boss['id']}")

    report = scim.get(f"/Users/{user['id']}")
    assert ENTERPRISE not in report.body
    assert report.body["schemas"] == [CORE]
    assert report["ETag"] == 'W/"3"'


# Soft delete (active false) stays visible --------------------------------------------------------


def test_disabled_user_stays_readable_by_get(scim, user):
    disable(scim, user["id"])

    response = scim.get(f"/Users/{user['id']}")

    assert response.status_code == 200
    assert response.body["active"] is False


def test_disabled_user_is_found_by_filter_on_user_name(scim, user):
    disable(scim, user["id"])

    response = scim.get('/Users?filter=userName eq "alice@contoso.com"')

    assert response.body["totalResults"] == 1
    assert response.body["Resources"][0]["id"] == user["id"]
    assert response.body["Resources"][0]["active"] is False


def test_disabled_user_is_found_by_filter_active_false(scim, user, create_user):
    create_user("bob@contoso.com")
    disable(scim, user["id"])

    response = scim.get("/Users?filter=active eq false")

    assert response.status_code == 200
    assert [resource["id"] for resource in response.body["Resources"]] == [user["id"]]
