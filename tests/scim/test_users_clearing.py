"""
Clearing values of a User, the same way everywhere (RFC 7644 §3.5.2, RFC 7643 §2.5): `replace` with
null, "", [] or {}; `remove` of simple, complex, sub-, multi-valued and extension attributes; PUT
without an attribute. A cleared value is left out of the resource (never returned as null or "")
and stored as unset; userName cannot be cleared; `add` of an empty value to a multi-valued or
complex attribute adds nothing.

Each case is the exact request and the full body the GET returns afterwards: BASE_ATTRIBUTES with
the case's top-level changes (None: the attribute is gone).
"""

from dataclasses import dataclass, field

import pytest

from accounts.models import WorkAccount, WorkAccountValue


pytestmark = pytest.mark.django_db

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
MANAGER = "<the manager's id>"  # replaced by bob's id in the expected bodies
MANAGER_REF = "<the manager's location>"

NAME = {"formatted": "Ms. Alice Q Smith", "familyName": "Smith", "givenName": "Alice", "middleName": "Q"}
WORK_EMAIL = {"value": "alice@contoso.com", "type": "work", "primary": True}
HOME_EMAIL = {"value": "alice@example.com", "type": "home", "primary": False}
PHONE = {"value": "+1 555 0100", "type": "work", "primary": False}
ADDRESS = {
    "streetAddress": "1 Main St",
    "locality": "Redmond",
    "country": "US",
    "type": "work",
    "primary": False,
}
EXTENSION = {
    "employeeNumber": "701984",
    "costCenter": "4130",
    "department": "Tour Operations",
    "manager": {"value": MANAGER, "$ref": MANAGER_REF},
}
# The user every case starts from, as a generic RFC client creates it.
CREATE_BODY = {
    "schemas": [CORE, ENTERPRISE],
    "userName": "alice@contoso.com",
    "externalId": "ext-alice",
    "name": NAME,
    "displayName": "Alice Smith",
    "nickName": "Ali",
    "title": "CTO",
    "active": True,
    "emails": [
        {"value": "alice@contoso.com", "type": "work", "primary": True},
        {"value": "alice@example.com", "type": "home"},
    ],
    "phoneNumbers": [{"value": "+1 555 0100", "type": "work"}],
    "addresses": [{"streetAddress": "1 Main St", "locality": "Redmond", "country": "US", "type": "work"}],
    ENTERPRISE: {
        "employeeNumber": "701984",
        "costCenter": "4130",
        "department": "Tour Operations",
        "manager": {"value": MANAGER},
    },
}
# What GET returns for it (without id and meta).
BASE_ATTRIBUTES = {
    "schemas": [CORE, ENTERPRISE],
    "userName": "alice@contoso.com",
    "externalId": "ext-alice",
    "name": NAME,
    "displayName": "Alice Smith",
    "nickName": "Ali",
    "title": "CTO",
    "active": True,
    "emails": [WORK_EMAIL, HOME_EMAIL],
    "phoneNumbers": [PHONE],
    "addresses": [ADDRESS],
    ENTERPRISE: EXTENSION,
}
WITHOUT_EXTENSION = {"schemas": [CORE], ENTERPRISE: None}


@dataclass(frozen=True)
class Case:
    id: str
    operations: list
    changes: dict = field(default_factory=dict)  # top-level attributes of the GET body; None: gone


def replace(path, value, op="replace"):
    return {"op": op, "path": path, "value": value}


def remove(path):
    return {"op": "remove", "path": path}


def extension(**changes) -> dict:
    """EXTENSION with some attributes changed (None: gone)."""
    return {key: value for key, value in {**EXTENSION, **changes}.items() if value is not None}


NAME_WITHOUT_GIVEN = {k: v for k, v in NAME.items() if k != "givenName"}

