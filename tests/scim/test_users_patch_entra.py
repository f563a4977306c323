"""
PATCH /Users/{id} with the exact request shapes Entra sends: default (legacy) mode and the
`aadOptscim062020` flag (entra-scim.md §1.7, §1.8, §1.10, §1.11). One test per shape.
"""

import pytest


pytestmark = pytest.mark.django_db

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


def patch(scim, user_id: str, *operations, schemas_last: bool = False):
    body = {"schemas": [PATCH_OP], "Operations": list(operations)}
    if schemas_last:  # the documented disable sample puts "schemas" after "Operations"
        body = {"Operations": list(operations), "schemas": [PATCH_OP]}
    return scim.patch(f"/Users/{user_id}", body)


def updated(before: dict, after: dict, version: int, changes: dict) -> dict:
    """`before` with `changes` applied (None removes) and meta moved on to `version`."""
    body = {key: value for key, value in {**before, **changes}.items() if value is not None}
    body["meta"] = {
        **before["meta"],
        "lastModified": after["meta"]["lastModified"],
        "version": f'W/"{version}"',
    }
    return body


def assert_updated(scim, before: dict, response, changes: dict, version: int = 2) -> None:
    """A 200 with the whole updated resource, which a follow-up GET returns too."""
    assert response.status_code == 200, response.body
    assert response.body == updated(before, response.body, version, changes)
    assert response["ETag"] == f'W/"{version}"'
    assert scim.get(f"/Users/{before['id']}").body == response.body


@pytest.fixture
def user(create_user):
    return create_user("alice@contoso.com")


# Disable and re-enable (§1.11) -------------------------------------------------------------------


def test_disable_user_entra_legacy_string_false(scim, user):
    response = patch(scim, user["id"], {"op": "Replace", "path": "active", "value": "False"})

    assert_updated(scim, user, response, {"active": False})


def test_disable_user_entra_lower_case_string_false(scim, user):
    response = patch(scim, user["id"], {"op": "Replace", "path": "active", "value": "false"})

    assert_updated(scim, user, response, {"active": False})


def test_disable_user_aadoptscim062020_boolean_false(scim, user):
    response = patch(scim, user["id"], {"op": "replace", "path": "active", "value": False})

    assert_updated(scim, user, response, {"active": False})


def test_disable_user_documented_sample_capitalised_replace_boolean_false(scim, user):
    response = patch(scim, user["id"], {"op": "Replace", "path": "active", "value": False}, schemas_last=True)

    assert_updated(scim, user, response, {"active": False})


def test_reenable_user_entra_legacy_string_true(scim, user):
    patch(scim, user["id"], {"op": "Replace", "path": "active", "value": "False"})

    response = patch(scim, user["id"], {"op": "Replace", "path": "active", "value": "True"})

    assert_updated(scim, user, response, {"active": True}, version=3)


def test_reenable_user_aadoptscim062020_boolean_true(scim, user):
    patch(scim, user["id"], {"op": "replace", "path": "active", "value": False})

    response = patch(scim, user["id"], {"op": "replace", "path": "active", "value": True})

    assert_updated(scim, user, response, {"active": True}, version=3)


def test_disable_with_unparseable_string_returns_400_invalid_value(scim, user):
    response = patch(scim, user["id"], {"op": "Replace", "path": "active", "value": "no"})

    assert response.status_code == 400
    assert response.body == {
        "schemas": [ERROR],
        "status": "400",
        "scimType": "invalidValue",
        "detail": "'active' must be true or false, not 'no'.",
    }


# Attribute updates, default mode (§1.7) ----------------------------------------------------------


def test_replace_work_email_and_family_name_entra_legacy(scim, user):
    response = patch(
        scim,
        user["id"],
        {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "updatedEmail@microsoft.com"},
        {"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"},
    )

    assert_updated(
        scim,
        user,
        response,
        {
            "emails": [{"value": "updatedEmail@microsoft.com", "type": "work", "primary": True}],
            "name": {**user["name"], "familyName": "updatedFamilyName"},
        },
    )


