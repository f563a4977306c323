"""
/Groups with the exact request shapes Microsoft Entra ID sends (entra-scim.md §1.8, §1.13,
§1.17 H–K): create, find, read without members, member PATCH in default and aadOptscim062020
mode, rename, delete. One test per shape, with full expected bodies.
"""

import re
import uuid
from urllib.parse import quote_plus

import pytest

from accounts.models import GroupMembership, WorkGroup
from tests.scim.group_support import assert_no_content, entra_group, error, member, patch


pytestmark = pytest.mark.django_db

BASE = "http://testserver/scim/v2"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ADSCIM_GROUP = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
EXTERNAL_ID = "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159"
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


def list_of(*resources) -> dict:
    return {
        "schemas": [LIST_RESPONSE],
        "totalResults": len(resources),
        "itemsPerPage": len(resources),
        "startIndex": 1,
        "Resources": list(resources),
    }


@pytest.fixture
def group(scim) -> dict:
    response = scim.post("/Groups", entra_group("Engineering"))
    assert response.status_code == 201, response.body
    return response.body


# Create (§1.13, scenario H) -----------------------------------------------------------------------


def test_create_group_entra_body(scim):
    response = scim.post("/Groups", entra_group())

    assert response.status_code == 201, response.body
    stored = WorkGroup.objects.get()
    group_id = str(stored.pk)
    created = response.body["meta"]["created"]
    assert TIMESTAMP.fullmatch(created)
    assert response.body == {
        "schemas": [GROUP],
        "id": group_id,
        "displayName": "displayName",
        "externalId": EXTERNAL_ID,
        "members": [],
        "meta": {
            "resourceType": "Group",
            "created": created,
            "lastModified": created,
            "location": f"{BASE}/Groups/{group_id}",
            "version": 'W/"1"',
        },
    }
    assert response["Location"] == f"{BASE}/Groups/{group_id}"
    assert response["ETag"] == 'W/"1"'
    assert response["Content-Type"] == "application/scim+json"
    assert (stored.display_name, stored.external_id, stored.organization.slug) == (
        "displayName",
        EXTERNAL_ID,
        "contoso",
    )


def test_created_group_reads_back_identically(scim, group):
    assert scim.get(f"/Groups/{group['id']}").body == group


def test_create_group_duplicate_display_name_is_409(scim, group):
    response = scim.post("/Groups", entra_group("Engineering", external_id=str(uuid.uuid4())))

    assert response.status_code == 409
    assert response.body == error(
        409, "displayName 'Engineering' is already taken in this organization.", "uniqueness"
    )
    assert WorkGroup.objects.count() == 1


def test_create_group_duplicate_display_name_other_case_is_409(scim, group):
    response = scim.post("/Groups", entra_group("ENGINEERING", external_id=str(uuid.uuid4())))

    assert response.status_code == 409
    assert response.body == error(
        409, "displayName 'ENGINEERING' is already taken in this organization.", "uniqueness"
    )
    assert WorkGroup.objects.count() == 1


# Find and read without members (§1.13, §1.16) ----------------------------------------------------


def test_get_group_excluded_members_has_no_members_key(scim, group, alice):
    patch(scim, group["id"], {"op": "Add", "path": "members", "value": [{"value": alice}]})

    response = scim.get(f"/Groups/{group['id']}?excludedAttributes=members")

    assert response.status_code == 200
    assert response.body == {
        "schemas": [GROUP],
        "id": group["id"],
        "displayName": "Engineering",
        "externalId": EXTERNAL_ID,
        "meta": {**group["meta"], "lastModified": response.body["meta"]["lastModified"], "version": 'W/"2"'},
    }


@pytest.mark.parametrize(
    "query",
    [
        "excludedAttributes=members&filter=" + quote_plus('displayName eq "Engineering"'),
        'excludedAttributes=members&filter=displayName eq "Engineering"',
    ],
    ids=["plus-and-percent22", "literal-quotes"],
)
def test_find_group_by_display_name_without_members(scim, group, alice, query):
    patch(scim, group["id"], {"op": "Add", "path": "members", "value": [{"value": alice}]})
    expected = scim.get(f"/Groups/{group['id']}?excludedAttributes=members").body

    response = scim.get(f"/Groups?{query}")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/scim+json"
    assert response.body == list_of(expected)
    assert "members" not in response.body["Resources"][0]


