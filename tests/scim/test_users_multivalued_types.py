"""
Several values of one type in emails, phoneNumbers and addresses (RFC 7643 §2.4 limits only
"primary": true to one value). They are stored and returned in the order sent, found by filters,
and a PATCH value path (`emails[type eq "work"].value`) addresses every matching value; with one
or no value of the type Entra's single-value semantics (update it / create it) are unchanged.
"""

from urllib.parse import quote

import pytest


pytestmark = pytest.mark.django_db

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"

WORK = {"value": "alice@contoso.com", "type": "work", "primary": True}
WORK_2 = {"value": "a.smith@contoso.com", "type": "work", "primary": False}
HOME = {"value": "alice@example.com", "type": "home", "primary": False}
MOBILE = {"value": "+1 555 0100", "type": "mobile", "primary": False}
MOBILE_2 = {"value": "+1 555 0101", "type": "mobile", "primary": False}
OFFICE = {"formatted": "1 Main St", "type": "work", "primary": False}
OFFICE_2 = {"formatted": "2 Lake Rd", "type": "work", "primary": False}


@pytest.fixture
def user(scim) -> dict:
    """A generic RFC client's user: two work e-mails and a home one, two mobiles, two offices."""
    body = {
        "schemas": [CORE],
        "userName": "alice@contoso.com",
        "emails": [
            {"value": WORK["value"], "type": "work", "primary": True},
            {"value": WORK_2["value"], "type": "work"},
            {"value": HOME["value"], "type": "home"},
        ],
        "phoneNumbers": [
            {"value": MOBILE["value"], "type": "mobile"},
            {"value": MOBILE_2["value"], "type": "mobile"},
        ],
        "addresses": [{"formatted": "1 Main St", "type": "work"}, {"formatted": "2 Lake Rd", "type": "work"}],
    }
    response = scim.post("/Users", body)
    assert response.status_code == 201, response.body
    return response.body


def resource(user: dict, response, version: int, **attributes) -> dict:
    """The full User body: userName, active and the given attributes (None: absent)."""
    body = {"schemas": [CORE], "id": user["id"], "userName": "alice@contoso.com", "active": True}
    body.update({key: value for key, value in attributes.items() if value is not None})
    body["meta"] = {
        **user["meta"],
        "lastModified": response.body["meta"]["lastModified"],
        "version": f'W/"{version}"',
    }
    return body


def as_before(user: dict, response, **changes) -> dict:
    attributes = {
        "emails": [WORK, WORK_2, HOME],
        "phoneNumbers": [MOBILE, MOBILE_2],
        "addresses": [OFFICE, OFFICE_2],
        **changes,
    }
    return resource(user, response, 2, **attributes)


def patch(scim, user_id: str, *operations):
    return scim.patch(f"/Users/{user_id}", {"schemas": [PATCH_OP], "Operations": list(operations)})


def assert_answered_and_stored(scim, response, expected: dict) -> None:
    assert response.status_code == 200, response.body
    assert response.body == expected
    assert scim.get(f"/Users/{expected['id']}").body == expected


def error(detail: str) -> dict:
    return {"schemas": [ERROR], "status": "400", "scimType": "invalidValue", "detail": detail}


TWO_PRIMARIES = "emails has more than one value marked primary; at most one may be."


# Create and PUT ----------------------------------------------------------------------------------


def test_create_with_several_values_of_one_type_stores_them_in_the_order_sent(scim, user):
    expected = {
        "schemas": [CORE],
        "id": user["id"],
        "userName": "alice@contoso.com",
        "active": True,
        "emails": [WORK, WORK_2, HOME],
        "phoneNumbers": [MOBILE, MOBILE_2],
        "addresses": [OFFICE, OFFICE_2],
        "meta": user["meta"],
    }

    assert user == expected
    assert scim.get(f"/Users/{user['id']}").body == expected


def test_create_with_two_work_emails_in_different_case_keeps_both_types_as_sent(scim):
    emails = [
        {"type": "work", "value": "alice@contoso.com"},
        {"type": "Work", "value": "a.smith@contoso.com"},
    ]

    response = scim.post("/Users", {"schemas": [CORE], "userName": "alice@contoso.com", "emails": emails})

    assert response.status_code == 201, response.body
    assert response.body["emails"] == [
        {"value": "alice@contoso.com", "type": "work", "primary": False},
        {"value": "a.smith@contoso.com", "type": "Work", "primary": False},
    ]


def test_create_with_two_primary_work_emails_returns_400_invalid_value(scim):
    emails = [
        {"type": "work", "value": "alice@contoso.com", "primary": True},
        {"type": "work", "value": "a.smith@contoso.com", "primary": True},
    ]

    response = scim.post("/Users", {"schemas": [CORE], "userName": "alice@contoso.com", "emails": emails})

    assert response.status_code == 400
    assert response.body == error(TWO_PRIMARIES)
    assert scim.get("/Users").body["totalResults"] == 0