def test_replace_username_entra(scim, user):
    response = patch(
        scim,
        user["id"],
        {"op": "Replace", "path": "userName", "value": "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com"},
    )

    assert_updated(scim, user, response, {"userName": "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com"})


def test_replace_username_with_taken_name_returns_409_uniqueness(scim, user, create_user):
    create_user("bob@contoso.com")

    response = patch(scim, user["id"], {"op": "Replace", "path": "userName", "value": "BOB@contoso.com"})

    assert response.status_code == 409
    assert response.body == {
        "schemas": [ERROR],
        "status": "409",
        "scimType": "uniqueness",
        "detail": "userName 'BOB@contoso.com' is already taken in this organization.",
    }


def test_replace_several_attributes_entra_legacy_one_op_each(scim, user):
    response = patch(
        scim,
        user["id"],
        {"op": "Replace", "path": "displayName", "value": "Pvlo"},
        {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "TestBcwqnm@test.microsoft.com"},
        {"op": "Replace", "path": "name.givenName", "value": "Gtfd"},
        {"op": "Replace", "path": "name.familyName", "value": "Pkqf"},
        {"op": "Replace", "path": "externalId", "value": "Eqpj"},
        {"op": "Replace", "path": f"{ENTERPRISE}:employeeNumber", "value": "Eqpj"},
    )

    assert_updated(
        scim,
        user,
        response,
        {
            "schemas": [CORE, ENTERPRISE],
            "displayName": "Pvlo",
            "emails": [{"value": "TestBcwqnm@test.microsoft.com", "type": "work", "primary": True}],
            "name": {"formatted": "givenName familyName", "givenName": "Gtfd", "familyName": "Pkqf"},
            "externalId": "Eqpj",
            ENTERPRISE: {"employeeNumber": "Eqpj"},
        },
    )


def test_add_nickname_capitalised_add(scim, user):
    response = patch(scim, user["id"], {"op": "Add", "path": "nickName", "value": "Babs"})

    assert_updated(scim, user, response, {"nickName": "Babs"})


def test_add_nickname_aadoptscim062020(scim, user):
    response = patch(scim, user["id"], {"op": "add", "path": "nickName", "value": "Babs"})

    assert_updated(scim, user, response, {"nickName": "Babs"})


def test_add_on_a_set_single_valued_attribute_replaces_it(scim, user):
    patch(scim, user["id"], {"op": "Add", "path": "nickName", "value": "Babs"})

    response = patch(scim, user["id"], {"op": "Add", "path": "nickName", "value": "Barbara"})

    assert_updated(scim, user, response, {"nickName": "Barbara"}, version=3)


def test_add_department_urn_path(scim, user):
    response = patch(scim, user["id"], {"op": "Add", "path": f"{ENTERPRISE}:department", "value": "Retail"})

    assert_updated(
        scim, user, response, {"schemas": [CORE, ENTERPRISE], ENTERPRISE: {"department": "Retail"}}
    )


def test_replace_work_email_creates_missing_element(scim, create_user):
    user = create_user("carol@contoso.com", emails=[])

    response = patch(
        scim, user["id"], {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "c@x.com"}
    )

    assert_updated(scim, user, response, {"emails": [{"value": "c@x.com", "type": "work", "primary": False}]})


def test_replace_mobile_phone_creates_it_and_stores_value_as_sent(scim, user):
    response = patch(
        scim,
        user["id"],
        {"op": "Replace", "path": 'phoneNumbers[type eq "mobile"].value', "value": "55555555555"},
    )

    assert_updated(
        scim, user, response, {"phoneNumbers": [{"value": "55555555555", "type": "mobile", "primary": False}]}
    )


def test_replace_work_address_formatted_creates_address(scim, user):
    """The 2022 capture of Entra updating mail, office and department (laravel-scim-server#34)."""
    response = patch(
        scim,
        user["id"],
        {
            "op": "Replace",
            "path": 'emails[type eq "work"].value',
            "value": "AdeleV2@REDACTED.onmicrosoft.com",
        },
        {"op": "Replace", "path": 'addresses[type eq "work"].formatted', "value": "18/2111"},
        {"op": "Add", "path": f"{ENTERPRISE}:department", "value": "Retail"},
    )

    assert_updated(
        scim,
        user,
        response,
        {
            "schemas": [CORE, ENTERPRISE],
            "emails": [{"value": "AdeleV2@REDACTED.onmicrosoft.com", "type": "work", "primary": True}],
            "addresses": [{"formatted": "18/2111", "type": "work", "primary": False}],
            ENTERPRISE: {"department": "Retail"},
        },
    )


