"""
Okta's SCIM 2.0 provisioning flow, step by step, with the requests Okta's SCIM 2.0 reference
(developer.okta.com, "Okta and SCIM Version 2.0") documents: User-Agent `Okta SCIM Client 1.0.0`,
`Content-Type: application/json`. Users: lookup by userName with startIndex=1&count=100, POST,
GET by id, PUT (full replace, `active` included), PATCH deactivation and reactivation without a
path; never DELETE. Groups: POST, GET, PATCH add/remove members, rename (PATCH and PUT), PUT with
members. Errors: 401 for a bad token, 404 for a non-UUID or unknown id, all SCIM JSON.

The connection detects Okta from the first request, so every group PATCH is answered 200 with
the group and its members (with `display`), as Okta's tests expect.
"""

import uuid

import pytest

from accounts.connections.models import ProvisioningConnection
from tests.conftest import ScimClient


pytestmark = pytest.mark.django_db

BASE = "http://testserver/scim/v2"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
OKTA_AGENT = "Okta SCIM Client 1.0.0"
USER_NAME = "test.user@okta.local"


class OktaClient:
    """Requests as Okta sends them: its User-Agent and application/json bodies."""

    def __init__(self, token: str | None):
        self.scim = ScimClient(token)

    def _send(self, method: str, path: str, body=None, headers=None):
        headers = {"User-Agent": OKTA_AGENT, **(headers or {})}
        return self.scim.request(method, path, body, headers=headers, content_type="application/json")

    def get(self, path, **kwargs):
        return self._send("GET", path, **kwargs)

    def post(self, path, body):
        return self._send("POST", path, body)

    def put(self, path, body):
        return self._send("PUT", path, body)

    def patch(self, path, *operations):
        return self._send("PATCH", path, {"schemas": [PATCH_OP], "Operations": list(operations)})


@pytest.fixture
def okta(scim_token) -> OktaClient:
    return OktaClient(scim_token)


# The bodies of Okta's reference ------------------------------------------------------------------

CREATE = {
    "schemas": [USER],
    "userName": USER_NAME,
    "name": {"givenName": "Test", "familyName": "User"},
    "emails": [{"primary": True, "value": USER_NAME, "type": "work"}],
    "displayName": "Test User",
    "locale": "en-US",
    "externalId": "00ujl29u0le5T6Aj10h7",
    "groups": [],
    "password": "1mz050nq",
    "active": True,
}
LOOKUP = f"/Users?filter=userName%20eq%20%22{USER_NAME.replace('@', '%40')}%22&startIndex=1&count=100"


def meta(resource_type: str, resource_id: str, created: str, modified: str, version: int) -> dict:
    return {
        "resourceType": resource_type,
        "created": created,
        "lastModified": modified,
        "location": f"{BASE}/{resource_type}s/{resource_id}",
        "version": f'W/"{version}"',
    }


def created_user_body(user_id: str, created: str, modified: str | None = None, version: int = 1, **changes):
    """The user Okta's POST creates, as we return it (the password is never returned)."""
    return {
        "schemas": [USER],
        "id": user_id,
        "userName": USER_NAME,
        "externalId": "00ujl29u0le5T6Aj10h7",
        "displayName": "Test User",
        "locale": "en-US",
        "name": {"givenName": "Test", "familyName": "User"},
        "active": True,
        "emails": [{"value": USER_NAME, "type": "work", "primary": True}],
        "meta": meta("User", user_id, created, modified or created, version),
    } | changes


def member(user_id: str, display: str) -> dict:
    return {"value": user_id, "$ref": f"{BASE}/Users/{user_id}", "display": display, "type": "User"}


@pytest.fixture
def user(okta) -> dict:
    """Steps 1–2: the lookup finds nothing, so Okta creates the user."""
    assert okta.get(LOOKUP).body["totalResults"] == 0
    response = okta.post("/Users", CREATE)
    assert response.status_code == 201, response.body
    return response.body


@pytest.fixture
def other_user(okta) -> dict:
    response = okta.post("/Users", {**CREATE, "userName": "second@okta.local", "externalId": "00u2"})
    assert response.status_code == 201, response.body
    return response.body


