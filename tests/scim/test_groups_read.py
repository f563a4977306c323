"""
Reading /Groups: the single resource with its members, filters, paging, attribute projection,
the membership table left alone when members are excluded, a 12,000-member group streamed whole,
and the .search endpoints.
"""

import datetime
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import GroupMembership, WorkAccount, WorkGroup
from tests.scim.group_support import find, ids, members_in_id_order


pytestmark = pytest.mark.django_db

BASE = "http://testserver/scim/v2"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
SEARCH_REQUEST = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
MEMBERSHIP_TABLE = GroupMembership._meta.db_table


def list_of(*resources, total: int | None = None, start: int = 1) -> dict:
    return {
        "schemas": [LIST_RESPONSE],
        "totalResults": len(resources) if total is None else total,
        "itemsPerPage": len(resources),
        "startIndex": start,
        "Resources": list(resources),
    }


def invalid_filter(detail: str) -> dict:
    return {"schemas": [ERROR], "status": "400", "scimType": "invalidFilter", "detail": detail}


# The single resource ------------------------------------------------------------------------------


def test_get_group_with_members_exact_body(scim, groups, alice, bob):
    engineering = groups[0]

    response = scim.get(f"/Groups/{engineering['id']}")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/scim+json"
    assert response["ETag"] == 'W/"1"'
    assert response.body == {
        "schemas": [GROUP],
        "id": engineering["id"],
        "displayName": "Engineering",
        "externalId": "ext-Eng",
        "members": members_in_id_order((alice, "alice@contoso.com"), (bob, "bob@contoso.com")),
        "meta": {
            "resourceType": "Group",
            "created": engineering["meta"]["created"],
            "lastModified": engineering["meta"]["created"],
            "location": f"{BASE}/Groups/{engineering['id']}",
            "version": 'W/"1"',
        },
    }


def test_get_unknown_group_is_404(scim, groups):
    missing = str(uuid.uuid4())

    response = scim.get(f"/Groups/{missing}")

    assert response.status_code == 404
    assert response.body == {"schemas": [ERROR], "status": "404", "detail": f"Resource {missing} not found"}


def test_get_group_if_none_match_is_304(scim, groups):
    response = scim.get(f"/Groups/{groups[0]['id']}", headers={"If-None-Match": 'W/"1"'})

    assert response.status_code == 304
    assert response.raw_content == b""


# Filters ----------------------------------------------------------------------------------------


def test_filter_display_name_is_case_insensitive(scim, groups):
    assert ids(find(scim, 'displayName eq "sALES"')) == [groups[1]["id"]]


def test_filter_external_id_is_case_exact(scim, groups):
    assert ids(find(scim, 'externalId eq "ext-Sales"')) == [groups[1]["id"]]
    assert ids(find(scim, 'externalId eq "EXT-SALES"')) == []


def test_filter_id(scim, groups):
    assert ids(find(scim, f'id eq "{groups[2]["id"]}"')) == [groups[2]["id"]]


def test_filter_members_value(scim, groups, alice, bob):
    assert ids(find(scim, f'members.value eq "{alice}"')) == [groups[0]["id"]]
    assert ids(find(scim, f'members.value eq "{bob}"')) == [groups[0]["id"], groups[1]["id"]]


def test_filter_members_value_path(scim, groups, bob):
    assert ids(find(scim, f'members[value eq "{bob}"]')) == [groups[0]["id"], groups[1]["id"]]


def test_filter_meta_last_modified_gt(scim, groups):
    moments = [datetime.datetime(2026, 1, day, 12, tzinfo=datetime.UTC) for day in (1, 2, 3)]
    for group, moment in zip(groups, moments, strict=True):
        WorkGroup.objects.filter(pk=group["id"]).update(updated_at=moment)

    response = find(scim, 'meta.lastModified gt "2026-01-02T12:00:00.000Z"')

    assert ids(response) == [groups[2]["id"]]
    assert response.body["Resources"][0]["meta"]["lastModified"] == "2026-01-03T12:00:00.000Z"


def test_filter_unknown_attribute_is_400_invalid_filter(scim, groups):
    response = find(scim, 'userName eq "alice@contoso.com"')

    assert response.status_code == 400
    assert response.body == invalid_filter(
        "The filter uses 'userName', which is not a filterable attribute of Group."
    )


def test_filter_unknown_member_sub_attribute_is_400_invalid_filter(scim, groups):
    response = find(scim, 'members.display eq "alice"')

    assert response.status_code == 400
    assert response.body == invalid_filter(
        "The filter uses 'members.display', which is not a filterable attribute of Group."
    )


# Paging and projection -----------------------------------------------------------------------------


def test_paging_start_index_and_count(scim, groups):
    response = scim.get("/Groups?startIndex=2&count=1&excludedAttributes=members")

    assert response.status_code == 200
    expected = scim.get(f"/Groups/{groups[1]['id']}?excludedAttributes=members").body
    assert response.body == list_of(expected, total=3, start=2)


def test_pages_cover_every_group_once_in_creation_order(scim, groups):
    pages = [ids(scim.get(f"/Groups?startIndex={start}&count=2")) for start in (1, 3)]
    assert pages[0] + pages[1] == [g["id"] for g in groups]


def test_attributes_display_name(scim, groups):
    response = find(scim, 'displayName eq "Engineering"', "&attributes=displayName")

    assert response.body == list_of({"schemas": [GROUP], "id": groups[0]["id"], "displayName": "Engineering"})


def test_attributes_members_value(scim, groups, alice, bob):
    response = scim.get(f"/Groups/{groups[0]['id']}?attributes=members.value")

    assert response.status_code == 200
    assert response.body == {
        "schemas": [GROUP],
        "id": groups[0]["id"],
        "members": [{"value": u} for u in sorted([alice, bob])],
    }


