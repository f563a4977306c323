"""
The enterprise manager reference in every shape Entra and its validator PATCH it (entra-scim.md
§1.9), and how it is read back: always {"value", "$ref"} inside the enterprise extension.
"""

import pytest


pytestmark = pytest.mark.django_db

BASE_URL = "https://accounts.example.com"
CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
MANAGER = f"{ENTERPRISE}:manager"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


@pytest.fixture(autouse=True)
def portal_base_url(settings):
    settings.PORTAL_BASE_URL = BASE_URL


@pytest.fixture
def user(create_user):
    return create_user("alice@contoso.com")


@pytest.fixture
def boss(create_user):
    return create_user("boss@contoso.com")


def patch(scim, user_id: str, *operations):
    return scim.patch(f"/Users/{user_id}", {"schemas": [PATCH_OP], "Operations": list(operations)})


def reference(manager_id: str) -> dict:
    return {"value": manager_id, "$ref": f"{BASE_URL}/scim/v2/Users/{manager_id}"}


def with_manager(before: dict, after: dict, manager_id: str | None, version: int) -> dict:
    """`before` with its manager set (or removed, with None) and meta moved on to `version`."""
    body = {key: value for key, value in before.items() if key != ENTERPRISE}
    body["schemas"] = [CORE]
    if manager_id is not None:
        body["schemas"] = [CORE, ENTERPRISE]
        body[ENTERPRISE] = {"manager": reference(manager_id)}
    body["meta"] = {
        **before["meta"],
        "lastModified": after["meta"]["lastModified"],
        "version": f'W/"{version}"',
    }
    return body


def assert_manager(scim, before: dict, response, manager_id: str | None, version: int = 2) -> None:
    assert response.status_code == 200, response.body
    assert response.body == with_manager(before, response.body, manager_id, version)
    assert scim.get(f"/Users/{before['id']}").body == response.body


def error(detail: str) -> dict:
    return {"schemas": [ERROR], "status": "400", "scimType": "invalidValue", "detail": detail}


# Setting the manager -----------------------------------------------------------------------------


def test_add_manager_bare_id_entra_legacy(scim, user, boss):
    response = patch(scim, user["id"], {"op": "Add", "path": MANAGER, "value": boss["id"]})

    assert_manager(scim, user, response, boss["id"])


def test_add_manager_bare_id_aadoptscim062020(scim, user, boss):
    response = patch(scim, user["id"], {"op": "add", "path": MANAGER, "value": boss["id"]})

    assert_manager(scim, user, response, boss["id"])


def test_add_manager_value_object_validator(scim, user, boss):
    response = patch(scim, user["id"], {"op": "add", "path": MANAGER, "value": {"value": boss["id"]}})

    assert_manager(scim, user, response, boss["id"])


def test_add_manager_documented_ref_list_with_path_manager(scim, user, boss):
    value = [{"$ref": f"http://example.com/scim/Users/{boss['id']}", "value": boss["id"]}]

    response = patch(scim, user["id"], {"op": "Add", "path": "manager", "value": value})

    assert_manager(scim, user, response, boss["id"])


def test_pathless_replace_manager_urn_key_aadoptscim062020(scim, user, boss):
    response = patch(scim, user["id"], {"op": "replace", "value": {MANAGER: boss["id"]}})

    assert_manager(scim, user, response, boss["id"])


def test_add_manager_upper_case_id_is_returned_canonical(scim, user, boss):
    response = patch(scim, user["id"], {"op": "Add", "path": MANAGER, "value": boss["id"].upper()})

    assert_manager(scim, user, response, boss["id"])


def test_replace_manager_changes_it_validator(scim, user, boss, create_user):
    other = create_user("other-boss@contoso.com")
    patch(scim, user["id"], {"op": "add", "path": MANAGER, "value": {"value": boss["id"]}})

    response = patch(scim, user["id"], {"op": "replace", "path": MANAGER, "value": {"value": other["id"]}})

    assert_manager(scim, user, response, other["id"], version=3)


def test_add_disabled_manager_is_accepted(scim, user, boss):
    scim.patch(
        f"/Users/{boss['id']}",
        {"schemas": [PATCH_OP], "Operations": [{"op": "Replace", "path": "active", "value": "False"}]},
    )

    response = patch(scim, user["id"], {"op": "Add", "path": MANAGER, "value": boss["id"]})

    assert_manager(scim, user, response, boss["id"])


def test_add_same_manager_again_changes_nothing(scim, user, boss):
    patch(scim, user["id"], {"op": "Add", "path": MANAGER, "value": boss["id"]})

    response = patch(scim, user["id"], {"op": "Add", "path": MANAGER, "value": boss["id"]})

    assert_manager(scim, user, response, boss["id"], version=2)


# Removing the manager ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "Replace", "path": MANAGER, "value": ""},
        {"op": "replace", "path": MANAGER, "value": {"value": ""}},
        {"op": "replace", "path": MANAGER, "value": None},
        {"op": "Remove", "path": MANAGER},
        {"op": "remove", "path": "manager"},
    ],
    ids=[
        "replace-empty-string",
        "replace-empty-value-object",
        "replace-null",
        "remove-urn",
        "remove-bare-name",
    ],
)
def test_manager_removal_shapes_remove_the_manager(scim, user, boss, operation):
    patch(scim, user["id"], {"op": "Add", "path": MANAGER, "value": boss["id"]})

    response = patch(scim, user["id"], operation)

    assert_manager(scim, user, response, None, version=3)


def test_removing_the_manager_keeps_other_enterprise_attributes(scim, user, boss):
    patch(
        scim,
        user["id"],
        {"op": "Add", "path": f"{ENTERPRISE}:department", "value": "Retail"},
        {"op": "Add", "path": MANAGER, "value": boss["id"]},
    )

    response = patch(scim, user["id"], {"op": "Replace", "path": MANAGER, "value": ""})

    assert response.status_code == 200
    assert response.body[ENTERPRISE] == {"department": "Retail"}


# Reading it back ---------------------------------------------------------------------------------


def test_manager_is_returned_as_complex_object_inside_enterprise_extension(scim, user, boss):
    patch(scim, user["id"], {"op": "Add", "path": MANAGER, "value": boss["id"]})

    fetched = scim.get(f"/Users/{user['id']}").body

    assert "manager" not in fetched
    assert fetched[ENTERPRISE] == {"manager": reference(boss["id"])}


def test_manager_is_returned_as_complex_object_in_filter_results(scim, user, boss):
    patch(scim, user["id"], {"op": "Add", "path": MANAGER, "value": boss["id"]})

    listed = scim.get('/Users?filter=userName eq "alice@contoso.com"').body

    assert listed["Resources"][0][ENTERPRISE] == {"manager": reference(boss["id"])}


# Invalid references (unknown ones are kept: test_users_manager_unresolved.py) -------------------


def test_add_self_as_manager_returns_400(scim, user):
    response = patch(scim, user["id"], {"op": "Add", "path": MANAGER, "value": user["id"]})

    assert response.status_code == 400
    assert response.body == error("An account cannot be its own manager.")


def test_add_manager_list_of_two_returns_400(scim, user, boss, create_user):
    other = create_user("other-boss@contoso.com")

    response = patch(
        scim,
        user["id"],
        {"op": "Add", "path": MANAGER, "value": [{"value": boss["id"]}, {"value": other["id"]}]},
    )

    assert response.status_code == 400
    assert response.body["scimType"] == "invalidValue"
