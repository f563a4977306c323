"""
sortBy/sortOrder (RFC 7644 §3.4.2.3) on /Users and /Groups: the indexed attributes sort, in index
and in cursor paging; userName and displayName case-insensitively, as their uniqueness compares
them; nulls last when ascending; anything else is 400 invalidValue.
"""

from urllib.parse import quote

import pytest


pytestmark = pytest.mark.django_db

ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
SEARCH_REQUEST = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
USER_SORTABLE = "userName, externalId, meta.created, meta.lastModified"


def names(response, attribute: str = "userName") -> list[str]:
    assert response.status_code == 200, response.body
    return [resource[attribute] for resource in response.body["Resources"]]


def invalid_value(detail: str) -> dict:
    return {"schemas": [ERROR], "status": "400", "scimType": "invalidValue", "detail": detail}


@pytest.fixture
def people(create_user) -> list[str]:
    """Created in this order, with these externalIds (carol has none)."""
    made = [
        create_user("bob@contoso.com", externalId="ext-2"),
        create_user("Alice@contoso.com", externalId="ext-3"),
        create_user("carol@contoso.com", externalId=None),
        create_user("ALAN@contoso.com", externalId="ext-1"),
    ]
    return [m["userName"] for m in made]


def test_sort_by_user_name_is_case_insensitive_ascending(scim, people):
    assert names(scim.get("/Users?sortBy=userName")) == [
        "ALAN@contoso.com",
        "Alice@contoso.com",
        "bob@contoso.com",
        "carol@contoso.com",
    ]


def test_sort_by_user_name_descending(scim, people):
    assert names(scim.get("/Users?sortBy=userName&sortOrder=descending")) == [
        "carol@contoso.com",
        "bob@contoso.com",
        "Alice@contoso.com",
        "ALAN@contoso.com",
    ]


def test_sort_by_external_id_puts_users_without_one_last(scim, people):
    assert names(scim.get("/Users?sortBy=externalId")) == [
        "ALAN@contoso.com",
        "bob@contoso.com",
        "Alice@contoso.com",
        "carol@contoso.com",
    ]


def test_sort_by_external_id_descending_puts_users_without_one_first(scim, people):
    assert names(scim.get("/Users?sortBy=externalId&sortOrder=descending")) == [
        "carol@contoso.com",
        "Alice@contoso.com",
        "bob@contoso.com",
        "ALAN@contoso.com",
    ]


def test_sort_by_meta_created_is_creation_order(scim, people):
    assert names(scim.get("/Users?sortBy=meta.created")) == people


def test_sort_by_meta_created_descending_is_newest_first(scim, people):
    assert names(scim.get("/Users?sortBy=meta.created&sortOrder=descending")) == people[::-1]


def test_sort_by_meta_last_modified_puts_the_last_changed_last(scim, people):
    bob = scim.get("/Users?filter=" + quote('userName eq "bob@contoso.com"')).body["Resources"][0]
    patch = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "title", "value": "Boss"}],
    }
    assert scim.patch(f"/Users/{bob['id']}", patch).status_code in (200, 204)
    assert names(scim.get("/Users?sortBy=meta.lastModified")) == [*people[1:], "bob@contoso.com"]


@pytest.mark.parametrize(
    "sort_by", ["USERNAME", "urn:ietf:params:scim:schemas:core:2.0:User:userName", " userName "]
)
def test_sort_by_names_are_case_insensitive_and_may_carry_the_schema(scim, people, sort_by):
    assert names(scim.get(f"/Users?sortBy={quote(sort_by)}"))[0] == "ALAN@contoso.com"


def test_sort_order_is_case_insensitive(scim, people):
    assert names(scim.get("/Users?sortBy=userName&sortOrder=DESCENDING"))[0] == "carol@contoso.com"


def test_sort_order_without_sort_by_orders_the_default_sort(scim, people):
    assert names(scim.get("/Users?sortOrder=descending")) == people[::-1]


def test_sort_applies_before_start_index_paging(scim, people):
    response = scim.get("/Users?sortBy=userName&startIndex=2&count=2")
    assert names(response) == ["Alice@contoso.com", "bob@contoso.com"]
    assert (response.body["startIndex"], response.body["totalResults"]) == (2, 4)


