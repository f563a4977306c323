"""
/Groups with the request shapes Okta sends (libraries-and-peers.md §3.3–§3.4): POST with members,
path-less rename repeating the group's own id, members[value eq "…"] removal, members added
without "type" or with a null "$ref", replace of the whole member set, and PUT.
"""

import uuid

import pytest

from accounts.models import GroupMembership, WorkGroup
from tests.scim.group_support import assert_no_content, error, member, patch


pytestmark = pytest.mark.django_db

BASE = "http://testserver/scim/v2"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


def members_of(scim, group_id: str) -> list[str]:
    response = scim.get(f"/Groups/{group_id}")
    assert response.status_code == 200, response.body
    return [m["value"] for m in response.body["members"]]


def membership_rows(group_id: str) -> dict[str, tuple]:
    """account id → (row id, created_at) of the group's GroupMembership rows."""
    rows = GroupMembership.objects.filter(group_id=group_id)
    return {str(row.account_id): (row.pk, row.created_at) for row in rows}


@pytest.fixture
def names(create_user) -> dict[str, str]:
    """Four users: id → userName (they have no displayName, so it is each member's display)."""
    created = [create_user(f"user{n}@contoso.com") for n in range(4)]
    return {user["id"]: user["userName"] for user in created}


@pytest.fixture
def users(names) -> list[str]:
    """The four users' ids, sorted (the order members are returned in)."""
    return sorted(names)


@pytest.fixture
def group(scim) -> dict:
    """Okta creates groups with an empty member list."""
    response = scim.post("/Groups", {"schemas": [GROUP], "displayName": "Test Group", "members": []})
    assert response.status_code == 201, response.body
    return response.body


# Create -----------------------------------------------------------------------------------------


def test_create_group_okta_empty_members(scim, group):
    group_id = group["id"]
    assert group == {
        "schemas": [GROUP],
        "id": group_id,
        "displayName": "Test Group",
        "members": [],
        "meta": {
            "resourceType": "Group",
            "created": group["meta"]["created"],
            "lastModified": group["meta"]["created"],
            "location": f"{BASE}/Groups/{group_id}",
            "version": 'W/"1"',
        },
    }


def test_create_group_okta_with_members(scim, users, names):
    body = {
        "schemas": [GROUP],
        "displayName": "Okta Admins",
        "members": [{"value": users[1], "display": "user1@contoso.com"}, {"value": users[0]}],
    }

    response = scim.post("/Groups", body)

    assert response.status_code == 201, response.body
    group_id = response.body["id"]
    assert response.body == {
        "schemas": [GROUP],
        "id": group_id,
        "displayName": "Okta Admins",
        "members": [member(users[0], names[users[0]]), member(users[1], names[users[1]])],
        "meta": {
            "resourceType": "Group",
            "created": response.body["meta"]["created"],
            "lastModified": response.body["meta"]["created"],
            "location": f"{BASE}/Groups/{group_id}",
            "version": 'W/"1"',
        },
    }
    assert scim.get(f"/Groups/{group_id}").body == response.body


def test_create_group_with_unknown_member_is_400_and_creates_nothing(scim, users):
    unknown = str(uuid.uuid4())
    body = {
        "schemas": [GROUP],
        "displayName": "Okta Admins",
        "members": [{"value": users[0]}, {"value": unknown}],
    }

    response = scim.post("/Groups", body)

    assert response.status_code == 400
    assert response.body == error(
        400, f"members: '{unknown}' is not a work account of this organization.", "invalidValue"
    )
    assert WorkGroup.objects.count() == 0
    assert GroupMembership.objects.count() == 0


# Rename ------------------------------------------------------------------------------------------


def test_rename_group_okta_pathless_with_id(scim, group):
    response = patch(
        scim, group["id"], {"op": "replace", "value": {"id": group["id"], "displayName": "Renamed"}}
    )

    assert_no_content(response, version=2)
    read = scim.get(f"/Groups/{group['id']}").body
    assert read == {
        **group,
        "displayName": "Renamed",
        "meta": {**group["meta"], "lastModified": read["meta"]["lastModified"], "version": 'W/"2"'},
    }


def test_rename_group_okta_pathless_with_other_id_is_400_mutability(scim, group):
    other = str(uuid.uuid4())

    response = patch(scim, group["id"], {"op": "replace", "value": {"id": other, "displayName": "Renamed"}})

    assert response.status_code == 400
    assert response.body == error(400, "'id' is read-only and cannot be changed.", "mutability")
    assert scim.get(f"/Groups/{group['id']}").body == group