@pytest.fixture
def group(okta) -> dict:
    response = okta.post("/Groups", {"schemas": [GROUP], "displayName": "Test SCIMv2", "members": []})
    assert response.status_code == 201, response.body
    return response.body


# Users -----------------------------------------------------------------------------------------


def test_lookup_of_an_unknown_user_name_is_an_empty_list(okta):
    response = okta.get(LOOKUP)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/scim+json"
    assert response.body == {
        "schemas": [LIST],
        "totalResults": 0,
        "itemsPerPage": 0,
        "startIndex": 1,
        "Resources": [],
    }


def test_create_with_application_json_answers_201_with_the_user(okta):
    assert okta.get(LOOKUP).status_code == 200

    response = okta.post("/Users", CREATE)

    assert response.status_code == 201, response.body
    user_id = response.body["id"]
    assert response.body == created_user_body(user_id, response.body["meta"]["created"])
    assert response["Location"] == f"{BASE}/Users/{user_id}"
    assert response["ETag"] == 'W/"1"'


def test_create_of_an_existing_user_name_is_409(okta, user):
    response = okta.post("/Users", CREATE)

    assert response.status_code == 409
    assert response.body["schemas"] == [ERROR]
    assert (response.body["status"], response.body["scimType"]) == ("409", "uniqueness")


def test_lookup_after_create_finds_the_user(okta, user):
    response = okta.get(LOOKUP)

    assert response.status_code == 200
    assert response.body == {
        "schemas": [LIST],
        "totalResults": 1,
        "itemsPerPage": 1,
        "startIndex": 1,
        "Resources": [user],
    }


def test_get_by_id_returns_the_created_user(okta, user):
    response = okta.get(f"/Users/{user['id']}")

    assert response.status_code == 200
    assert response.body == user


def test_put_of_the_read_user_with_a_change_replaces_it(okta, user):
    """Okta reads the user, changes what changed (a middle name) and PUTs the whole body back,
    with `id`, `meta`, `active` and an empty `groups`."""
    read = okta.get(f"/Users/{user['id']}").body
    body = {**read, "name": {**read["name"], "middleName": "Excited"}, "groups": []}

    response = okta.put(f"/Users/{user['id']}", body)

    assert response.status_code == 200, response.body
    assert response.body == created_user_body(
        user["id"],
        user["meta"]["created"],
        response.body["meta"]["lastModified"],
        2,
        name={"givenName": "Test", "middleName": "Excited", "familyName": "User"},
    )
    assert okta.get(f"/Users/{user['id']}").body == response.body


def test_put_of_okta_reference_body_replaces_every_attribute(okta, user):
    """Okta's reference PUT carries no displayName, externalId or locale: a full replace
    (RFC 7644 §3.5.1) clears them."""
    body = {
        "schemas": [USER],
        "id": user["id"],
        "userName": USER_NAME,
        "name": {"givenName": "Another", "middleName": "Excited", "familyName": "User"},
        "emails": [{"primary": True, "value": USER_NAME, "type": "work", "display": USER_NAME}],
        "active": True,
        "groups": [],
        "meta": {"resourceType": "User"},
    }

    response = okta.put(f"/Users/{user['id']}", body)

    assert response.status_code == 200, response.body
    assert response.body == {
        "schemas": [USER],
        "id": user["id"],
        "userName": USER_NAME,
        "name": {"givenName": "Another", "middleName": "Excited", "familyName": "User"},
        "active": True,
        "emails": [{"value": USER_NAME, "display": USER_NAME, "type": "work", "primary": True}],
        "meta": meta("User", user["id"], user["meta"]["created"], response.body["meta"]["lastModified"], 2),
    }


def test_put_with_active_false_deactivates(okta, user):
    read = okta.get(f"/Users/{user['id']}").body

    response = okta.put(f"/Users/{user['id']}", {**read, "active": False})

    assert response.status_code == 200, response.body
    assert response.body == created_user_body(
        user["id"], user["meta"]["created"], response.body["meta"]["lastModified"], 2, active=False
    )


def test_pathless_patch_active_false_deactivates_and_answers_the_user(okta, user):
    response = okta.patch(f"/Users/{user['id']}", {"op": "replace", "value": {"active": False}})

    assert response.status_code == 200, response.body
    assert response.body == created_user_body(
        user["id"], user["meta"]["created"], response.body["meta"]["lastModified"], 2, active=False
    )
    assert response["ETag"] == 'W/"2"'
    assert okta.get(f"/Users/{user['id']}").body == response.body