def test_cursor_walk_follows_the_sort(scim, people):
    seen, cursor = [], ""
    while cursor is not None:
        response = scim.get(f"/Users?sortBy=userName&count=1&cursor={cursor}")
        seen += names(response)
        cursor = response.body.get("nextCursor")
    assert seen == ["ALAN@contoso.com", "Alice@contoso.com", "bob@contoso.com", "carol@contoso.com"]


def test_cursor_walk_descending_by_external_id_walks_back_too(scim, people):
    path = "/Users?sortBy=externalId&sortOrder=descending&count=2"
    first = scim.get(path + "&cursor=")
    second = scim.get(f"{path}&cursor={first.body['nextCursor']}")
    assert names(first) + names(second) == [
        "carol@contoso.com",
        "Alice@contoso.com",
        "bob@contoso.com",
        "ALAN@contoso.com",
    ]
    assert names(scim.get(f"{path}&cursor={second.body['previousCursor']}")) == names(first)


def test_cursor_walk_by_external_id_passes_users_without_one(scim, people):
    seen, cursor = [], ""
    while cursor is not None:
        response = scim.get(f"/Users?sortBy=externalId&count=1&cursor={cursor}")
        seen += names(response)
        cursor = response.body.get("nextCursor")
    assert seen == ["ALAN@contoso.com", "bob@contoso.com", "Alice@contoso.com", "carol@contoso.com"]


def test_search_body_sorts(scim, people):
    body = {"schemas": [SEARCH_REQUEST], "sortBy": "userName", "sortOrder": "descending", "count": 2}
    assert names(scim.post("/Users/.search", body)) == ["carol@contoso.com", "bob@contoso.com"]


@pytest.mark.parametrize("sort_by", ["displayName", "name.givenName", "emails", "nosuch"])
def test_sort_by_an_attribute_without_an_index_is_400_invalid_value(scim, people, sort_by):
    response = scim.get(f"/Users?sortBy={sort_by}")
    detail = f"User resources cannot be sorted by {sort_by!r}; sortable attributes: {USER_SORTABLE}."
    assert (response.status_code, response.body) == (400, invalid_value(detail))


def test_sort_by_that_is_not_a_string_is_400_invalid_value(scim, people):
    response = scim.post("/Users/.search", {"schemas": [SEARCH_REQUEST], "sortBy": ["userName"]})
    detail = f"User resources cannot be sorted by ['userName']; sortable attributes: {USER_SORTABLE}."
    assert (response.status_code, response.body) == (400, invalid_value(detail))


def test_unknown_sort_order_is_400_invalid_value(scim, people):
    response = scim.get("/Users?sortBy=userName&sortOrder=up")
    detail = "'sortOrder' must be 'ascending' or 'descending', not 'up'."
    assert (response.status_code, response.body) == (400, invalid_value(detail))


def test_sort_by_on_the_root_search_is_400_invalid_value(scim, people):
    response = scim.post("/.search", {"schemas": [SEARCH_REQUEST], "sortBy": "meta.created"})
    detail = "'sortBy' is served on /Users and /Groups; POST /.search pages Users, then Groups."
    assert (response.status_code, response.body) == (400, invalid_value(detail))


# Groups ----------------------------------------------------------------------------------------


@pytest.fixture
def teams(make_group) -> list[str]:
    return [
        make_group(name, ext)["displayName"]
        for name, ext in (("sales", "g-2"), ("Admins", "g-3"), ("Engineering", "g-1"))
    ]


def test_groups_sort_by_display_name_case_insensitively(scim, teams):
    response = scim.get("/Groups?sortBy=displayName&excludedAttributes=members")
    assert names(response, "displayName") == ["Admins", "Engineering", "sales"]


def test_groups_sort_by_external_id_descending(scim, teams):
    response = scim.get("/Groups?sortBy=externalId&sortOrder=descending&excludedAttributes=members")
    assert names(response, "displayName") == ["Admins", "sales", "Engineering"]


def test_groups_sort_by_meta_created_descending(scim, teams):
    response = scim.get("/Groups?sortBy=meta.created&sortOrder=descending&excludedAttributes=members")
    assert names(response, "displayName") == teams[::-1]


def test_groups_cannot_be_sorted_by_members(scim, teams):
    response = scim.get("/Groups?sortBy=members")
    detail = (
        "Group resources cannot be sorted by 'members'; sortable attributes: "
        "displayName, externalId, meta.created, meta.lastModified."
    )
    assert (response.status_code, response.body) == (400, invalid_value(detail))