def test_okta_put_with_two_work_emails_replaces_the_list_in_the_new_order(scim, user):
    # Okta updates with a PUT of the whole user.
    body = {
        "schemas": [CORE],
        "id": user["id"],
        "userName": "alice@contoso.com",
        "emails": [
            {"primary": False, "value": WORK_2["value"], "type": "work"},
            {"primary": True, "value": "alice@contoso.net", "type": "work"},
        ],
        "active": True,
        "groups": [],
    }

    response = scim.put(f"/Users/{user['id']}", body)

    expected = resource(
        user,
        response,
        2,
        emails=[WORK_2, {"value": "alice@contoso.net", "type": "work", "primary": True}],
    )
    assert_answered_and_stored(scim, response, expected)


# Filters -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "filter_text",
    [
        f'emails[type eq "work"].value eq "{WORK_2["value"]}"',
        f'emails[type eq "work" and value eq "{WORK_2["value"]}"]',
        f'emails.value eq "{WORK_2["value"]}"',
        'phoneNumbers[type eq "mobile"].value eq "+1 555 0101"',
        'addresses[type eq "work" and formatted eq "2 Lake Rd"]',
    ],
    ids=["entra-value-path", "bracket-and", "plain-sub-attribute", "second-mobile", "second-office"],
)
def test_filter_matches_the_second_value_of_a_type(scim, user, filter_text):
    response = scim.get(f"/Users?filter={quote(filter_text)}")

    assert response.status_code == 200
    assert response.body == {
        "schemas": [LIST],
        "totalResults": 1,
        "startIndex": 1,
        "itemsPerPage": 1,
        "Resources": [scim.get(f"/Users/{user['id']}").body],
    }


def test_filter_value_path_needs_type_and_value_on_the_same_value(scim, user):
    filter_text = f'emails[type eq "home" and value eq "{WORK_2["value"]}"]'

    response = scim.get(f"/Users?filter={quote(filter_text)}")

    assert response.status_code == 200
    assert response.body["totalResults"] == 0


# PATCH: value paths address every matching value -------------------------------------------------


def test_add_second_work_email_appends_it(scim, user):
    added = {"value": "alice@contoso.net", "type": "work"}

    response = patch(scim, user["id"], {"op": "add", "path": "emails", "value": [added]})

    expected = as_before(user, response, emails=[WORK, WORK_2, HOME, {**added, "primary": False}])
    assert_answered_and_stored(scim, response, expected)


def test_add_without_path_appends_a_work_email(scim, user):
    added = {"value": "alice@contoso.net", "type": "work"}

    response = patch(scim, user["id"], {"op": "add", "value": {"emails": [added]}})

    expected = as_before(user, response, emails=[WORK, WORK_2, HOME, {**added, "primary": False}])
    assert_answered_and_stored(scim, response, expected)


def test_replace_value_path_sets_every_matching_value(scim, user):
    response = patch(
        scim,
        user["id"],
        {"op": "replace", "path": 'emails[type eq "work"].display', "value": "Alice at work"},
    )

    expected = as_before(
        user,
        response,
        emails=[{**WORK, "display": "Alice at work"}, {**WORK_2, "display": "Alice at work"}, HOME],
    )
    assert_answered_and_stored(scim, response, expected)


def test_entra_replace_work_email_value_sets_both_work_emails(scim, user):
    new = "alice.smith@contoso.com"

    response = patch(
        scim, user["id"], {"op": "Replace", "path": 'emails[type eq "work"].value', "value": new}
    )

    expected = as_before(user, response, emails=[{**WORK, "value": new}, {**WORK_2, "value": new}, HOME])
    assert_answered_and_stored(scim, response, expected)


def test_replace_value_path_selecting_one_of_two_work_emails_changes_only_it(scim, user):
    response = patch(
        scim,
        user["id"],
        {"op": "replace", "path": f'emails[value eq "{WORK_2["value"]}"].value', "value": "a.s@contoso.com"},
    )

    expected = as_before(user, response, emails=[WORK, {**WORK_2, "value": "a.s@contoso.com"}, HOME])
    assert_answered_and_stored(scim, response, expected)


def test_replace_whole_values_on_value_path_replaces_each_match_and_keeps_the_type(scim, user):
    response = patch(
        scim,
        user["id"],
        {"op": "replace", "path": 'phoneNumbers[type eq "mobile"]', "value": {"value": "+1 555 0199"}},
    )

    phone = {"value": "+1 555 0199", "type": "mobile", "primary": False}
    assert_answered_and_stored(scim, response, as_before(user, response, phoneNumbers=[phone, phone]))