def test_pathless_patch_active_true_reactivates(okta, user):
    okta.patch(f"/Users/{user['id']}", {"op": "replace", "value": {"active": False}})

    response = okta.patch(f"/Users/{user['id']}", {"op": "replace", "value": {"active": True}})

    assert response.status_code == 200, response.body
    assert response.body == created_user_body(
        user["id"], user["meta"]["created"], response.body["meta"]["lastModified"], 3
    )


def test_deactivated_user_is_still_found_by_the_lookup(okta, user):
    okta.patch(f"/Users/{user['id']}", {"op": "replace", "value": {"active": False}})

    response = okta.get(LOOKUP)

    assert [(found["id"], found["active"]) for found in response.body["Resources"]] == [(user["id"], False)]


def test_users_are_listed_in_pages_of_count(okta, user, other_user):
    first = okta.get("/Users?startIndex=1&count=1")
    second = okta.get("/Users?startIndex=2&count=1")

    assert (first.body["totalResults"], first.body["itemsPerPage"], first.body["startIndex"]) == (2, 1, 1)
    assert (second.body["totalResults"], second.body["itemsPerPage"], second.body["startIndex"]) == (2, 1, 2)
    listed = {first.body["Resources"][0]["id"], second.body["Resources"][0]["id"]}
    assert listed == {user["id"], other_user["id"]}


# Groups ----------------------------------------------------------------------------------------


def test_create_group_with_empty_members_answers_201(okta):
    response = okta.post("/Groups", {"schemas": [GROUP], "displayName": "Test SCIMv2", "members": []})

    assert response.status_code == 201, response.body
    group_id = response.body["id"]
    created = response.body["meta"]["created"]
    assert response.body == {
        "schemas": [GROUP],
        "id": group_id,
        "displayName": "Test SCIMv2",
        "members": [],
        "meta": meta("Group", group_id, created, created, 1),
    }


def test_patch_add_member_answers_200_with_members_and_display(okta, group, user):
    response = okta.patch(
        f"/Groups/{group['id']}",
        {"op": "add", "path": "members", "value": [{"value": user["id"], "display": USER_NAME}]},
    )

    assert response.status_code == 200, response.body
    assert response["Content-Type"] == "application/scim+json"
    assert response["ETag"] == 'W/"2"'
    assert response.body == {
        "schemas": [GROUP],
        "id": group["id"],
        "displayName": "Test SCIMv2",
        # display: the member's displayName (Okta shows it; the display Okta sent is not stored).
        "members": [member(user["id"], "Test User")],
        "meta": meta(
            "Group", group["id"], group["meta"]["created"], response.body["meta"]["lastModified"], 2
        ),
    }


def test_get_group_returns_members_with_display(okta, group, user):
    okta.patch(f"/Groups/{group['id']}", {"op": "add", "path": "members", "value": [{"value": user["id"]}]})

    response = okta.get(f"/Groups/{group['id']}")

    assert response.status_code == 200
    assert response.body["members"] == [member(user["id"], "Test User")]


def test_patch_remove_and_add_in_one_request(okta, group, user, other_user):
    """Okta's membership update: remove by value filter, add by value list."""
    okta.patch(f"/Groups/{group['id']}", {"op": "add", "path": "members", "value": [{"value": user["id"]}]})

    response = okta.patch(
        f"/Groups/{group['id']}",
        {"op": "remove", "path": f'members[value eq "{user["id"]}"]'},
        {
            "op": "add",
            "path": "members",
            "value": [{"value": other_user["id"], "display": "second@okta.local"}],
        },
    )

    assert response.status_code == 200, response.body
    assert response.body["members"] == [member(other_user["id"], "Test User")]
    assert response.body["meta"]["version"] == 'W/"3"'


def test_patch_replace_members_sets_the_full_membership(okta, group, user, other_user):
    okta.patch(f"/Groups/{group['id']}", {"op": "add", "path": "members", "value": [{"value": user["id"]}]})

    response = okta.patch(
        f"/Groups/{group['id']}",
        {"op": "replace", "path": "members", "value": [{"value": other_user["id"], "display": USER_NAME}]},
    )

    assert response.status_code == 200, response.body
    assert response.body["members"] == [member(other_user["id"], "Test User")]


