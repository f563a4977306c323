"""Fixtures shared by the SCIM test modules (the users: alice, bob, carol; group set-ups)."""

import pytest

from tests.scim.group_support import GROUP, patch


@pytest.fixture
def alice(create_user) -> str:
    return create_user("alice@contoso.com")["id"]


@pytest.fixture
def bob(create_user) -> str:
    return create_user("bob@contoso.com")["id"]


@pytest.fixture
def carol(create_user) -> str:
    return create_user("carol@contoso.com")["id"]


@pytest.fixture
def groups(make_group, alice, bob) -> list[dict]:
    """Engineering (alice, bob), Sales (bob), Empty: in creation order."""
    return [
        make_group("Engineering", "ext-Eng", [alice, bob]),
        make_group("Sales", "ext-Sales", [bob]),
        make_group("Empty", "ext-Empty"),
    ]


@pytest.fixture
def staffed(scim, group, alice, bob, carol) -> dict:
    """The group with alice, bob and carol (version 2)."""
    value = [{"value": user_id} for user_id in (alice, bob, carol)]
    assert patch(scim, group["id"], {"op": "Add", "path": "members", "value": value}).status_code == 204
    return group


@pytest.fixture
def make_group(scim):
    """POST a group (optionally with members) and return its body."""

    def make(display_name: str, external_id: str | None = None, members=()) -> dict:
        body = {"schemas": [GROUP], "displayName": display_name}
        if external_id is not None:
            body["externalId"] = external_id
        if members:
            body["members"] = [{"value": m} for m in members]
        response = scim.post("/Groups", body)
        assert response.status_code == 201, response.body
        return response.body

    return make