def test_test_connection_group_probe_with_random_guid_is_empty_list(scim, group):
    probe = quote_plus(f'displayName eq "{uuid.uuid4()}"')

    response = scim.get(f"/Groups?excludedAttributes=members&filter={probe}")

    assert response.status_code == 200
    assert response.body == list_of()


# Rename and externalId (§1.8, §1.13, scenario J) --------------------------------------------------


def test_rename_group_entra_replace_display_name_with_path(scim, group):
    new_name = "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName"

    response = patch(scim, group["id"], {"op": "Replace", "path": "displayName", "value": new_name})

    assert_no_content(response, version=2)
    read = scim.get(f"/Groups/{group['id']}").body
    assert read == {
        **group,
        "displayName": new_name,
        "meta": {**group["meta"], "lastModified": read["meta"]["lastModified"], "version": 'W/"2"'},
    }


def test_rename_group_validator_pathless_display_name(scim, group):
    response = patch(scim, group["id"], {"op": "replace", "value": {"displayName": "MSADPJJZWBUS"}})

    assert_no_content(response, version=2)
    assert scim.get(f"/Groups/{group['id']}").body["displayName"] == "MSADPJJZWBUS"


def test_replace_external_id_validator_pathless(scim, group):
    new_external_id = "0b5e1f6e-2f55-4c1a-9d7c-3f9c5e2a1d11"

    response = patch(scim, group["id"], {"op": "replace", "value": {"externalId": new_external_id}})

    assert_no_content(response, version=2)
    read = scim.get(f"/Groups/{group['id']}").body
    assert (read["displayName"], read["externalId"]) == ("Engineering", new_external_id)


def test_rename_group_to_taken_name_is_409_and_changes_nothing(scim, group):
    assert scim.post("/Groups", entra_group("Sales", external_id=str(uuid.uuid4()))).status_code == 201

    response = patch(scim, group["id"], {"op": "Replace", "path": "displayName", "value": "sales"})

    assert response.status_code == 409
    assert response.body == error(
        409, "displayName 'sales' is already taken in this organization.", "uniqueness"
    )
    assert scim.get(f"/Groups/{group['id']}").body == group


def test_rename_group_changing_only_case_of_own_name(scim, group):
    response = patch(scim, group["id"], {"op": "Replace", "path": "displayName", "value": "ENGINEERING"})

    assert_no_content(response, version=2)
    assert scim.get(f"/Groups/{group['id']}").body["displayName"] == "ENGINEERING"


def test_rename_and_add_member_in_one_request(scim, group, alice):
    response = patch(
        scim,
        group["id"],
        {"op": "Replace", "path": "displayName", "value": "Platform"},
        {"op": "Add", "path": "members", "value": [{"value": alice}]},
    )

    assert_no_content(response, version=2)
    read = scim.get(f"/Groups/{group['id']}").body
    assert (read["displayName"], read["members"]) == ("Platform", [member(alice, "alice@contoso.com")])


# Delete (§1.13, scenario K) ---------------------------------------------------------------------


def test_delete_group_then_get_is_404(scim, staffed, alice):
    response = scim.delete(f"/Groups/{staffed['id']}")

    assert response.status_code == 204
    assert response.raw_content == b""
    again = scim.get(f"/Groups/{staffed['id']}")
    assert again.status_code == 404
    assert again.body == error(404, f"Resource {staffed['id']} not found")
    assert GroupMembership.objects.count() == 0
    assert scim.get(f"/Users/{alice}").status_code == 200


def test_delete_group_twice_is_404(scim, group):
    scim.delete(f"/Groups/{group['id']}")

    response = scim.delete(f"/Groups/{group['id']}")

    assert response.status_code == 404
    assert response.body == error(404, f"Resource {group['id']} not found")


# Membership-check query (§1.13) --------------------------------------------------------------------


def test_membership_check_query_finds_member(scim, staffed, alice):
    text = quote_plus(f'id eq "{staffed["id"]}" and members eq "{alice}"')

    response = scim.get(f"/Groups?filter={text}&attributes=id")

    assert response.status_code == 200
    assert response.body == list_of({"schemas": [GROUP], "id": staffed["id"]})


def test_membership_check_query_for_non_member_is_empty(scim, staffed, create_user):
    outsider = create_user("dave@contoso.com")["id"]
    text = quote_plus(f'id eq "{staffed["id"]}" and members eq "{outsider}"')

    response = scim.get(f"/Groups?filter={text}&attributes=id")

    assert response.status_code == 200
    assert response.body == list_of()
