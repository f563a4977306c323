"""
App roles written by Entra's PATCH (entra-scim.md §1.10): the stringified-JSON value of
SingleAppRoleAssignment / AppRoleAssignmentsComplex and AssertiveAppRoleAssignmentsComplex's replace.
"""

import pytest


pytestmark = pytest.mark.django_db

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ROLE_JSON = '{"id":"06b07648-ecfe-589f-9d2f-6325724a46ee","value":"25","displayName":"Role1234"}'


@pytest.fixture
def user(create_user):
    return create_user("alice@contoso.com")


def patch(scim, user_id: str, *operations):
    return scim.patch(f"/Users/{user_id}", {"schemas": [PATCH_OP], "Operations": list(operations)})


def assert_updated(scim, before: dict, response, changes: dict, version: int = 2) -> None:
    """A 200 with the whole updated resource, which a follow-up GET returns too."""
    assert response.status_code == 200, response.body
    expected = {**before, **changes}
    expected["meta"] = {
        **before["meta"],
        "lastModified": response.body["meta"]["lastModified"],
        "version": f'W/"{version}"',
    }
    assert response.body == expected
    assert scim.get(f"/Users/{before['id']}").body == response.body


def test_add_roles_stringified_json_value_is_stored_as_sent(scim, user):
    response = patch(scim, user["id"], {"op": "Add", "path": "roles", "value": [{"value": ROLE_JSON}]})

    assert_updated(scim, user, response, {"roles": [{"value": ROLE_JSON}]})


def test_add_same_stringified_role_twice_keeps_one(scim, user):
    patch(scim, user["id"], {"op": "Add", "path": "roles", "value": [{"value": ROLE_JSON}]})

    response = patch(scim, user["id"], {"op": "Add", "path": "roles", "value": [{"value": ROLE_JSON}]})

    assert response.status_code == 200
    assert response.body["roles"] == [{"value": ROLE_JSON}]
    assert response.body["meta"]["version"] == 'W/"2"'


def test_replace_roles_assertive_app_role_assignments_complex(scim, create_user):
    user = create_user(roles=[{"primary": True, "type": "WindowsAzureActiveDirectoryRole", "value": "Admin"}])
    roles = [
        {"primary": False, "type": "WindowsAzureActiveDirectoryRole", "display": "User", "value": "User"},
        {"primary": False, "type": "WindowsAzureActiveDirectoryRole", "display": "Test", "value": "Test"},
    ]

    response = patch(scim, user["id"], {"op": "replace", "path": "roles", "value": roles})

    assert_updated(scim, user, response, {"roles": roles})


def test_replace_primary_role_value_with_string_true_filter(scim, create_user):
    user = create_user(
        roles=[{"primary": "True", "type": "WindowsAzureActiveDirectoryRole", "value": "Admin"}]
    )

    response = patch(
        scim, user["id"], {"op": "Replace", "path": 'roles[primary eq "True"].value', "value": "Owner"}
    )

    assert_updated(
        scim,
        user,
        response,
        {"roles": [{"primary": True, "type": "WindowsAzureActiveDirectoryRole", "value": "Owner"}]},
    )


def test_add_primary_role_value_display_and_type_build_one_role(scim, user):
    """Entra's role mapping targets roles[primary eq "True"].value, .display and .type."""
    response = patch(
        scim,
        user["id"],
        {"op": "Add", "path": 'roles[primary eq "True"].value', "value": "Admin"},
        {"op": "Add", "path": 'roles[primary eq "True"].display', "value": "Administrator"},
        {"op": "Add", "path": 'roles[primary eq "True"].type', "value": "WindowsAzureActiveDirectoryRole"},
    )

    assert_updated(
        scim,
        user,
        response,
        {
            "roles": [
                {
                    "primary": True,
                    "value": "Admin",
                    "display": "Administrator",
                    "type": "WindowsAzureActiveDirectoryRole",
                }
            ]
        },
    )


def test_remove_role_by_value_filter(scim, create_user):
    user = create_user(roles=[{"value": "Admin"}, {"value": ROLE_JSON}])

    response = patch(scim, user["id"], {"op": "Remove", "path": 'roles[value eq "Admin"]'})

    assert_updated(scim, user, response, {"roles": [{"value": ROLE_JSON}]})
