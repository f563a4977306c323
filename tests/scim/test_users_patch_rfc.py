"""PATCH /Users/{id} per RFC 7644 §3.5.2: add, remove and replace with and without a path, and errors."""

import pytest


pytestmark = pytest.mark.django_db

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
WORK = {"value": "alice@contoso.com", "type": "work", "primary": True}
HOME = {"value": "alice@example.com", "type": "home", "primary": False}


@pytest.fixture
def user(create_user):
    return create_user("alice@contoso.com", emails=[WORK, HOME])


def patch(scim, user_id: str, *operations, headers=None):
    body = {"schemas": [PATCH_OP], "Operations": list(operations)}
    return scim.patch(f"/Users/{user_id}", body, headers=headers)


def updated(before: dict, after: dict, version: int, changes: dict) -> dict:
    body = {key: value for key, value in {**before, **changes}.items() if value is not None}
    body["meta"] = {
        **before["meta"],
        "lastModified": after["meta"]["lastModified"],
        "version": f'W/"{version}"',
    }
    return body


def assert_updated(scim, before: dict, response, changes: dict, version: int = 2) -> None:
    assert response.status_code == 200, response.body
    assert response.body == updated(before, response.body, version, changes)
    assert scim.get(f"/Users/{before['id']}").body == response.body


def assert_unchanged(scim, before: dict) -> None:
    after = scim.get(f"/Users/{before['id']}")
    assert after.body == before
    assert after["ETag"] == before["meta"]["version"]


def error(scim_type: str, detail: str, status: int = 400) -> dict:
    return {"schemas": [ERROR], "status": str(status), "scimType": scim_type, "detail": detail}


# add ---------------------------------------------------------------------------------------------


def test_add_name_with_path_merges_sub_attributes(scim, user):
    response = patch(scim, user["id"], {"op": "add", "path": "name", "value": {"middleName": "Q"}})

    assert_updated(scim, user, response, {"name": {**user["name"], "middleName": "Q"}})


def test_add_without_path_merges_nested_name(scim, user):
    response = patch(
        scim, user["id"], {"op": "add", "value": {"name": {"givenName": "Alice"}, "title": "CTO"}}
    )

    assert_updated(scim, user, response, {"name": {**user["name"], "givenName": "Alice"}, "title": "CTO"})


def test_add_email_appends_it(scim, user):
    other = {"value": "a@contoso.net", "type": "other", "primary": False}

    response = patch(scim, user["id"], {"op": "add", "path": "emails", "value": [other]})

    assert_updated(scim, user, response, {"emails": [WORK, HOME, other]})


def test_add_existing_email_adds_no_duplicate(scim, user):
    response = patch(
        scim, user["id"], {"op": "add", "path": "emails", "value": [{"value": HOME["value"], "type": "home"}]}
    )

    assert response.status_code == 200
    assert response.body == user


def test_add_existing_primary_email_keeps_it_primary(scim, user):
    response = patch(scim, user["id"], {"op": "add", "path": "emails", "value": [WORK]})

    assert response.status_code == 200
    assert response.body == user


def test_add_existing_email_as_primary_promotes_it(scim, user):
    response = patch(scim, user["id"], {"op": "add", "path": "emails", "value": [{**HOME, "primary": True}]})

    assert_updated(scim, user, response, {"emails": [{**WORK, "primary": False}, {**HOME, "primary": True}]})


def test_add_new_primary_email_demotes_the_old_primary(scim, user):
    other = {"value": "a@contoso.net", "type": "other", "primary": True}

    response = patch(scim, user["id"], {"op": "add", "path": "emails", "value": [other]})

    assert_updated(scim, user, response, {"emails": [{**WORK, "primary": False}, HOME, other]})


# replace -----------------------------------------------------------------------------------------


def test_replace_name_with_path_leaves_unnamed_sub_attributes(scim, user):
    response = patch(scim, user["id"], {"op": "replace", "path": "name", "value": {"familyName": "Smith"}})

    assert_updated(scim, user, response, {"name": {**user["name"], "familyName": "Smith"}})


def test_replace_emails_replaces_the_whole_list(scim, user):
    emails = [{"value": "new@contoso.com", "type": "work", "primary": True}]

    response = patch(scim, user["id"], {"op": "replace", "path": "emails", "value": emails})

    assert_updated(scim, user, response, {"emails": emails})


