"""
Entra's provisioning lifecycle replayed end to end (entra-scim.md §1.17 A–L), once with the
default (legacy) request shapes and once with the `aadOptscim062020` ones, each filter sent with
both URL encodings Entra uses.
"""

import uuid

import pytest


pytestmark = pytest.mark.django_db

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
LEGACY = {
    "disable": {"op": "Replace", "path": "active", "value": "False"},
    "enable": {"op": "Replace", "path": "active", "value": "True"},
    "attributes": [
        {"op": "Replace", "path": "displayName", "value": "Alice Liddell"},
        {"op": "Replace", "path": "name.givenName", "value": "Alice"},
        {"op": "Replace", "path": f"{ENTERPRISE}:employeeNumber", "value": "E-1"},
    ],
    "remove_member": lambda user_id: {"op": "Remove", "path": "members", "value": [{"value": user_id}]},
}
FLAG = {
    "disable": {"op": "replace", "path": "active", "value": False},
    "enable": {"op": "replace", "path": "active", "value": True},
    "attributes": [
        {
            "op": "replace",
            "value": {
                "displayName": "Alice Liddell",
                "name.givenName": "Alice",
                f"{ENTERPRISE}:employeeNumber": "E-1",
            },
        }
    ],
    "remove_member": lambda user_id: {"op": "remove", "path": f'members[value eq "{user_id}"]'},
}


def _filter(scim, resource: str, expression: str, encoding: str, extra: str = ""):
    query = expression.replace(" ", "+").replace('"', "%22") if encoding == "plus" else expression
    return scim.get(f"/{resource}?{extra}filter={query}")


def _patch(scim, path: str, *operations):
    return scim.patch(path, {"schemas": [PATCH_OP], "Operations": list(operations)})


@pytest.mark.parametrize("encoding", ["plus", "literal"])
@pytest.mark.parametrize("dialect", [LEGACY, FLAG], ids=["legacy", "aadOptscim062020"])
def test_entra_lifecycle_replay(scim, create_user, dialect, encoding):
    # A. Test Connection, for users and groups.
    probe = str(uuid.uuid4())
    assert _filter(scim, "Users", f'userName eq "{probe}"', encoding).body["totalResults"] == 0
    assert (
        _filter(scim, "Groups", f'displayName eq "{probe}"', encoding, "excludedAttributes=members&").body[
            "totalResults"
        ]
        == 0
    )

    # B. Match (no result), create, link the manager in a separate PATCH.
    assert _filter(scim, "Users", 'userName eq "alice@contoso.com"', encoding).body["totalResults"] == 0
    manager_id = create_user("queen@contoso.com")["id"]
    alice_id = create_user("alice@contoso.com")["id"]
    linked = _patch(
        scim, f"/Users/{alice_id}", {"op": "Add", "path": f"{ENTERPRISE}:manager", "value": manager_id}
    )
    assert linked.status_code == 200
    assert linked.body[ENTERPRISE]["manager"]["value"] == manager_id

    # C. A second match finds exactly her, whatever the case.
    found = _filter(scim, "Users", 'userName eq "ALICE@contoso.com"', encoding).body
    assert [r["id"] for r in found["Resources"]] == [alice_id]

    # D. Attribute change in the dialect's shape.
    changed = _patch(scim, f"/Users/{alice_id}", *dialect["attributes"])
    assert changed.status_code == 200
    assert (changed.body["displayName"], changed.body["name"]["givenName"]) == ("Alice Liddell", "Alice")
    assert changed.body[ENTERPRISE]["employeeNumber"] == "E-1"

    # H. A group, found by displayName, created, and given a member.
    assert (
        _filter(scim, "Groups", 'displayName eq "Eng"', encoding, "excludedAttributes=members&").body[
            "Resources"
        ]
        == []
    )
    group = scim.post(
        "/Groups", {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Eng"}
    )
    assert group.status_code == 201
    group_path = f"/Groups/{group.body['id']}"
    assert (
        _patch(scim, group_path, {"op": "Add", "path": "members", "value": [{"value": alice_id}]}).status_code
        == 204
    )

    # E. Disable: still readable, inactive, still a member.
    assert _patch(scim, f"/Users/{alice_id}", dialect["disable"]).body["active"] is False
    assert scim.get(f"/Users/{alice_id}").body["active"] is False
    assert [m["value"] for m in scim.get(group_path).body["members"]] == [alice_id]

    # F. Re-enable.
    assert _patch(scim, f"/Users/{alice_id}", dialect["enable"]).body["active"] is True

    # I, J. Member removed, group renamed.
    assert _patch(scim, group_path, dialect["remove_member"](alice_id)).status_code == 204
    assert (
        _patch(scim, group_path, {"op": "Replace", "path": "displayName", "value": "Engineering"}).status_code
        == 204
    )
    renamed = scim.get(f"{group_path}?excludedAttributes=members").body
    assert renamed["displayName"] == "Engineering"
    assert "members" not in renamed

    # K, G. Group and user deleted: 204, then 404.
    assert scim.delete(group_path).status_code == 204
    assert scim.get(group_path).status_code == 404
    assert scim.delete(f"/Users/{alice_id}").status_code == 204
    assert scim.get(f"/Users/{alice_id}").status_code == 404

    # L. A duplicate create is a conflict; the deleted name is free again.
    assert scim.post("/Users", {"userName": "queen@contoso.com"}).status_code == 409
    assert scim.post("/Users", {"userName": "alice@contoso.com"}).status_code == 201