def test_add_on_value_path_sets_the_sub_attribute_of_every_match(scim, user):
    response = patch(
        scim, user["id"], {"op": "add", "path": 'addresses[type eq "work"].country', "value": "US"}
    )

    expected = as_before(
        user, response, addresses=[{**OFFICE, "country": "US"}, {**OFFICE_2, "country": "US"}]
    )
    assert_answered_and_stored(scim, response, expected)


def test_add_on_value_path_matching_nothing_creates_the_value(scim, user):
    # RFC 7644 §3.5.2.1 with Entra's upsert: the filter's equalities become the new value's own.
    response = patch(
        scim, user["id"], {"op": "add", "path": 'emails[type eq "other"].value', "value": "a@x.org"}
    )

    other = {"value": "a@x.org", "type": "other", "primary": False}
    assert_answered_and_stored(scim, response, as_before(user, response, emails=[WORK, WORK_2, HOME, other]))


def test_remove_value_path_removes_every_match(scim, user):
    response = patch(scim, user["id"], {"op": "remove", "path": 'emails[type eq "work"]'})

    assert_answered_and_stored(scim, response, as_before(user, response, emails=[HOME]))


def test_remove_value_path_selecting_one_of_two_work_emails_removes_only_it(scim, user):
    response = patch(scim, user["id"], {"op": "remove", "path": f'emails[value eq "{WORK["value"]}"]'})

    assert_answered_and_stored(scim, response, as_before(user, response, emails=[WORK_2, HOME]))


def test_remove_sub_attribute_on_value_path_removes_it_from_every_match(scim, user):
    patch(scim, user["id"], {"op": "add", "path": 'emails[type eq "work"].display', "value": "Alice"})

    response = patch(scim, user["id"], {"op": "remove", "path": 'emails[type eq "work"].display'})

    expected = resource(
        user,
        response,
        3,
        emails=[WORK, WORK_2, HOME],
        phoneNumbers=[MOBILE, MOBILE_2],
        addresses=[OFFICE, OFFICE_2],
    )
    assert_answered_and_stored(scim, response, expected)


def test_replace_primary_on_one_of_two_work_emails_demotes_the_other(scim, user):
    response = patch(
        scim,
        user["id"],
        {"op": "replace", "path": f'emails[value eq "{WORK_2["value"]}"].primary', "value": True},
    )

    expected = as_before(
        user, response, emails=[{**WORK, "primary": False}, {**WORK_2, "primary": True}, HOME]
    )
    assert_answered_and_stored(scim, response, expected)


def test_replace_primary_on_value_path_matching_two_values_returns_400_invalid_value(scim, user):
    response = patch(
        scim, user["id"], {"op": "replace", "path": 'emails[type eq "work"].primary', "value": True}
    )

    assert response.status_code == 400
    assert response.body == error(TWO_PRIMARIES)
    assert scim.get(f"/Users/{user['id']}").body == user


def test_unrelated_patch_keeps_the_order_of_values_of_one_type(scim, user):
    response = patch(scim, user["id"], {"op": "replace", "path": "title", "value": "CTO"})

    assert_answered_and_stored(scim, response, as_before(user, response, title="CTO"))


# Entra's single-value semantics, unchanged -------------------------------------------------------


@pytest.fixture
def entra_user(create_user) -> dict:
    """Entra's documented create body: one work e-mail, primary."""
    return create_user("alice@contoso.com")


ENTRA_CASES = {
    "updates-the-only-work-email": (
        [{"op": "Replace", "path": 'emails[type eq "work"].value', "value": "new@contoso.com"}],
        {"emails": [{"value": "new@contoso.com", "type": "work", "primary": True}]},
    ),
    "creates-a-phone-of-a-type-the-user-lacks": (
        [{"op": "Replace", "path": 'phoneNumbers[type eq "mobile"].value', "value": "+1 555"}],
        {"phoneNumbers": [{"value": "+1 555", "type": "mobile", "primary": False}]},
    ),
    "creates-one-address-from-two-sub-attributes": (
        [
            {"op": "Replace", "path": 'addresses[type eq "work"].formatted', "value": "18/2111"},
            {"op": "Replace", "path": 'addresses[type eq "work"].locality', "value": "Redmond"},
        ],
        {"addresses": [{"formatted": "18/2111", "locality": "Redmond", "type": "work", "primary": False}]},
    ),
}


@pytest.mark.parametrize(("operations", "changes"), ENTRA_CASES.values(), ids=ENTRA_CASES.keys())
def test_entra_replace_on_value_path_with_one_or_no_match(scim, entra_user, operations, changes):
    response = patch(scim, entra_user["id"], *operations)

    meta = {**entra_user["meta"], "lastModified": response.body["meta"]["lastModified"], "version": 'W/"2"'}
    assert_answered_and_stored(scim, response, {**entra_user, **changes, "meta": meta})