# Membership PATCH --------------------------------------------------------------------------------


def test_add_members_okta_without_type(scim, group, users, names):
    value = [
        {"value": users[0], "display": "user0@contoso.com"},
        {"value": users[2], "display": "user2@contoso.com"},
    ]

    response = patch(scim, group["id"], {"op": "add", "path": "members", "value": value})

    assert_no_content(response, version=2)
    assert scim.get(f"/Groups/{group['id']}").body["members"] == [
        member(users[0], names[users[0]]),
        member(users[2], names[users[2]]),
    ]


def test_add_members_with_null_ref(scim, group, users):
    response = patch(
        scim, group["id"], {"op": "add", "path": "members", "value": [{"$ref": None, "value": users[3]}]}
    )

    assert_no_content(response, version=2)
    assert members_of(scim, group["id"]) == [users[3]]


def test_add_member_as_single_object_instead_of_list(scim, group, users):
    response = patch(scim, group["id"], {"op": "add", "path": "members", "value": {"value": users[1]}})

    assert_no_content(response, version=2)
    assert members_of(scim, group["id"]) == [users[1]]


def test_add_members_pathless_members_key(scim, group, users):
    response = patch(scim, group["id"], {"op": "add", "value": {"members": [{"value": users[0]}]}})

    assert_no_content(response, version=2)
    assert members_of(scim, group["id"]) == [users[0]]


def test_remove_member_okta_value_filter(scim, group, users):
    patch(scim, group["id"], {"op": "add", "path": "members", "value": [{"value": u} for u in users]})

    response = patch(scim, group["id"], {"op": "remove", "path": f'members[value eq "{users[2]}"]'})

    assert_no_content(response, version=3)
    assert members_of(scim, group["id"]) == [users[0], users[1], users[3]]


def test_remove_members_value_filter_joined_with_or(scim, group, users):
    patch(scim, group["id"], {"op": "add", "path": "members", "value": [{"value": u} for u in users]})

    response = patch(
        scim,
        group["id"],
        {"op": "remove", "path": f'members[value eq "{users[0]}" or value eq "{users[3]}"]'},
    )

    assert_no_content(response, version=3)
    assert members_of(scim, group["id"]) == [users[1], users[2]]


def test_add_then_remove_in_one_okta_request(scim, group, users):
    response = patch(
        scim,
        group["id"],
        {"op": "add", "path": "members", "value": [{"value": users[0]}, {"value": users[1]}]},
        {"op": "remove", "path": f'members[value eq "{users[0]}"]'},
    )

    assert_no_content(response, version=2)
    assert members_of(scim, group["id"]) == [users[1]]


def test_member_value_filter_on_add_is_400(scim, group, users):
    response = patch(scim, group["id"], {"op": "add", "path": f'members[value eq "{users[0]}"]', "value": {}})

    assert response.status_code == 400
    assert response.body == error(
        400,
        f"'members[value eq \"{users[0]}\"]': a member selection can only be removed; "
        "add or replace 'members'.",
        "invalidPath",
    )


# Replace members ----------------------------------------------------------------------------------


def test_replace_members_okta_sets_exactly_the_new_set(scim, group, users):
    patch(
        scim,
        group["id"],
        {"op": "add", "path": "members", "value": [{"value": users[0]}, {"value": users[1]}]},
    )

    response = patch(
        scim,
        group["id"],
        {"op": "replace", "path": "members", "value": [{"value": users[1]}, {"value": users[2]}]},
    )

    assert_no_content(response, version=3)
    assert members_of(scim, group["id"]) == [users[1], users[2]]


def test_replace_members_keeps_rows_of_unchanged_members(scim, group, users):
    patch(
        scim,
        group["id"],
        {"op": "add", "path": "members", "value": [{"value": users[0]}, {"value": users[1]}]},
    )
    before = membership_rows(group["id"])

    patch(
        scim,
        group["id"],
        {"op": "replace", "path": "members", "value": [{"value": users[1]}, {"value": users[2]}]},
    )

    after = membership_rows(group["id"])
    assert sorted(after) == [users[1], users[2]]
    assert after[users[1]] == before[users[1]]


