"""
A manager.value that names no account of the organization (issue 14): the user is kept, the
reference is stored exactly as sent and returned as sent (no $ref while unresolved), and it is
linked when an account with that id or externalId appears, in the same organization only.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import WorkAccount
from accounts.services import MANAGER_SELF


pytestmark = pytest.mark.django_db

BASE_URL = "https://accounts.example.com"
CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
MANAGER = f"{ENTERPRISE}:manager"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"


@pytest.fixture(autouse=True)
def portal_base_url(settings):
    settings.PORTAL_BASE_URL = BASE_URL


def location(user_id: str) -> str:
    return f"{BASE_URL}/scim/v2/Users/{user_id}"


def linked(manager_id: str) -> dict:
    return {"value": manager_id, "$ref": location(manager_id)}


def create_body(user_name: str, external_id: str, manager=None) -> dict:
    """Entra's create body; the enterprise extension only when a manager is given."""
    body = {
        "schemas": [CORE, ENTERPRISE],
        "externalId": external_id,
        "userName": user_name,
        "active": True,
        "emails": [{"primary": True, "type": "work", "value": user_name}],
        "meta": {"resourceType": "User"},
        "name": {"familyName": "Young", "givenName": "Joy"},
    }
    if manager is not None:
        body[ENTERPRISE] = {"manager": manager}
    return body


def expected(answer: dict, user_name: str, external_id: str, manager: dict | None, version: int = 1) -> dict:
    """The full User resource of create_body(user_name, external_id) with `manager`."""
    body = {
        "schemas": [CORE, ENTERPRISE] if manager is not None else [CORE],
        "id": answer["id"],
        "userName": user_name,
        "externalId": external_id,
        "name": {"familyName": "Young", "givenName": "Joy"},
        "active": True,
        "emails": [{"value": user_name, "type": "work", "primary": True}],
        "meta": {
            "resourceType": "User",
            "created": answer["meta"]["created"],
            "lastModified": answer["meta"]["lastModified"],
            "location": location(answer["id"]),
            "version": f'W/"{version}"',
        },
    }
    if manager is not None:
        body[ENTERPRISE] = {"manager": manager}
    return body


def invalid_value(detail: str) -> dict:
    return {"schemas": [ERROR], "status": "400", "scimType": "invalidValue", "detail": detail}


def post(scim, user_name: str, external_id: str, manager=None):
    return scim.post("/Users", create_body(user_name, external_id, manager))


def patch(scim, user_id: str, *operations):
    return scim.patch(f"/Users/{user_id}", {"schemas": [PATCH_OP], "Operations": list(operations)})


@pytest.fixture
def joy(scim) -> dict:
    response = post(scim, "joy@contoso.com", "ext-joy")
    assert response.status_code == 201
    return response.body


# POST ---------------------------------------------------------------------------------------------


def test_post_with_unknown_manager_id_creates_the_user_with_the_reference_as_sent(scim):
    response = post(scim, "joy@contoso.com", "ext-joy", UNKNOWN_ID)

    assert response.status_code == 201
    assert response.body == expected(response.body, "joy@contoso.com", "ext-joy", {"value": UNKNOWN_ID})
    assert scim.get(f"/Users/{response.body['id']}").body == response.body


def test_post_with_unknown_manager_value_object_keeps_the_string_exactly(scim):
    response = post(scim, "joy@contoso.com", "ext-joy", {"value": "Mgr-271 "})

    assert response.status_code == 201
    assert response.body == expected(response.body, "joy@contoso.com", "ext-joy", {"value": "Mgr-271 "})
    account = WorkAccount.objects.get(pk=response.body["id"])
    assert (account.manager_id, account.manager_reference) == (None, "Mgr-271 ")


def test_post_with_another_organizations_account_as_manager_keeps_it_unresolved(scim, other_scim):
    stranger = post(other_scim, "stranger@fabrikam.com", "ext-stranger").body

    response = post(scim, "joy@contoso.com", "ext-joy", stranger["id"])

    assert response.status_code == 201
    assert response.body[ENTERPRISE] == {"manager": {"value": stranger["id"]}}


def test_post_with_a_deleted_account_as_manager_keeps_it_unresolved(scim):
    gone = post(scim, "gone@contoso.com", "ext-gone").body
    assert scim.delete(f"/Users/{gone['id']}").status_code == 204

    response = post(scim, "joy@contoso.com", "ext-joy", gone["id"])

    assert response.status_code == 201
    assert response.body[ENTERPRISE] == {"manager": {"value": gone["id"]}}