@pytest.mark.parametrize("attributes", ["members", "displayName,members", "Members"])
def test_attributes_members_returns_whole_members(scim, groups, alice, bob, attributes):
    response = scim.get(f"/Groups/{groups[0]['id']}?attributes={attributes}")

    assert response.status_code == 200
    expected = {
        "schemas": [GROUP],
        "id": groups[0]["id"],
        "members": members_in_id_order((alice, "alice@contoso.com"), (bob, "bob@contoso.com")),
    }
    if "displayName" in attributes:
        expected["displayName"] = "Engineering"
    assert response.body == expected


def test_excluded_member_sub_attribute_is_left_out_of_each_member(scim, groups, alice, bob):
    response = scim.get(f"/Groups/{groups[0]['id']}?excludedAttributes=members.$ref")

    assert response.status_code == 200
    assert response.body["members"] == [
        {"value": u, "display": d, "type": "User"}
        for u, d in sorted([(alice, "alice@contoso.com"), (bob, "bob@contoso.com")])
    ]


def test_excluded_members_never_reads_membership_table(scim, groups):
    with CaptureQueriesContext(connection) as single:
        assert "members" not in scim.get(f"/Groups/{groups[0]['id']}?excludedAttributes=members").body
    with CaptureQueriesContext(connection) as listed:
        assert scim.get("/Groups?excludedAttributes=members").body["totalResults"] == 3

    queries = [q["sql"] for q in single.captured_queries + listed.captured_queries]
    assert [sql for sql in queries if MEMBERSHIP_TABLE in sql] == []


def test_members_are_read_from_membership_table_when_not_excluded(scim, groups):
    with CaptureQueriesContext(connection) as context:
        scim.get(f"/Groups/{groups[0]['id']}")

    assert any(MEMBERSHIP_TABLE in q["sql"] for q in context.captured_queries)


def test_twelve_thousand_members_stream_complete_in_id_order(scim, organization, make_group):
    group = make_group("Everyone")
    accounts = WorkAccount.objects.bulk_create(
        WorkAccount(organization=organization, user_name=f"bulk{n:05}@contoso.com") for n in range(12_000)
    )
    GroupMembership.objects.bulk_create(
        (GroupMembership(group_id=group["id"], account=a) for a in accounts), batch_size=2000
    )

    response = scim.get(f"/Groups/{group['id']}")

    assert response.status_code == 200
    assert response.streaming
    # No displayName: each member's display is its userName.
    assert response.body["members"] == members_in_id_order(*((str(a.pk), a.user_name) for a in accounts))


# .search ------------------------------------------------------------------------------------------


def test_post_groups_search(scim, groups):
    body = {
        "schemas": [SEARCH_REQUEST],
        "filter": 'displayName eq "Sales"',
        "excludedAttributes": ["members"],
        "startIndex": 1,
        "count": 10,
    }

    response = scim.post("/Groups/.search", body)

    assert response.status_code == 200
    expected = scim.get(f"/Groups/{groups[1]['id']}?excludedAttributes=members").body
    assert response.body == list_of(expected)


def test_groups_search_with_invalid_attributes_is_400_before_streaming(scim, groups):
    response = scim.post("/Groups/.search", {"schemas": [SEARCH_REQUEST], "attributes": 5})

    assert response.status_code == 400
    assert not response.streaming
    assert response.body == {
        "schemas": [ERROR],
        "status": "400",
        "scimType": "invalidValue",
        "detail": "attributes and excludedAttributes must be attribute names, not 5.",
    }


def test_root_search_with_invalid_excluded_attributes_is_400_before_streaming(scim, groups):
    response = scim.post("/.search", {"schemas": [SEARCH_REQUEST], "excludedAttributes": {"a": 1}})

    assert response.status_code == 400
    assert not response.streaming
    assert (
        response.body["detail"] == "attributes and excludedAttributes must be attribute names, not {'a': 1}."
    )


def test_root_search_returns_users_then_groups(scim, groups, alice, bob):
    response = scim.post("/.search", {"schemas": [SEARCH_REQUEST], "attributes": ["id"]})

    assert response.status_code == 200
    assert response.body == list_of(
        *({"schemas": [USER], "id": u} for u in (alice, bob)),
        *({"schemas": [GROUP], "id": g["id"]} for g in groups),
    )


def test_root_search_pages_across_users_and_groups(scim, groups, alice, bob):
    response = scim.post(
        "/.search", {"schemas": [SEARCH_REQUEST], "attributes": "id", "startIndex": 2, "count": 2}
    )

    assert response.body == list_of(
        {"schemas": [USER], "id": bob}, {"schemas": [GROUP], "id": groups[0]["id"]}, total=5, start=2
    )


def test_root_search_filter_on_user_name_returns_only_users(scim, groups, alice):
    body = {
        "schemas": [SEARCH_REQUEST],
        "filter": 'userName eq "alice@contoso.com"',
        "attributes": ["userName"],
    }

    response = scim.post("/.search", body)

    assert response.status_code == 200
    assert response.body == list_of({"schemas": [USER], "id": alice, "userName": "alice@contoso.com"})


def test_root_search_filter_on_display_name_finds_groups(scim, groups):
    body = {"schemas": [SEARCH_REQUEST], "filter": 'displayName eq "Sales"', "attributes": ["id"]}

    response = scim.post("/.search", body)

    assert response.body == list_of({"schemas": [GROUP], "id": groups[1]["id"]})


def test_root_search_filter_unknown_everywhere_is_400(scim, groups):
    response = scim.post("/.search", {"schemas": [SEARCH_REQUEST], "filter": 'nope eq "x"'})

    assert response.status_code == 400
    assert response.body["scimType"] == "invalidFilter"