def test_replace_members_with_same_set_changes_nothing(scim, group, users):
    patch(
        scim,
        group["id"],
        {"op": "add", "path": "members", "value": [{"value": users[0]}, {"value": users[1]}]},
    )
    before = membership_rows(group["id"])

    response = patch(
        scim,
        group["id"],
        {"op": "replace", "path": "members", "value": [{"value": users[1]}, {"value": users[0]}]},
    )

    assert_no_content(response, version=2)
    assert membership_rows(group["id"]) == before


def test_replace_members_with_unknown_id_is_400_and_changes_nothing(scim, group, users):
    patch(scim, group["id"], {"op": "add", "path": "members", "value": [{"value": users[0]}]})
    unknown = str(uuid.uuid4())

    response = patch(
        scim,
        group["id"],
        {"op": "replace", "path": "members", "value": [{"value": users[1]}, {"value": unknown}]},
    )

    assert response.status_code == 400
    assert response.body == error(
        400, f"members: '{unknown}' is not a work account of this organization.", "invalidValue"
    )
    assert members_of(scim, group["id"]) == [users[0]]


def test_replace_members_with_empty_list_removes_all(scim, group, users):
    patch(scim, group["id"], {"op": "add", "path": "members", "value": [{"value": u} for u in users]})

    response = patch(scim, group["id"], {"op": "replace", "path": "members", "value": []})

    assert_no_content(response, version=3)
    assert members_of(scim, group["id"]) == []


# PUT ----------------------------------------------------------------------------------------------


def test_put_replaces_attributes_and_member_set(scim, group, users, names):
    patch(
        scim,
        group["id"],
        {"op": "add", "path": "members", "value": [{"value": users[0]}, {"value": users[1]}]},
    )
    before = membership_rows(group["id"])
    body = {
        "schemas": [GROUP],
        "id": group["id"],
        "displayName": "Put Group",
        "externalId": "okta-00g1",
        "members": [{"value": users[1]}, {"value": users[3]}],
    }

    response = scim.put(f"/Groups/{group['id']}", body)

    assert response.status_code == 200, response.body
    assert response.body == {
        "schemas": [GROUP],
        "id": group["id"],
        "displayName": "Put Group",
        "externalId": "okta-00g1",
        "members": [member(users[1], names[users[1]]), member(users[3], names[users[3]])],
        "meta": {**group["meta"], "lastModified": response.body["meta"]["lastModified"], "version": 'W/"3"'},
    }
    assert response["ETag"] == 'W/"3"'
    assert scim.get(f"/Groups/{group['id']}").body == response.body
    assert membership_rows(group["id"])[users[1]] == before[users[1]]


def test_put_without_external_id_clears_it(scim, users):
    created = scim.post("/Groups", {"schemas": [GROUP], "displayName": "G", "externalId": "x-1"}).body

    response = scim.put(f"/Groups/{created['id']}", {"schemas": [GROUP], "displayName": "G"})

    assert response.status_code == 200, response.body
    assert "externalId" not in response.body
    assert WorkGroup.objects.get(pk=created["id"]).external_id is None


def test_put_with_unknown_member_is_400_and_changes_nothing(scim, group, users):
    unknown = str(uuid.uuid4())

    response = scim.put(
        f"/Groups/{group['id']}",
        {"schemas": [GROUP], "displayName": "Put Group", "members": [{"value": unknown}]},
    )

    assert response.status_code == 400
    assert response.body == error(
        400, f"members: '{unknown}' is not a work account of this organization.", "invalidValue"
    )
    assert scim.get(f"/Groups/{group['id']}").body == group


def test_remove_then_add_same_member_in_other_case_keeps_it(scim, group, users):
    patch(scim, group["id"], {"op": "add", "path": "members", "value": [{"value": users[0]}]})

    response = patch(
        scim,
        group["id"],
        {"op": "remove", "path": f'members[value eq "{users[0]}"]'},
        {"op": "add", "path": "members", "value": [{"value": users[0].upper()}]},
    )

    assert response.status_code == 204, response.body
    assert members_of(scim, group["id"]) == [users[0]]


def test_remove_members_with_empty_value_list_removes_nothing(scim, group, users):
    patch(scim, group["id"], {"op": "add", "path": "members", "value": [{"value": u} for u in users]})

    response = patch(scim, group["id"], {"op": "remove", "path": "members", "value": []})

    assert_no_content(response, version=2)
    assert members_of(scim, group["id"]) == users