def test_post_with_the_external_id_of_an_account_links_that_account(scim):
    boss = post(scim, "boss@contoso.com", "ext-boss").body

    response = post(scim, "joy@contoso.com", "ext-joy", "ext-boss")

    assert response.status_code == 201
    assert response.body == expected(response.body, "joy@contoso.com", "ext-joy", linked(boss["id"]))


def test_post_naming_its_own_external_id_as_manager_returns_400(scim):
    response = post(scim, "joy@contoso.com", "ext-joy", "ext-joy")

    assert response.status_code == 400
    assert response.body == invalid_value(MANAGER_SELF)
    assert not WorkAccount.objects.filter(user_name="joy@contoso.com").exists()


def test_post_with_an_over_long_manager_reference_returns_400(scim):
    response = post(scim, "joy@contoso.com", "ext-joy", "m" * 256)

    assert response.status_code == 400
    assert response.body == invalid_value("manager.value is longer than 255 characters.")


# PUT ----------------------------------------------------------------------------------------------


def test_put_with_unknown_manager_keeps_the_reference(scim, joy):
    response = scim.put(f"/Users/{joy['id']}", create_body("joy@contoso.com", "ext-joy", "271"))

    assert response.status_code == 200
    assert response.body == expected(response.body, "joy@contoso.com", "ext-joy", {"value": "271"}, version=2)


def test_put_without_manager_clears_an_unresolved_reference(scim):
    joy = post(scim, "joy@contoso.com", "ext-joy", "271").body

    response = scim.put(f"/Users/{joy['id']}", create_body("joy@contoso.com", "ext-joy"))

    assert response.status_code == 200
    assert response.body == expected(response.body, "joy@contoso.com", "ext-joy", None, version=2)
    assert WorkAccount.objects.filter(pk=joy["id"], manager_reference__isnull=True).exists()


# PATCH --------------------------------------------------------------------------------------------


def test_patch_entra_bare_string_unknown_manager_returns_200_with_the_reference(scim, joy):
    response = patch(scim, joy["id"], {"op": "Add", "path": MANAGER, "value": "271"})

    assert response.status_code == 200
    assert response.body == expected(response.body, "joy@contoso.com", "ext-joy", {"value": "271"}, version=2)
    assert scim.get(f"/Users/{joy['id']}").body == response.body


def test_patch_value_object_unknown_manager_returns_200_with_the_reference(scim, joy):
    response = patch(scim, joy["id"], {"op": "add", "path": MANAGER, "value": {"value": UNKNOWN_ID}})

    assert response.status_code == 200
    assert response.body[ENTERPRISE] == {"manager": {"value": UNKNOWN_ID}}


def test_patch_unknown_manager_applies_the_other_operations_too(scim, joy):
    response = patch(
        scim,
        joy["id"],
        {"op": "Add", "path": "nickName", "value": "Babs"},
        {"op": "Add", "path": MANAGER, "value": UNKNOWN_ID},
    )

    assert response.status_code == 200
    assert response.body["nickName"] == "Babs"
    assert response.body[ENTERPRISE] == {"manager": {"value": UNKNOWN_ID}}


def test_patch_same_unresolved_reference_again_changes_nothing(scim, joy):
    patch(scim, joy["id"], {"op": "Add", "path": MANAGER, "value": "271"})

    response = patch(scim, joy["id"], {"op": "Replace", "path": MANAGER, "value": "271"})

    assert response.status_code == 200
    assert response.body["meta"]["version"] == 'W/"2"'


def test_patch_unknown_manager_replaces_a_linked_one(scim, joy):
    boss = post(scim, "boss@contoso.com", "ext-boss").body
    patch(scim, joy["id"], {"op": "Add", "path": MANAGER, "value": boss["id"]})

    response = patch(scim, joy["id"], {"op": "Replace", "path": MANAGER, "value": "271"})

    assert response.status_code == 200
    assert response.body[ENTERPRISE] == {"manager": {"value": "271"}}
    assert WorkAccount.objects.filter(pk=joy["id"]).values_list("manager_id", "manager_reference").get() == (
        None,
        "271",
    )


def test_patch_padded_upper_case_id_links_the_account(scim, joy):
    boss = post(scim, "boss@contoso.com", "ext-boss").body

    response = patch(scim, joy["id"], {"op": "Add", "path": MANAGER, "value": f" {boss['id'].upper()} "})

    assert response.status_code == 200
    assert response.body[ENTERPRISE] == {"manager": linked(boss["id"])}