PATCH_CASES = [
    # simple attribute -------------------------------------------------------------------------
    Case("simple-replace-null", [replace("title", None)], {"title": None}),
    Case("simple-replace-empty-string", [replace("title", "")], {"title": None}),
    Case("simple-replace-empty-list", [replace("title", [])], {"title": None}),
    Case("simple-replace-empty-object", [replace("title", {})], {"title": None}),
    Case("simple-remove", [remove("title")], {"title": None}),
    Case("simple-add-empty-string", [replace("nickName", "", op="add")], {"nickName": None}),
    Case(
        "simple-entra-capitalised-replace-empty",
        [replace("displayName", "", op="Replace")],
        {"displayName": None},
    ),
    Case("simple-without-path-empty-string", [{"op": "replace", "value": {"title": ""}}], {"title": None}),
    Case("common-externalId-replace-empty", [replace("externalId", "")], {"externalId": None}),
    Case("common-externalId-remove", [remove("externalId")], {"externalId": None}),
    # complex attribute (name) -----------------------------------------------------------------
    Case("complex-replace-null", [replace("name", None)], {"name": None}),
    Case("complex-replace-empty-object", [replace("name", {})], {"name": None}),
    Case("complex-replace-empty-string", [replace("name", "")], {"name": None}),
    Case("complex-replace-empty-list", [replace("name", [])], {"name": None}),
    Case("complex-remove", [remove("name")], {"name": None}),
    Case("sub-remove", [remove("name.givenName")], {"name": NAME_WITHOUT_GIVEN}),
    Case("sub-replace-empty-string", [replace("name.givenName", "")], {"name": NAME_WITHOUT_GIVEN}),
    Case("sub-replace-null", [replace("name.givenName", None)], {"name": NAME_WITHOUT_GIVEN}),
    Case("sub-in-object-empty-string", [replace("name", {"givenName": ""})], {"name": NAME_WITHOUT_GIVEN}),
    Case(
        "sub-entra-dotted-without-path",
        [{"op": "Replace", "value": {"name.givenName": ""}}],
        {"name": NAME_WITHOUT_GIVEN},
    ),
    Case(
        "sub-nested-without-path",
        [{"op": "replace", "value": {"name": {"givenName": None}}}],
        {"name": NAME_WITHOUT_GIVEN},
    ),
    Case(
        "every-sub-removed-removes-name",
        [remove(f"name.{part}") for part in NAME],
        {"name": None},
    ),
    # multi-valued attribute -------------------------------------------------------------------
    Case("multi-replace-empty-list", [replace("emails", [])], {"emails": None}),
    Case("multi-replace-null", [replace("emails", None)], {"emails": None}),
    Case("multi-replace-empty-string", [replace("emails", "")], {"emails": None}),
    Case("multi-replace-empty-object", [replace("emails", {})], {"emails": None}),
    Case("multi-remove", [remove("emails")], {"emails": None}),
    Case("multi-remove-phone-numbers", [remove("phoneNumbers")], {"phoneNumbers": None}),
    Case("multi-replace-addresses-empty-list", [replace("addresses", [])], {"addresses": None}),
    Case("multi-without-path-empty-list", [{"op": "replace", "value": {"emails": []}}], {"emails": None}),
    Case("value-path-remove", [remove('emails[type eq "home"]')], {"emails": [WORK_EMAIL]}),
    Case("value-path-replace-null", [replace('emails[type eq "home"]', None)], {"emails": [WORK_EMAIL]}),
    Case(
        "value-path-replace-empty-object", [replace('emails[type eq "home"]', {})], {"emails": [WORK_EMAIL]}
    ),
    # An e-mail without its value holds nothing: it goes with its value.
    Case("value-path-remove-value", [remove('emails[type eq "home"].value')], {"emails": [WORK_EMAIL]}),
    Case(
        "value-path-entra-replace-value-empty-string",
        [replace('emails[type eq "work"].value', "", op="Replace")],
        {"emails": [HOME_EMAIL]},
    ),
    Case(
        "value-path-replace-value-null-selecting-nothing-creates-nothing",
        [replace('emails[type eq "other"].value', None)],
        {},
    ),
    Case(
        "value-path-address-part-empty-string",
        [replace('addresses[type eq "work"].locality', "")],
        {"addresses": [{k: v for k, v in ADDRESS.items() if k != "locality"}]},
    ),
    Case(
        "value-path-remove-primary-leaves-it-false",
        [remove('emails[type eq "work"].primary')],
        {"emails": [{**WORK_EMAIL, "primary": False}, HOME_EMAIL]},
    ),
    # extension attributes ---------------------------------------------------------------------
    Case(
        "extension-entra-replace-empty-string",
        [replace(f"{ENTERPRISE}:department", "", op="Replace")],
        {ENTERPRISE: extension(department=None)},
    ),
    Case(
        "extension-replace-null",
        [replace(f"{ENTERPRISE}:department", None)],
        {ENTERPRISE: extension(department=None)},
    ),
    Case(
        "extension-remove",
        [remove(f"{ENTERPRISE}:employeeNumber")],
        {ENTERPRISE: extension(employeeNumber=None)},
    ),
    Case(
        "extension-bare-name-replace-empty",
        [replace("costCenter", "")],
        {ENTERPRISE: extension(costCenter=None)},
    ),
    Case(
        "extension-entra-path-less-urn-key",
        [{"op": "Replace", "value": {f"{ENTERPRISE}:department": ""}}],
        {ENTERPRISE: extension(department=None)},
    ),
    Case(
        "extension-nested-object-without-path",
        [{"op": "replace", "value": {ENTERPRISE: {"department": None, "costCenter": ""}}}],
        {ENTERPRISE: extension(department=None, costCenter=None)},
    ),
    Case(
        "extension-manager-entra-replace-empty",
        [replace(f"{ENTERPRISE}:manager", "", op="Replace")],
        {ENTERPRISE: extension(manager=None)},
    ),
    Case(
        "extension-manager-replace-null",
        [replace(f"{ENTERPRISE}:manager", None)],
        {ENTERPRISE: extension(manager=None)},
    ),
    Case(
        "extension-manager-remove", [remove(f"{ENTERPRISE}:manager")], {ENTERPRISE: extension(manager=None)}
    ),
    Case(
        "extension-manager-value-remove",
        [remove(f"{ENTERPRISE}:manager.value")],
        {ENTERPRISE: extension(manager=None)},
    ),
    Case("extension-whole-remove", [remove(ENTERPRISE)], WITHOUT_EXTENSION),
    Case("extension-whole-replace-empty-object", [replace(ENTERPRISE, {})], WITHOUT_EXTENSION),
    Case("extension-whole-replace-null", [replace(ENTERPRISE, None)], WITHOUT_EXTENSION),
    Case(
        "extension-every-attribute-removed-drops-its-schema",
        [remove(f"{ENTERPRISE}:{name}") for name in EXTENSION],
        WITHOUT_EXTENSION,
    ),
    # active: removing it leaves it unassigned (it blocks sign-in like false) -----------------
    Case("active-remove", [remove("active")], {"active": None}),
]