def test_replace_emails_with_two_primaries_returns_400_invalid_value(scim, user):
    emails = [
        {"value": "a@x.com", "type": "work", "primary": True},
        {"value": "b@x.com", "type": "home", "primary": True},
    ]

    response = patch(scim, user["id"], {"op": "replace", "path": "emails", "value": emails})

    assert response.status_code == 400
    assert response.body == error(
        "invalidValue", "emails has more than one value marked primary; at most one may be."
    )
    assert_unchanged(scim, user)


def test_replace_primary_on_value_path_demotes_the_old_primary(scim, user):
    response = patch(
        scim, user["id"], {"op": "replace", "path": 'emails[type eq "home"].primary', "value": True}
    )

    assert_updated(scim, user, response, {"emails": [{**WORK, "primary": False}, {**HOME, "primary": True}]})


def test_replace_without_path_ignores_own_id(scim, user):
    response = patch(scim, user["id"], {"op": "replace", "value": {"id": user["id"], "displayName": "Alice"}})

    assert_updated(scim, user, response, {"displayName": "Alice"})


def test_replace_without_path_with_another_id_returns_400_mutability(scim, user):
    other = "00000000-0000-4000-8000-000000000000"

    response = patch(scim, user["id"], {"op": "replace", "value": {"id": other, "displayName": "Alice"}})

    assert response.status_code == 400
    assert response.body == error("mutability", "'id' is read-only and cannot be changed.")
    assert_unchanged(scim, user)


def test_replace_without_path_and_non_object_value_returns_400_invalid_value(scim, user):
    response = patch(scim, user["id"], {"op": "replace", "value": "Alice"})

    assert response.status_code == 400
    assert response.body == error(
        "invalidValue", "Operation 1: without a 'path', 'value' must be an object of attributes."
    )


def test_replace_without_value_returns_400_invalid_value(scim, user):
    response = patch(scim, user["id"], {"op": "replace", "path": "displayName"})

    assert response.status_code == 400
    assert response.body == error("invalidValue", "Operation 1: 'replace' needs a 'value'.")


def test_noop_patch_leaves_version_and_last_modified_unchanged(scim, user):
    response = patch(
        scim,
        user["id"],
        {"op": "Replace", "path": "active", "value": "True"},
        {"op": "Replace", "path": 'emails[type eq "work"].value', "value": WORK["value"]},
        {
            "op": "replace",
            "value": {"userName": user["userName"], "name.givenName": user["name"]["givenName"]},
        },
    )

    assert response.status_code == 200
    assert response.body == user
    assert response["ETag"] == 'W/"1"'


# remove ------------------------------------------------------------------------------------------


def test_remove_with_value_filter_removes_matching_elements(scim, user):
    response = patch(scim, user["id"], {"op": "remove", "path": 'emails[type eq "home"]'})

    assert_updated(scim, user, response, {"emails": [WORK]})


def test_remove_with_value_filter_matching_nothing_changes_nothing(scim, user):
    response = patch(scim, user["id"], {"op": "remove", "path": 'emails[type eq "other"]'})

    assert response.status_code == 200
    assert response.body == user


def test_remove_sub_attribute(scim, user):
    response = patch(scim, user["id"], {"op": "remove", "path": "name.givenName"})

    assert_updated(
        scim, user, response, {"name": {"formatted": "givenName familyName", "familyName": "familyName"}}
    )


def test_remove_single_valued_attribute(scim, user):
    response = patch(scim, user["id"], {"op": "remove", "path": "externalId"})

    assert_updated(scim, user, response, {"externalId": None})


def test_remove_whole_multi_valued_attribute(scim, user):
    response = patch(scim, user["id"], {"op": "Remove", "path": "emails"})

    assert_updated(scim, user, response, {"emails": None})


def test_remove_user_name_returns_400_invalid_value(scim, user):
    response = patch(scim, user["id"], {"op": "remove", "path": "userName"})

    assert response.status_code == 400
    assert response.body == error("invalidValue", "'userName' is required and cannot be removed.")


def test_remove_without_path_returns_400_no_target(scim, user):
    response = patch(scim, user["id"], {"op": "remove", "value": {"displayName": "x"}})

    assert response.status_code == 400
    assert response.body == error("noTarget", "Operation 1: 'remove' needs a 'path' (RFC 7644 §3.5.2.2).")


# errors ------------------------------------------------------------------------------------------


def test_unknown_op_returns_400_invalid_syntax(scim, user):
    response = patch(scim, user["id"], {"op": "move", "path": "displayName", "value": "x"})

    assert response.status_code == 400
    assert response.body == error(
        "invalidSyntax", "Operation 1: 'op' must be add, remove or replace, not 'move'."
    )