def test_patch_known_manager_replaces_an_unresolved_reference(scim):
    joy = post(scim, "joy@contoso.com", "ext-joy", "271").body
    boss = post(scim, "boss@contoso.com", "ext-boss").body

    response = patch(scim, joy["id"], {"op": "Replace", "path": MANAGER, "value": boss["id"]})

    assert response.status_code == 200
    assert response.body[ENTERPRISE] == {"manager": linked(boss["id"])}
    assert WorkAccount.objects.filter(pk=joy["id"]).values_list("manager_id", "manager_reference").get() == (
        WorkAccount.objects.get(user_name="boss@contoso.com").pk,
        None,
    )


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "Remove", "path": MANAGER},
        {"op": "replace", "path": MANAGER, "value": None},
        {"op": "Replace", "path": MANAGER, "value": ""},
        {"op": "replace", "path": MANAGER, "value": {"value": ""}},
    ],
    ids=["remove", "replace-null", "replace-empty-string", "replace-empty-value-object"],
)
def test_patch_clearing_the_manager_clears_an_unresolved_reference(scim, operation):
    joy = post(scim, "joy@contoso.com", "ext-joy", "271").body

    response = patch(scim, joy["id"], operation)

    assert response.status_code == 200
    assert response.body == expected(response.body, "joy@contoso.com", "ext-joy", None, version=2)
    assert WorkAccount.objects.filter(pk=joy["id"]).values_list("manager_id", "manager_reference").get() == (
        None,
        None,
    )


def test_patch_naming_its_own_external_id_as_manager_returns_400(scim, joy):
    response = patch(scim, joy["id"], {"op": "Add", "path": MANAGER, "value": "ext-joy"})

    assert response.status_code == 400
    assert response.body == invalid_value(MANAGER_SELF)


# Linking when the named account appears --------------------------------------------------------------


def test_reference_is_linked_when_an_account_with_that_external_id_is_created(scim):
    joy = post(scim, "joy@contoso.com", "ext-joy", "ext-boss").body

    boss = post(scim, "boss@contoso.com", "ext-boss").body

    fetched = scim.get(f"/Users/{joy['id']}").body
    assert fetched == expected(fetched, "joy@contoso.com", "ext-joy", linked(boss["id"]), version=2)
    assert WorkAccount.objects.filter(pk=joy["id"], manager_reference__isnull=True).exists()


def test_reference_is_linked_when_an_account_takes_that_external_id(scim, joy):
    waiting = post(scim, "kim@contoso.com", "ext-kim", "ext-boss").body

    patch(scim, joy["id"], {"op": "Replace", "path": "externalId", "value": "ext-boss"})

    assert scim.get(f"/Users/{waiting['id']}").body[ENTERPRISE] == {"manager": linked(joy["id"])}


def test_every_waiting_account_is_linked_in_one_update(scim):
    waiting = [post(scim, f"report{n}@contoso.com", f"ext-report{n}", "ext-boss").body for n in range(3)]

    with CaptureQueriesContext(connection) as queries:
        boss = post(scim, "boss@contoso.com", "ext-boss").body

    # One UPDATE statement, or (PostgreSQL) one UPDATE in the statement that also inserts the boss.
    linking = [q["sql"] for q in queries if "UPDATE" in q["sql"] and "manager_reference" in q["sql"]]
    assert len(linking) == 1
    assert linking[0].count("UPDATE") == 1
    for report in waiting:
        assert scim.get(f"/Users/{report['id']}").body[ENTERPRISE] == {"manager": linked(boss["id"])}


def test_creating_an_account_costs_the_same_queries_with_or_without_waiting_reports(scim):
    with CaptureQueriesContext(connection) as nobody_waits:
        post(scim, "first@contoso.com", "ext-first")
    for n in range(3):
        post(scim, f"report{n}@contoso.com", f"ext-report{n}", "ext-boss")

    with CaptureQueriesContext(connection) as three_wait:
        post(scim, "boss@contoso.com", "ext-boss")

    assert len(three_wait) == len(nobody_waits)


def test_reference_of_another_organization_is_never_linked(scim, other_scim):
    stranger = post(other_scim, "stranger@fabrikam.com", "ext-stranger", "ext-boss").body

    post(scim, "boss@contoso.com", "ext-boss")

    assert other_scim.get(f"/Users/{stranger['id']}").body[ENTERPRISE] == {"manager": {"value": "ext-boss"}}


def test_reference_naming_an_external_id_two_accounts_share_stays_unresolved(scim):
    post(scim, "boss@contoso.com", "ext-boss")
    post(scim, "twin@contoso.com", "ext-boss")

    response = post(scim, "joy@contoso.com", "ext-joy", "ext-boss")

    assert response.body[ENTERPRISE] == {"manager": {"value": "ext-boss"}}
