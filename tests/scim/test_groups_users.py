"""
Groups seen from elsewhere: another organization never sees them; the User resource's read-only
`groups`, filtering users by group, and what deleting or disabling a member account does.
"""

from urllib.parse import quote_plus

import pytest

from accounts.models import GroupMembership, Organization, WorkGroup
from tests.scim.group_support import find, ids, member, members_in_id_order


pytestmark = pytest.mark.django_db

BASE = "http://testserver/scim/v2"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
SEARCH_REQUEST = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


def list_of(*resources, total: int | None = None, start: int = 1) -> dict:
    return {
        "schemas": [LIST_RESPONSE],
        "totalResults": len(resources) if total is None else total,
        "itemsPerPage": len(resources),
        "startIndex": start,
        "Resources": list(resources),
    }


# Organizations are isolated --------------------------------------------------------------------------


def test_other_organization_gets_404_for_the_group(other_scim, groups):
    group_id = groups[0]["id"]
    body = {"schemas": [PATCH_OP], "Operations": [{"op": "remove", "path": "members"}]}

    for response in (
        other_scim.get(f"/Groups/{group_id}"),
        other_scim.patch(f"/Groups/{group_id}", body),
        other_scim.put(f"/Groups/{group_id}", {"schemas": [GROUP], "displayName": "Stolen"}),
        other_scim.delete(f"/Groups/{group_id}"),
    ):
        assert response.status_code == 404
        assert response.body == {
            "schemas": [ERROR],
            "status": "404",
            "detail": f"Resource {group_id} not found",
        }
    assert WorkGroup.objects.get(pk=group_id).version == 1
    assert GroupMembership.objects.filter(group_id=group_id).count() == 2


def test_other_organization_never_sees_the_group_in_lists(other_scim, groups, alice):
    assert other_scim.get("/Groups").body == list_of()
    assert find(other_scim, 'displayName eq "Engineering"').body == list_of()
    assert find(other_scim, f'members.value eq "{alice}"').body == list_of()
    assert other_scim.post("/Groups/.search", {"schemas": [SEARCH_REQUEST]}).body == list_of()
    assert other_scim.post("/.search", {"schemas": [SEARCH_REQUEST]}).body == list_of()


def test_same_display_name_is_free_in_another_organization(other_scim, groups):
    response = other_scim.post("/Groups", {"schemas": [GROUP], "displayName": "Engineering"})

    assert response.status_code == 201
    assert WorkGroup.objects.filter(display_name="Engineering").count() == 2
    assert Organization.objects.get(groups__pk=response.body["id"]).slug == "fabrikam"


# The User side: read-only `groups`, filtering users by group, deleting and disabling members ---------


def test_user_groups_attribute_lists_its_groups(scim, groups, bob):
    engineering, sales = groups[0], groups[1]

    response = scim.get(f"/Users/{bob}")

    assert response.body["groups"] == [
        {"value": g["id"], "$ref": f"{BASE}/Groups/{g['id']}", "display": g["displayName"], "type": "direct"}
        for g in (engineering, sales)
    ]


def test_user_without_groups_has_no_groups_attribute(scim, groups, create_user):
    loner = create_user("loner@contoso.com")["id"]

    assert "groups" not in scim.get(f"/Users/{loner}").body


@pytest.mark.parametrize(
    "operation",
    [
        lambda gid: {"op": "add", "path": "groups", "value": [{"value": gid}]},
        lambda gid: {"op": "replace", "value": {"groups": [{"value": gid}]}},
        lambda gid: {"op": "remove", "path": "groups"},
    ],
    ids=["add-path", "pathless-replace", "remove"],
)
def test_patch_user_groups_is_400_mutability(scim, groups, alice, operation):
    body = {"schemas": [PATCH_OP], "Operations": [operation(groups[2]["id"])]}

    response = scim.patch(f"/Users/{alice}", body)

    assert response.status_code == 400
    assert response.body == {
        "schemas": [ERROR],
        "status": "400",
        "scimType": "mutability",
        "detail": "'groups' is read-only and cannot be changed.",
    }
    assert GroupMembership.objects.filter(account_id=alice).count() == 1


def test_filter_users_by_group_value_path(scim, groups, alice, bob):
    sales = groups[1]["id"]
    text = quote_plus(f'groups[value eq "{sales}"]')

    response = scim.get(f"/Users?filter={text}&attributes=id")

    assert ids(response) == [bob]


def test_deleting_member_account_removes_it_and_bumps_group_version(scim, groups, alice, bob):
    assert scim.delete(f"/Users/{alice}").status_code == 204

    engineering = scim.get(f"/Groups/{groups[0]['id']}").body
    assert engineering["members"] == [member(bob, "bob@contoso.com")]
    assert engineering["meta"]["version"] == 'W/"2"'
    assert scim.get(f"/Groups/{groups[1]['id']}").body["meta"]["version"] == 'W/"1"'
    assert GroupMembership.objects.filter(account_id=alice).count() == 0


def test_disabling_member_account_keeps_its_memberships(scim, groups, alice, bob):
    disable = {"schemas": [PATCH_OP], "Operations": [{"op": "Replace", "path": "active", "value": "False"}]}
    assert scim.patch(f"/Users/{alice}", disable).status_code == 200

    engineering = scim.get(f"/Groups/{groups[0]['id']}").body
    assert engineering["members"] == members_in_id_order(
        (alice, "alice@contoso.com"), (bob, "bob@contoso.com")
    )
    assert engineering["meta"]["version"] == 'W/"1"'
    assert [g["value"] for g in scim.get(f"/Users/{alice}").body["groups"]] == [groups[0]["id"]]


def test_deleting_group_removes_it_from_user_groups(scim, groups, bob):
    assert scim.delete(f"/Groups/{groups[0]['id']}").status_code == 204

    assert [g["value"] for g in scim.get(f"/Users/{bob}").body["groups"]] == [groups[1]["id"]]


def test_user_etag_changes_when_its_groups_change(scim, groups, create_user):
    dave = create_user("dave@contoso.com")["id"]
    etag = scim.get(f"/Users/{dave}")["ETag"]
    body = {
        "schemas": [PATCH_OP],
        "Operations": [{"op": "add", "path": "members", "value": [{"value": dave}]}],
    }
    assert scim.patch(f"/Groups/{groups[2]['id']}", body).status_code == 204

    response = scim.get(f"/Users/{dave}", headers={"If-None-Match": etag})

    assert response.status_code == 200
    assert response["ETag"] != etag
    assert [g["value"] for g in response.body["groups"]] == [groups[2]["id"]]