@pytest.fixture
def manager(create_user) -> dict:
    return create_user("bob@contoso.com")


@pytest.fixture
def user(scim, manager) -> dict:
    body = _with_manager(CREATE_BODY, manager)
    body[ENTERPRISE]["manager"] = {"value": manager["id"]}
    response = scim.post("/Users", body)
    assert response.status_code == 201, response.body
    assert response.body == {
        **_with_manager(BASE_ATTRIBUTES, manager),
        "id": response.body["id"],
        "meta": response.body["meta"],
    }
    return response.body


def _with_manager(value, manager: dict):
    if isinstance(value, dict):
        return {key: _with_manager(item, manager) for key, item in value.items()}
    if isinstance(value, list):
        return [_with_manager(item, manager) for item in value]
    return {MANAGER: manager["id"], MANAGER_REF: manager["meta"]["location"]}.get(value, value)


def patch(scim, user_id: str, *operations):
    return scim.patch(f"/Users/{user_id}", {"schemas": [PATCH_OP], "Operations": list(operations)})


def expected_body(user: dict, manager: dict, changes: dict, response, version: int) -> dict:
    attributes = {**BASE_ATTRIBUTES, **changes}
    body = {key: value for key, value in attributes.items() if value is not None}
    return {
        **_with_manager(body, manager),
        "id": user["id"],
        "meta": {
            **user["meta"],
            "lastModified": response.body["meta"]["lastModified"],
            "version": f'W/"{version}"',
        },
    }


