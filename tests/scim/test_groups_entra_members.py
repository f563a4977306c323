"""
PATCH /Groups/{id} on members with the exact shapes Microsoft Entra ID sends (entra-scim.md §1.8,
§1.13, §1.17 H–I): Add, Remove with a value list (default mode), remove members[value eq "…"]
(aadOptscim062020), remove all. Answers are 204 without a body.
"""

import uuid

import pytest

from accounts.models import GroupMembership, WorkGroup
from tests.scim.group_support import assert_no_content, entra_group, error, member, patch


pytestmark = pytest.mark.django_db

BASE = "http://testserver/scim/v2"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ADSCIM_GROUP = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
EXTERNAL_ID = "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159"


def members_of(scim, group_id: str) -> list[str]:
    """The member ids a GET returns, in the order returned."""
    response = scim.get(f"/Groups/{group_id}")
    assert response.status_code == 200, response.body
    return [m["value"] for m in response.body["members"]]


def version_of(group_id: str) -> int:
    return WorkGroup.objects.get(pk=group_id).version


@pytest.fixture
def group(scim) -> dict:
    response = scim.post("/Groups", entra_group("Engineering"))
    assert response.status_code == 201, response.body
    return response.body


# Add members (§1.13, scenario H step 3) -----------------------------------------------------------


def test_add_member_entra_with_null_ref(scim, group, alice):
    response = patch(
        scim, group["id"], {"op": "Add", "path": "members", "value": [{"$ref": None, "value": alice}]}
    )

    assert_no_content(response, version=2)
    assert scim.get(f"/Groups/{group['id']}").body["members"] == [member(alice, "alice@contoso.com")]


def test_add_many_members_in_one_operation(scim, group, alice, bob, carol):
    value = [{"$ref": None, "value": user_id} for user_id in (alice, bob, carol)]

    response = patch(scim, group["id"], {"op": "Add", "path": "members", "value": value})

    assert_no_content(response, version=2)
    assert members_of(scim, group["id"]) == sorted([alice, bob, carol])


def test_add_many_members_in_many_operations(scim, group, alice, bob, carol):
    operations = [{"op": "Add", "path": "members", "value": [{"value": u}]} for u in (alice, bob, carol)]

    response = patch(scim, group["id"], *operations)

    assert_no_content(response, version=2)
    assert members_of(scim, group["id"]) == sorted([alice, bob, carol])


def test_add_member_lower_case_op_aadoptscim062020(scim, group, alice):
    response = patch(scim, group["id"], {"op": "add", "path": "members", "value": [{"value": alice}]})

    assert_no_content(response, version=2)
    assert members_of(scim, group["id"]) == [alice]


def test_add_existing_member_changes_nothing(scim, group, alice):
    patch(scim, group["id"], {"op": "Add", "path": "members", "value": [{"value": alice}]})
    before = scim.get(f"/Groups/{group['id']}").body

    response = patch(scim, group["id"], {"op": "Add", "path": "members", "value": [{"value": alice}]})

    assert_no_content(response, version=2)
    assert scim.get(f"/Groups/{group['id']}").body == before
    assert GroupMembership.objects.filter(group_id=group["id"]).count() == 1


def test_add_unknown_member_is_400_naming_it_and_applies_nothing(scim, group, alice):
    unknown = str(uuid.uuid4())

    response = patch(
        scim,
        group["id"],
        {"op": "Replace", "path": "displayName", "value": "Renamed"},
        {"op": "Add", "path": "members", "value": [{"value": alice}, {"value": unknown}]},
    )

    assert response.status_code == 400
    assert response.body == error(
        400, f"members: '{unknown}' is not a work account of this organization.", "invalidValue"
    )
    assert scim.get(f"/Groups/{group['id']}").body == group


