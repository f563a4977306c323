"""Helpers shared by the Group test modules."""

from urllib.parse import quote_plus


BASE = "http://testserver/scim/v2"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ADSCIM_GROUP = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
EXTERNAL_ID = "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159"


def assert_no_content(response, version: int) -> None:
    assert response.status_code == 204, response.body
    assert response.raw_content == b""
    assert response["ETag"] == f'W/"{version}"'


def entra_group(display_name: str = "displayName", external_id: str = EXTERNAL_ID) -> dict:
    """Entra's documented group create body (entra-scim.md §1.13)."""
    return {
        "schemas": [GROUP, ADSCIM_GROUP],
        "externalId": external_id,
        "displayName": display_name,
        "meta": {"resourceType": "Group"},
    }


def error(status: int, detail: str, scim_type: str | None = None) -> dict:
    body = {"schemas": [ERROR], "status": str(status)}
    if scim_type:
        body["scimType"] = scim_type
    return body | {"detail": detail}


def find(scim, filter_text: str, extra: str = ""):
    return scim.get(f"/Groups?filter={quote_plus(filter_text)}{extra}")


def ids(response) -> list[str]:
    assert response.status_code == 200, response.body
    return [resource["id"] for resource in response.body["Resources"]]


def member(user_id: str, display: str) -> dict:
    """A member as groups render it: display is the account's displayName, else its userName."""
    return {"value": user_id, "$ref": f"{BASE}/Users/{user_id}", "display": display, "type": "User"}


def members_in_id_order(*accounts: tuple[str, str]) -> list[dict]:
    """(id, display) pairs as a group lists them: in id order."""
    return [member(user_id, display) for user_id, display in sorted(accounts)]


def patch(scim, group_id: str, *operations):
    return scim.patch(f"/Groups/{group_id}", {"schemas": [PATCH_OP], "Operations": list(operations)})