def error(scim_type: str, detail: str) -> dict:
    return {"schemas": [ERROR], "status": "400", "scimType": scim_type, "detail": detail}


# PATCH -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", PATCH_CASES, ids=[case.id for case in PATCH_CASES])
def test_patch_clearing_leaves_the_value_out_of_the_resource(scim, user, manager, case):
    response = patch(scim, user["id"], *case.operations)

    expected = expected_body(user, manager, case.changes, response, version=2 if case.changes else 1)
    assert response.status_code == 200, response.body
    assert response.body == expected
    assert scim.get(f"/Users/{user['id']}").body == expected


NO_CHANGE_CASES = [
    Case("add-empty-list-to-multi-valued", [replace("emails", [], op="add")]),
    Case("add-null-to-multi-valued", [replace("emails", None, op="add")]),
    Case("add-empty-object-to-complex", [replace("name", {}, op="add")]),
    Case("add-empty-object-to-value-path", [replace('emails[type eq "work"]', {}, op="add")]),
    Case("add-empty-object-to-extension", [replace(ENTERPRISE, {}, op="add")]),
    Case("add-empty-object-without-path", [{"op": "add", "value": {}}]),
    Case("remove-of-an-absent-attribute", [remove("userType")]),
    Case("remove-value-path-selecting-nothing", [remove('phoneNumbers[type eq "fax"]')]),
]


@pytest.mark.parametrize("case", NO_CHANGE_CASES, ids=[case.id for case in NO_CHANGE_CASES])
def test_patch_adding_or_removing_nothing_changes_nothing(scim, user, case):
    response = patch(scim, user["id"], *case.operations)

    assert response.status_code == 200
    assert response.body == user
    assert response["ETag"] == 'W/"1"'


REQUIRED = "'{path}' is required and cannot be removed."
REFUSED_CASES = [
    Case("remove-userName", [remove("userName")], {"detail": REQUIRED.format(path="userName")}),
    Case("replace-userName-null", [replace("userName", None)], {"detail": REQUIRED.format(path="userName")}),
    Case(
        "replace-userName-empty-string",
        [replace("userName", "")],
        {"detail": REQUIRED.format(path="userName")},
    ),
    Case(
        "replace-userName-empty-without-path",
        [{"op": "replace", "value": {"userName": ""}}],
        {"detail": REQUIRED.format(path="userName")},
    ),
    Case(
        "remove-password",
        [remove("password")],
        {"detail": "'password' cannot be removed or emptied; give it a new value instead."},
    ),
    Case(
        "remove-without-path",
        [{"op": "remove"}],
        {"scimType": "noTarget", "detail": "Operation 1: 'remove' needs a 'path' (RFC 7644 §3.5.2.2)."},
    ),
    Case(
        "clearing-after-a-valid-operation-applies-neither",
        [replace("title", ""), remove("userName")],
        {"detail": REQUIRED.format(path="userName")},
    ),
]