def test_add_member_id_that_is_not_a_uuid_is_400_naming_it(scim, group):
    response = patch(scim, group["id"], {"op": "Add", "path": "members", "value": [{"value": "u1091"}]})

    assert response.status_code == 400
    assert response.body == error(
        400, "members: 'u1091' is not a work account of this organization.", "invalidValue"
    )
    assert version_of(group["id"]) == 1


def test_add_member_of_another_organization_is_400(scim, group, create_user, other_scim):
    stranger = create_user("alice@fabrikam.com", client=other_scim)["id"]

    response = patch(scim, group["id"], {"op": "Add", "path": "members", "value": [{"value": stranger}]})

    assert response.status_code == 400
    assert response.body == error(
        400, f"members: '{stranger}' is not a work account of this organization.", "invalidValue"
    )
    assert scim.get(f"/Groups/{group['id']}").body == group


def test_add_deleted_account_is_400(scim, group, alice):
    assert scim.delete(f"/Users/{alice}").status_code == 204

    response = patch(scim, group["id"], {"op": "Add", "path": "members", "value": [{"value": alice}]})

    assert response.status_code == 400
    assert response.body == error(
        400, f"members: '{alice}' is not a work account of this organization.", "invalidValue"
    )


# Remove members (§1.8, §1.13, scenario I) --------------------------------------------------------


def test_remove_member_entra_legacy_value_list(scim, staffed, alice, bob, carol):
    response = patch(
        scim, staffed["id"], {"op": "Remove", "path": "members", "value": [{"$ref": None, "value": bob}]}
    )

    assert_no_content(response, version=3)
    assert members_of(scim, staffed["id"]) == sorted([alice, carol])


def test_remove_member_entra_legacy_value_list_without_ref(scim, staffed, alice, bob, carol):
    response = patch(scim, staffed["id"], {"op": "Remove", "path": "members", "value": [{"value": bob}]})

    assert_no_content(response, version=3)
    assert members_of(scim, staffed["id"]) == sorted([alice, carol])


def test_remove_member_aadoptscim062020_value_filter(scim, staffed, alice, bob, carol):
    response = patch(scim, staffed["id"], {"op": "remove", "path": f'members[value eq "{bob}"]'})

    assert_no_content(response, version=3)
    assert members_of(scim, staffed["id"]) == sorted([alice, carol])


def test_remove_all_members_without_value(scim, staffed):
    response = patch(scim, staffed["id"], {"op": "remove", "path": "members"})

    assert_no_content(response, version=3)
    assert members_of(scim, staffed["id"]) == []
    assert GroupMembership.objects.filter(group_id=staffed["id"]).count() == 0


def test_remove_non_member_changes_nothing(scim, staffed, create_user):
    outsider = create_user("dave@contoso.com")["id"]
    before = scim.get(f"/Groups/{staffed['id']}").body

    response = patch(scim, staffed["id"], {"op": "Remove", "path": "members", "value": [{"value": outsider}]})

    assert_no_content(response, version=2)
    assert scim.get(f"/Groups/{staffed['id']}").body == before


@pytest.mark.parametrize("gone", [str(uuid.uuid4()), "u1091"], ids=["unknown-uuid", "not-a-uuid"])
def test_remove_unknown_member_id_succeeds_and_changes_nothing(scim, staffed, gone):
    before = scim.get(f"/Groups/{staffed['id']}").body

    response = patch(scim, staffed["id"], {"op": "remove", "path": f'members[value eq "{gone}"]'})

    assert_no_content(response, version=2)
    assert scim.get(f"/Groups/{staffed['id']}").body == before


def test_remove_member_whose_account_was_deleted_succeeds(scim, staffed, alice, bob, carol):
    assert scim.delete(f"/Users/{bob}").status_code == 204
    version = version_of(staffed["id"])

    response = patch(scim, staffed["id"], {"op": "Remove", "path": "members", "value": [{"value": bob}]})

    assert_no_content(response, version=version)
    assert members_of(scim, staffed["id"]) == sorted([alice, carol])