def test_unknown_attribute_path_returns_400_invalid_path(scim, user):
    response = patch(scim, user["id"], {"op": "add", "path": "favouriteColour", "value": "teal"})

    assert response.status_code == 400
    assert response.body == error(
        "invalidPath", "'favouriteColour' is not an attribute of the User resource."
    )


@pytest.mark.parametrize(
    "path",
    ['emails[type eq "work"', "name..givenName", "emails.", 'userName[type eq "work"]', "name.givenName.x"],
)
def test_malformed_path_returns_400_invalid_path(scim, user, path):
    response = patch(scim, user["id"], {"op": "replace", "path": path, "value": "x"})

    assert response.status_code == 400
    assert response.body == error("invalidPath", f"'{path}' is not a valid attribute path.")


def test_invalid_value_filter_returns_400_invalid_path(scim, user):
    response = patch(
        scim, user["id"], {"op": "replace", "path": "emails[type eq 'work'].value", "value": "x"}
    )

    assert response.status_code == 400
    assert response.body["scimType"] == "invalidPath"


@pytest.mark.parametrize("path", ["id", "meta.created", "meta"])
def test_read_only_path_returns_400_mutability(scim, user, path):
    response = patch(scim, user["id"], {"op": "replace", "path": path, "value": "x"})

    assert response.status_code == 400
    assert response.body == error("mutability", f"'{path}' is read-only and cannot be changed.")
    assert_unchanged(scim, user)


@pytest.mark.parametrize("body", [{"schemas": [PATCH_OP]}, {"schemas": [PATCH_OP], "Operations": []}])
def test_missing_or_empty_operations_returns_400_invalid_syntax(scim, user, body):
    response = scim.patch(f"/Users/{user['id']}", body)

    assert response.status_code == 400
    assert response.body == error("invalidSyntax", "A PATCH request needs a non-empty 'Operations' list.")


def test_operation_that_is_not_an_object_returns_400_invalid_syntax(scim, user):
    response = patch(scim, user["id"], "replace displayName")

    assert response.status_code == 400
    assert response.body == error(
        "invalidSyntax", "Operation 1 must be an object with 'op', 'path' and 'value'."
    )


def test_more_operations_than_the_limit_returns_400_too_many(scim, user, settings):
    settings.SCIM_MAX_OPERATIONS = 2
    operation = {"op": "replace", "path": "displayName", "value": "x"}

    response = patch(scim, user["id"], operation, operation, operation)

    assert response.status_code == 400
    assert response.body == error("tooMany", "A PATCH request may hold at most 2 operations.")
    assert_unchanged(scim, user)


def test_operations_up_to_the_limit_are_accepted(scim, user, settings):
    settings.SCIM_MAX_OPERATIONS = 2

    response = patch(
        scim,
        user["id"],
        {"op": "replace", "path": "displayName", "value": "x"},
        {"op": "replace", "path": "title", "value": "y"},
    )

    assert_updated(scim, user, response, {"displayName": "x", "title": "y"})


def test_patch_of_unknown_user_returns_404(scim):
    missing = "00000000-0000-4000-8000-000000000000"

    response = patch(scim, missing, {"op": "replace", "path": "displayName", "value": "x"})

    assert response.status_code == 404
    assert response.body == {"schemas": [ERROR], "status": "404", "detail": f"Resource {missing} not found"}


def test_patch_of_another_organizations_user_returns_404(scim, other_scim, create_user):
    stranger = create_user("stranger@fabrikam.com", client=other_scim)

    response = patch(scim, stranger["id"], {"op": "replace", "path": "displayName", "value": "x"})

    assert response.status_code == 404


# If-Match (RFC 7644 §3.14) -----------------------------------------------------------------------


def test_if_match_with_stale_version_returns_412_and_changes_nothing(scim, user):
    patch(scim, user["id"], {"op": "replace", "path": "displayName", "value": "first"})
    current = scim.get(f"/Users/{user['id']}").body

    response = patch(
        scim,
        user["id"],
        {"op": "replace", "path": "displayName", "value": "second"},
        headers={"If-Match": 'W/"1"'},
    )

    assert response.status_code == 412
    assert response.body == {
        "schemas": [ERROR],
        "status": "412",
        "detail": 'The resource has changed: its version is W/"2".',
    }
    assert_unchanged(scim, current)


def test_if_match_with_current_version_applies_the_patch(scim, user):
    response = patch(
        scim,
        user["id"],
        {"op": "replace", "path": "displayName", "value": "x"},
        headers={"If-Match": 'W/"1"'},
    )

    assert_updated(scim, user, response, {"displayName": "x"})