@pytest.mark.parametrize("case", REFUSED_CASES, ids=[case.id for case in REFUSED_CASES])
def test_patch_clearing_what_cannot_be_cleared_returns_400_and_changes_nothing(scim, user, case):
    response = patch(scim, user["id"], *case.operations)

    assert response.status_code == 400
    assert response.body == error(case.changes.get("scimType", "invalidValue"), case.changes["detail"])
    after = scim.get(f"/Users/{user['id']}")
    assert after.body == user
    assert after["ETag"] == 'W/"1"'


@pytest.mark.parametrize(
    ("operation", "column"),
    [
        (replace("title", ""), "title"),
        (replace("name.givenName", ""), "name_given_name"),
        (replace(f"{ENTERPRISE}:department", ""), "department"),
    ],
    ids=["title", "name.givenName", "department"],
)
def test_patch_empty_string_is_stored_as_null_not_as_text(scim, user, operation, column):
    before = WorkAccount.objects.values("title", "name_given_name", "department").get(pk=user["id"])

    patch(scim, user["id"], operation)

    after = WorkAccount.objects.values("title", "name_given_name", "department").get(pk=user["id"])
    assert after == {**before, column: None}


def test_patch_clearing_a_value_path_deletes_the_stored_row(scim, user):
    patch(scim, user["id"], replace('emails[type eq "home"].value', ""))

    assert list(
        WorkAccountValue.objects.filter(account_id=user["id"], attribute="emails").values_list(
            "value", flat=True
        )
    ) == ["alice@contoso.com"]


# PUT ---------------------------------------------------------------------------------------------


def put(scim, user: dict, body: dict):
    return scim.put(f"/Users/{user['id']}", body)


def test_put_without_attributes_clears_them(scim, user, manager):
    response = put(scim, user, {"schemas": [CORE], "userName": "alice@contoso.com", "title": "CTO"})

    expected = {
        "schemas": [CORE],
        "id": user["id"],
        "userName": "alice@contoso.com",
        "title": "CTO",
        "active": True,
        "meta": {**user["meta"], "lastModified": response.body["meta"]["lastModified"], "version": 'W/"2"'},
    }
    assert response.status_code == 200
    assert response.body == expected
    assert scim.get(f"/Users/{user['id']}").body == expected


def test_put_with_empty_values_clears_them(scim, user, manager):
    body = _with_manager(CREATE_BODY, manager)
    body.update(title="", nickName=None, name={}, emails=[], phoneNumbers="", addresses=None)
    body[ENTERPRISE] = {**body[ENTERPRISE], "department": "", "manager": ""}

    response = put(scim, user, body)

    changes = {
        "title": None,
        "nickName": None,
        "name": None,
        "emails": None,
        "phoneNumbers": None,
        "addresses": None,
    }
    expected = expected_body(
        user, manager, {**changes, ENTERPRISE: extension(department=None, manager=None)}, response, 2
    )
    assert response.status_code == 200, response.body
    assert response.body == expected
    assert scim.get(f"/Users/{user['id']}").body == expected


def test_okta_put_with_empty_middle_name_and_no_enterprise_extension_clears_them(scim, user, manager):
    # Okta's documented update: PUT of the whole user, "middleName": "", groups [] and its own id.
    body = {
        "schemas": [CORE],
        "id": user["id"],
        "userName": "alice@contoso.com",
        "name": {"givenName": "Alice", "middleName": "", "familyName": "Smith"},
        "emails": [
            {"primary": True, "value": "alice@contoso.com", "type": "work", "display": "alice@contoso.com"}
        ],
        "displayName": "Alice Smith",
        "locale": "en-US",
        "externalId": "00u1dhhb1fkIGP7RL1d8",
        "groups": [],
        "active": True,
        "meta": {"resourceType": "User"},
    }

    response = put(scim, user, body)

    expected = {
        "schemas": [CORE],
        "id": user["id"],
        "userName": "alice@contoso.com",
        "externalId": "00u1dhhb1fkIGP7RL1d8",
        "displayName": "Alice Smith",
        "locale": "en-US",
        "name": {"givenName": "Alice", "familyName": "Smith"},
        "active": True,
        "emails": [
            {"value": "alice@contoso.com", "display": "alice@contoso.com", "type": "work", "primary": True}
        ],
        "meta": {**user["meta"], "lastModified": response.body["meta"]["lastModified"], "version": 'W/"2"'},
    }
    assert response.status_code == 200, response.body
    assert response.body == expected
    assert scim.get(f"/Users/{user['id']}").body == expected