def test_two_adds_on_work_address_merge_into_one_address(scim, user):
    response = patch(
        scim,
        user["id"],
        {"op": "Add", "path": 'addresses[type eq "work"].streetAddress', "value": "1 Microsoft Way"},
        {"op": "Add", "path": 'addresses[type eq "work"].locality', "value": "Redmond"},
    )

    assert_updated(
        scim,
        user,
        response,
        {
            "addresses": [
                {"streetAddress": "1 Microsoft Way", "locality": "Redmond", "type": "work", "primary": False}
            ]
        },
    )


def test_value_path_filter_matches_type_case_insensitively(scim, create_user):
    user = create_user(
        "dave@contoso.com", emails=[{"type": "Work", "value": "dave@contoso.com", "primary": True}]
    )

    response = patch(
        scim, user["id"], {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "d@x.com"}
    )

    assert_updated(scim, user, response, {"emails": [{"value": "d@x.com", "type": "Work", "primary": True}]})


# aadOptscim062020 path-less replace (§1.8) -------------------------------------------------------


def test_pathless_replace_dotted_and_urn_keys_aadoptscim062020(scim, user):
    response = patch(
        scim,
        user["id"],
        {"op": "replace", "path": 'emails[type eq "work"].value', "value": "TestMhvaes@test.microsoft.com"},
        {
            "op": "replace",
            "value": {
                "displayName": "Bjfe",
                "name.givenName": "Kkom",
                "name.familyName": "Unua",
                f"{ENTERPRISE}:employeeNumber": "Aklq",
            },
        },
    )

    assert_updated(
        scim,
        user,
        response,
        {
            "schemas": [CORE, ENTERPRISE],
            "emails": [{"value": "TestMhvaes@test.microsoft.com", "type": "work", "primary": True}],
            "displayName": "Bjfe",
            "name": {"formatted": "givenName familyName", "givenName": "Kkom", "familyName": "Unua"},
            ENTERPRISE: {"employeeNumber": "Aklq"},
        },
    )


def test_pathless_replace_dotted_name_keys_are_not_stored_literally(scim, user):
    """pingidentity/scim2#224: "name.familyName" is a path, not an attribute called that."""
    response = patch(
        scim,
        user["id"],
        {"op": "replace", "value": {"name.familyName": "test", "name.formatted": "test test2"}},
    )

    assert_updated(
        scim,
        user,
        response,
        {"name": {"formatted": "test test2", "familyName": "test", "givenName": "givenName"}},
    )


def test_pathless_replace_username_validator(scim, user):
    response = patch(scim, user["id"], {"op": "replace", "value": {"userName": "emilio@hermann.uk"}})

    assert_updated(scim, user, response, {"userName": "emilio@hermann.uk"})


def test_pathless_replace_with_active_and_other_attributes_validator(scim, user):
    """AzureAD/SCIMReferenceCode#97: the validator's path-less replace must not be skipped."""
    response = patch(
        scim,
        user["id"],
        {"op": "replace", "value": {"active": False, "displayName": "Ayla", "name.givenName": "Ayla"}},
    )

    assert_updated(
        scim,
        user,
        response,
        {"active": False, "displayName": "Ayla", "name": {**user["name"], "givenName": "Ayla"}},
    )


# Atomicity ---------------------------------------------------------------------------------------


def test_patch_with_invalid_second_operation_applies_nothing(scim, user):
    response = patch(
        scim,
        user["id"],
        {"op": "Replace", "path": "displayName", "value": "Changed"},
        {"op": "Replace", "path": "active", "value": "perhaps"},
    )

    assert response.status_code == 400
    after = scim.get(f"/Users/{user['id']}")
    assert after.body == user
    assert after["ETag"] == 'W/"1"'