def test_patch_rename_repeating_the_id_answers_200_with_the_group(okta, group, user):
    okta.patch(f"/Groups/{group['id']}", {"op": "add", "path": "members", "value": [{"value": user["id"]}]})

    response = okta.patch(
        f"/Groups/{group['id']}",
        {"op": "replace", "value": {"id": group["id"], "displayName": "Test SCIMv20"}},
    )

    assert response.status_code == 200, response.body
    assert response.body == {
        "schemas": [GROUP],
        "id": group["id"],
        "displayName": "Test SCIMv20",
        "members": [member(user["id"], "Test User")],
        "meta": meta(
            "Group", group["id"], group["meta"]["created"], response.body["meta"]["lastModified"], 3
        ),
    }


def test_put_renames_and_sets_members(okta, group, user):
    body = {
        "schemas": [GROUP],
        "displayName": "Test SCIMv20",
        "members": [{"value": user["id"], "display": USER_NAME}],
    }

    response = okta.put(f"/Groups/{group['id']}", body)

    assert response.status_code == 200, response.body
    assert response.body == {
        "schemas": [GROUP],
        "id": group["id"],
        "displayName": "Test SCIMv20",
        "members": [member(user["id"], "Test User")],
        "meta": meta(
            "Group", group["id"], group["meta"]["created"], response.body["meta"]["lastModified"], 2
        ),
    }


def test_groups_are_listed_with_start_index_and_count(okta, group):
    response = okta.get("/Groups?startIndex=1&count=100")

    assert response.status_code == 200
    assert response.body == {
        "schemas": [LIST],
        "totalResults": 1,
        "itemsPerPage": 1,
        "startIndex": 1,
        "Resources": [group],
    }


def test_group_list_shows_members_with_display(okta, group, user):
    okta.patch(f"/Groups/{group['id']}", {"op": "add", "path": "members", "value": [{"value": user["id"]}]})

    response = okta.get("/Groups?startIndex=1&count=100")

    assert response.status_code == 200
    assert [resource["members"] for resource in response.body["Resources"]] == [
        [member(user["id"], "Test User")]
    ]


def test_json_with_charset_is_accepted(okta, user):
    body = {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "value": {"active": False}}]}

    response = okta.scim.request(
        "PATCH",
        f"/Users/{user['id']}",
        body,
        headers={"User-Agent": OKTA_AGENT},
        content_type="application/json; charset=utf-8",
    )

    assert response.status_code == 200, response.body
    assert response.body["active"] is False


# Errors ----------------------------------------------------------------------------------------


def test_bad_token_is_401_scim_json(db):
    response = OktaClient("not-a-token").get("/Users?startIndex=1&count=2")

    assert response.status_code == 401
    assert response["Content-Type"] == "application/scim+json"
    assert response["WWW-Authenticate"] == 'Bearer realm="scim", error="invalid_token"'
    assert response.body == {
        "schemas": [ERROR],
        "status": "401",
        "detail": "The bearer token is not valid: it is unknown, expired or revoked.",
    }


@pytest.mark.parametrize("path", ["/Users/010101", "/Groups/010101"])
def test_non_uuid_id_is_404_scim_json(okta, path):
    response = okta.get(path)

    assert response.status_code == 404
    assert response["Content-Type"] == "application/scim+json"
    assert response.body == {"schemas": [ERROR], "status": "404", "detail": "Resource 010101 not found"}


@pytest.mark.parametrize("resource", ["Users", "Groups"])
def test_unknown_uuid_is_404_scim_json(okta, resource):
    unknown = str(uuid.uuid4())

    response = okta.get(f"/{resource}/{unknown}")

    assert response.status_code == 404
    assert response.body == {"schemas": [ERROR], "status": "404", "detail": f"Resource {unknown} not found"}


def test_the_flow_detects_okta_on_the_connection(okta):
    okta.get(LOOKUP)

    connection = ProvisioningConnection.objects.get()
    assert (connection.detected_client_profile, connection.detected_user_agent) == ("okta", OKTA_AGENT)