def test_put_drops_elements_that_hold_no_value(scim, user):
    body = {
        "schemas": [CORE],
        "userName": "alice@contoso.com",
        "emails": [
            {"type": "work", "value": "", "primary": False},
            {"type": "home", "value": "alice@example.com"},
        ],
        "addresses": [{"type": "work", "formatted": "", "country": None}],
    }

    response = put(scim, user, body)

    assert response.status_code == 200, response.body
    assert response.body == {
        "schemas": [CORE],
        "id": user["id"],
        "userName": "alice@contoso.com",
        "active": True,
        "emails": [HOME_EMAIL],
        "meta": {**user["meta"], "lastModified": response.body["meta"]["lastModified"], "version": 'W/"2"'},
    }


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"schemas": [CORE], "userName": ""}, "userName is required and cannot be empty."),
        ({"schemas": [CORE], "userName": None, "title": "CTO"}, "userName is required."),
        ({"schemas": [CORE], "title": "CTO"}, "userName is required."),
    ],
    ids=["empty-string", "null", "absent"],
)
def test_put_without_user_name_returns_400_invalid_value_and_changes_nothing(scim, user, body, detail):
    response = put(scim, user, body)

    assert response.status_code == 400
    assert response.body == error("invalidValue", detail)
    assert scim.get(f"/Users/{user['id']}").body == user


# POST --------------------------------------------------------------------------------------------


def test_post_with_empty_strings_stores_none_of_them(scim):
    body = {
        "schemas": [CORE],
        "userName": "dana@contoso.com",
        "title": "",
        "name": {"givenName": "Dana", "middleName": ""},
        "emails": [
            {"value": "dana@contoso.com", "type": "work", "display": ""},
            {"value": "", "type": "home"},
        ],
        ENTERPRISE: {"department": ""},
    }

    response = scim.post("/Users", body)

    assert response.status_code == 201, response.body
    assert response.body == {
        "schemas": [CORE],
        "id": response.body["id"],
        "userName": "dana@contoso.com",
        "name": {"givenName": "Dana"},
        "active": True,
        "emails": [{"value": "dana@contoso.com", "type": "work", "primary": False}],
        "meta": response.body["meta"],
    }
    stored = WorkAccount.objects.get(pk=response.body["id"])
    assert (stored.title, stored.name_middle_name, stored.department) == (None, None, None)


@pytest.mark.parametrize("emptied", ["", {}, None], ids=["empty-string", "empty-object", "null"])
def test_put_with_an_empty_enterprise_extension_clears_it(scim, user, emptied):
    body = {"schemas": [CORE, ENTERPRISE], "userName": "alice@contoso.com", ENTERPRISE: emptied}

    response = put(scim, user, body)

    assert response.status_code == 200, response.body
    assert response.body == {
        "schemas": [CORE],
        "id": user["id"],
        "userName": "alice@contoso.com",
        "active": True,
        "meta": {**user["meta"], "lastModified": response.body["meta"]["lastModified"], "version": 'W/"2"'},
    }


def test_put_with_an_enterprise_extension_that_is_not_an_object_returns_400_invalid_value(scim, user):
    response = put(scim, user, {"schemas": [CORE], "userName": "alice@contoso.com", ENTERPRISE: False})

    assert response.status_code == 400
    assert response.body == error("invalidValue", f"'{ENTERPRISE}' must be a JSON object.")
    assert scim.get(f"/Users/{user['id']}").body == user
