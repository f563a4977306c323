"""
`attributes` and `excludedAttributes` with a value filter (issue 14): `emails[type eq "work"]`
returns only the matching emails, `emails[type eq "work"].value` only their value, and in
excludedAttributes the same paths leave those values (or that part of them) out. On GET by id,
on lists, and in a SearchRequest's attribute lists; a bad value filter is 400 invalidFilter.
"""

from urllib.parse import quote

import pytest

from tests.conftest import entra_user
from tests.scim.group_support import member


pytestmark = pytest.mark.django_db

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
SEARCH_REQUEST = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"

# As rendered: a value sent without `primary` reads back with primary false.
WORK_EMAIL = {"value": "bjensen@example.com", "type": "work", "primary": True}
HOME_EMAIL = {"value": "babs@jensen.org", "type": "home", "primary": False}
WORK_PHONE = {"value": "555-555-5555", "type": "work", "primary": False}
MOBILE_PHONE = {"value": "555-555-4444", "type": "mobile", "primary": False}


def list_of(*resources) -> dict:
    return {
        "schemas": [LIST_RESPONSE],
        "totalResults": len(resources),
        "itemsPerPage": len(resources),
        "startIndex": 1,
        "Resources": list(resources),
    }


def invalid_filter(detail: str) -> dict:
    return {"schemas": [ERROR], "status": "400", "scimType": "invalidFilter", "detail": detail}


def get(scim, user_id: str, parameter: str, value: str):
    """GET /Users/{id}?attributes=… percent-encoded as generic clients send it."""
    return scim.get(f"/Users/{user_id}?{parameter}={quote(value)}")


@pytest.fixture
def bjensen(create_user) -> dict:
    """RFC 7643 §8.2's Barbara Jensen, reduced: a work and a home email, a work and a mobile phone."""
    return create_user(
        "bjensen@example.com",
        emails=[WORK_EMAIL, HOME_EMAIL],
        phoneNumbers=[WORK_PHONE, MOBILE_PHONE],
    )


@pytest.fixture
def jsmith(create_user) -> dict:
    return create_user(
        "jsmith@example.com", emails=[{"value": "jsmith@example.com", "type": "home", "primary": False}]
    )


def only(resource: dict, **attributes) -> dict:
    return {"schemas": [USER], "id": resource["id"], **attributes}


# attributes on GET by id -------------------------------------------------------------------------


def test_generic_client_attributes_value_filter_returns_only_matching_elements(scim, bjensen):
    response = get(scim, bjensen["id"], "attributes", 'emails[type eq "work"]')

    assert response.status_code == 200
    assert response.body == only(bjensen, emails=[WORK_EMAIL])


def test_attributes_value_filter_with_sub_attribute_returns_only_that_sub_attribute(scim, bjensen):
    response = get(scim, bjensen["id"], "attributes", 'emails[type eq "work"].value')

    assert response.status_code == 200
    assert response.body == only(bjensen, emails=[{"value": "bjensen@example.com"}])


def test_entra_style_unquoted_value_filter_in_attributes(scim, bjensen):
    response = get(scim, bjensen["id"], "attributes", "emails[type eq work].value")

    assert response.status_code == 200
    assert response.body == only(bjensen, emails=[{"value": "bjensen@example.com"}])


def test_attributes_value_filter_on_boolean_sub_attribute(scim, bjensen):
    response = get(scim, bjensen["id"], "attributes", "emails[primary eq true].value")

    assert response.status_code == 200
    assert response.body == only(bjensen, emails=[{"value": "bjensen@example.com"}])


def test_attributes_value_filter_with_or_keeps_the_resource_order(scim, bjensen):
    response = get(scim, bjensen["id"], "attributes", 'phoneNumbers[type eq "mobile" or type eq "work"]')

    assert response.status_code == 200
    assert response.body == only(bjensen, phoneNumbers=[WORK_PHONE, MOBILE_PHONE])


def test_attributes_value_filter_with_plain_attributes(scim, bjensen):
    response = get(
        scim,
        bjensen["id"],
        "attributes",
        'userName,emails[type eq "home"].value,phoneNumbers[type eq "mobile"]',
    )

    assert response.status_code == 200
    assert response.body == only(
        bjensen,
        userName="bjensen@example.com",
        emails=[{"value": "babs@jensen.org"}],
        phoneNumbers=[MOBILE_PHONE],
    )


def test_two_value_filters_on_one_attribute_merge_per_element(scim, bjensen):
    response = get(
        scim, bjensen["id"], "attributes", 'emails[type eq "work"].value,emails[primary eq true].type'
    )

    assert response.status_code == 200
    assert response.body == only(bjensen, emails=[{"value": "bjensen@example.com", "type": "work"}])


def test_whole_attribute_wins_over_its_value_filter(scim, bjensen):
    response = get(scim, bjensen["id"], "attributes", 'emails[type eq "work"],emails')

    assert response.status_code == 200
    assert response.body == only(bjensen, emails=[WORK_EMAIL, HOME_EMAIL])


def test_attributes_value_filter_matching_nothing_leaves_the_attribute_out(scim, bjensen):
    response = get(scim, bjensen["id"], "attributes", 'emails[type eq "other"]')

    assert response.status_code == 200
    assert response.body == only(bjensen)


def test_attributes_value_filter_with_a_comma_inside_its_string(scim, bjensen):
    response = get(scim, bjensen["id"], "attributes", 'emails[value co ","],userName')

    assert response.status_code == 200
    assert response.body == only(bjensen, userName="bjensen@example.com")


def test_attributes_value_filter_with_an_escaped_quote_and_comma_inside_its_string(scim, create_user):
    odd = create_user("odd@example.com", emails=[{"value": 'a",b@example.com', "type": "work"}])

    response = get(scim, odd["id"], "attributes", r'emails[value sw "a\",b"].type,userName')

    assert response.status_code == 200
    assert response.body == only(odd, userName="odd@example.com", emails=[{"type": "work"}])


def test_attributes_value_filter_on_groups_of_a_user(scim, bjensen):
    sales = scim.post(
        "/Groups", {"schemas": [GROUP], "displayName": "Sales", "members": [{"value": bjensen["id"]}]}
    )
    scim.post(
        "/Groups", {"schemas": [GROUP], "displayName": "Support", "members": [{"value": bjensen["id"]}]}
    )

    response = get(scim, bjensen["id"], "attributes", 'groups[display eq "Sales"].value')

    assert response.status_code == 200
    assert response.body == only(bjensen, groups=[{"value": sales.body["id"]}])


# excludedAttributes ------------------------------------------------------------------------------


def test_excluded_attributes_value_filter_leaves_matching_elements_out(scim, bjensen):
    response = get(scim, bjensen["id"], "excludedAttributes", 'emails[type eq "home"]')

    assert response.status_code == 200
    expected = scim.get(f"/Users/{bjensen['id']}").body
    expected["emails"] = [WORK_EMAIL]
    assert response.body == expected


def test_excluded_attributes_value_filter_with_sub_attribute_leaves_that_part_out(scim, bjensen):
    response = get(scim, bjensen["id"], "excludedAttributes", 'phoneNumbers[type eq "work"].value')

    assert response.status_code == 200
    expected = scim.get(f"/Users/{bjensen['id']}").body
    expected["phoneNumbers"] = [{"type": "work", "primary": False}, MOBILE_PHONE]
    assert response.body == expected


def test_excluded_attributes_value_filter_matching_every_element_leaves_the_attribute_out(scim, bjensen):
    response = get(scim, bjensen["id"], "excludedAttributes", "emails[value pr]")

    assert response.status_code == 200
    expected = scim.get(f"/Users/{bjensen['id']}").body
    del expected["emails"]
    assert response.body == expected


# Lists, .search and writes -----------------------------------------------------------------------


def test_okta_style_list_with_attributes_value_filter(scim, bjensen, jsmith):
    response = scim.get("/Users?startIndex=1&count=100&attributes=" + quote('emails[type eq "work"].value'))

    assert response.status_code == 200
    assert response.body == list_of(only(bjensen, emails=[{"value": "bjensen@example.com"}]), only(jsmith))


def test_filtered_list_with_attributes_value_filter(scim, bjensen, jsmith):
    response = scim.get(
        "/Users?filter="
        + quote('userName eq "jsmith@example.com"')
        + "&attributes="
        + quote('userName,emails[type eq "home"]')
    )

    assert response.status_code == 200
    assert response.body == list_of(
        only(
            jsmith,
            userName="jsmith@example.com",
            emails=[{"value": "jsmith@example.com", "type": "home", "primary": False}],
        )
    )


def test_search_request_attributes_list_with_value_filter(scim, bjensen, jsmith):
    response = scim.post(
        "/Users/.search",
        {
            "schemas": [SEARCH_REQUEST],
            "filter": 'userName sw "bj"',
            "attributes": ["userName", 'phoneNumbers[type eq "mobile"].value'],
        },
    )

    assert response.status_code == 200
    assert response.body == list_of(
        only(bjensen, userName="bjensen@example.com", phoneNumbers=[{"value": "555-555-4444"}])
    )


def test_search_request_excluded_attributes_with_value_filter(scim, bjensen):
    response = scim.post(
        "/Users/.search",
        {
            "schemas": [SEARCH_REQUEST],
            "filter": 'userName eq "bjensen@example.com"',
            "excludedAttributes": ['emails[type eq "work"]', "phoneNumbers", "meta", "name", "externalId"],
        },
    )

    assert response.status_code == 200
    assert response.body == list_of(
        only(bjensen, userName="bjensen@example.com", active=True, emails=[HOME_EMAIL])
    )


def test_root_search_applies_a_users_value_filter_and_groups_ignore_it(scim, bjensen):
    group = scim.post("/Groups", {"schemas": [GROUP], "displayName": "Sales"}).body

    response = scim.post(
        "/.search",
        {"schemas": [SEARCH_REQUEST], "attributes": ['emails[type eq "home"].value', "displayName"]},
    )

    assert response.status_code == 200
    assert response.body == list_of(
        only(bjensen, emails=[{"value": "babs@jensen.org"}]),
        {"schemas": [GROUP], "id": group["id"], "displayName": "Sales"},
    )


def test_patch_answer_honours_attributes_value_filter(scim, bjensen):
    response = scim.patch(
        f"/Users/{bjensen['id']}?attributes=" + quote('emails[type eq "work"].value'),
        {
            "schemas": [PATCH_OP],
            "Operations": [
                {"op": "replace", "path": 'emails[type eq "work"].value', "value": "barbara@example.com"}
            ],
        },
    )

    assert response.status_code == 200
    assert response.body == only(bjensen, emails=[{"value": "barbara@example.com"}])


# Bad value filters: 400 invalidFilter, and nothing written ---------------------------------------


@pytest.mark.parametrize(
    ("value", "detail"),
    [
        (
            'emails[type eq "work"',
            "'emails[type eq \"work\"' is not a valid attribute path.",
        ),
        (
            "emails[type zz work]",
            "The filter in 'emails[type zz work]' is not valid: unexpected 'zz'.",
        ),
        (
            'userName[value eq "x"]',
            "'userName[value eq \"x\"]' is not a valid attribute path.",
        ),
    ],
    ids=["unclosed", "bad-operator", "single-valued"],
)
def test_bad_value_filter_in_attributes_is_invalid_filter(scim, bjensen, value, detail):
    response = get(scim, bjensen["id"], "attributes", value)

    assert response.status_code == 400
    assert response.body == invalid_filter(detail)


@pytest.mark.parametrize("value", ['nosuch[type eq "work"]', 'emails[type eq "work"].nosuch'])
def test_unknown_attribute_with_value_filter_selects_nothing_as_an_unknown_name_does(scim, bjensen, value):
    response = get(scim, bjensen["id"], "attributes", value)

    assert response.status_code == 200
    assert response.body == only(bjensen)


def test_bad_value_filter_in_attributes_of_a_create_writes_nothing(scim):
    response = scim.post("/Users?attributes=" + quote("emails[type zz work]"), entra_user("new@example.com"))

    assert response.status_code == 400
    assert response.body == invalid_filter(
        "The filter in 'emails[type zz work]' is not valid: unexpected 'zz'."
    )
    assert scim.get("/Users").body == list_of()


# Groups: members, streamed page by page, filtered as they stream ---------------------------------


@pytest.fixture
def sales(scim, bjensen, jsmith) -> dict:
    body = {
        "schemas": [GROUP],
        "displayName": "Sales",
        "members": [{"value": bjensen["id"]}, {"value": jsmith["id"]}],
    }
    response = scim.post("/Groups", body)
    assert response.status_code == 201, response.body
    return response.body


def test_okta_style_membership_check_with_members_value_filter(scim, sales, jsmith):
    response = scim.get(f"/Groups/{sales['id']}?attributes=" + quote(f'members[value eq "{jsmith["id"]}"]'))

    assert response.status_code == 200
    assert response.body == {
        "schemas": [GROUP],
        "id": sales["id"],
        "members": [member(jsmith["id"], "jsmith@example.com")],
    }


def test_members_value_filter_with_sub_attribute(scim, sales, bjensen):
    response = scim.get(
        f"/Groups/{sales['id']}?attributes=" + quote(f"members[value eq {bjensen['id']}].value")
    )

    assert response.status_code == 200
    assert response.body == {"schemas": [GROUP], "id": sales["id"], "members": [{"value": bjensen["id"]}]}


def test_members_value_filter_matching_nobody_is_an_empty_member_list(scim, sales):
    response = scim.get(
        f"/Groups/{sales['id']}?attributes=displayName,"
        + quote('members[value eq "00000000-0000-0000-0000-000000000000"]')
    )

    assert response.status_code == 200
    assert response.body == {"schemas": [GROUP], "id": sales["id"], "displayName": "Sales", "members": []}


def test_excluded_members_value_filter_leaves_that_member_out(scim, sales, bjensen, jsmith):
    response = scim.get(
        f"/Groups/{sales['id']}?excludedAttributes=meta," + quote(f'members[value eq "{bjensen["id"]}"]')
    )

    assert response.status_code == 200
    assert response.body == {
        "schemas": [GROUP],
        "id": sales["id"],
        "displayName": "Sales",
        "members": [member(jsmith["id"], "jsmith@example.com")],
    }


def test_group_list_with_members_value_filter(scim, sales, jsmith):
    response = scim.get(
        "/Groups?attributes=" + quote(f'displayName,members[value eq "{jsmith["id"]}"].value')
    )

    assert response.status_code == 200
    assert response.body == list_of(
        {"schemas": [GROUP], "id": sales["id"], "displayName": "Sales", "members": [{"value": jsmith["id"]}]}
    )


def test_attributes_without_members_win_over_excluded_members_value_filter(scim, sales, bjensen):
    response = scim.get(
        f"/Groups/{sales['id']}?attributes=displayName&excludedAttributes="
        + quote(f'members[value eq "{bjensen["id"]}"]')
    )

    assert response.status_code == 200
    assert response.body == {"schemas": [GROUP], "id": sales["id"], "displayName": "Sales"}
