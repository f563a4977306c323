"""
Query budgets of Entra's two hot writes (issue 15), with the provisioning log off: its statements
are its own budget (tests/provisioning_logs). Exact counts: a statement added to a write fails
here, and so does one taken away (lower the budget then, on purpose).
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.conftest import entra_user


pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("without_provisioning_log")]

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
# Tests run inside a transaction, so the service's atomic block sends SAVEPOINT/RELEASE where
# production sends BEGIN/COMMIT: transaction control is not counted.
TRANSACTION_CONTROL = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT", "BEGIN", "COMMIT")

# The bearer token; the account INSERT; its work e-mail INSERT; linking the reports that wait
# for it as their manager (one UPDATE). On PostgreSQL the last three are one statement (WITH).
POST_USER_STATEMENTS = {"postgresql": 2, "sqlite": 4}
# The bearer token; the account under its row lock with its e-mails, phones and addresses (one
# SELECT; on PostgreSQL its groups too, for the answer); the account UPDATE (familyName); the
# e-mail row UPDATE (on PostgreSQL one statement with the account's); on SQLite, its groups for
# the answer.
ENTRA_LEGACY_PATCH_STATEMENTS = {"postgresql": 3, "sqlite": 5}


def counted(call) -> tuple[object, list[str]]:
    with CaptureQueriesContext(connection) as context:
        response = call()
    statements = [q["sql"] for q in context.captured_queries if not q["sql"].startswith(TRANSACTION_CONTROL)]
    return response, statements


def entra_legacy_patch(n: int) -> dict:
    # entra-scim.md §1.8: Entra's legacy multi-op PATCH, as benchmarks/scim_load.py sends it.
    return {
        "schemas": [PATCH_OP],
        "Operations": [
            {"op": "Replace", "path": 'emails[type eq "work"].value', "value": f"updated{n}@contoso.com"},
            {"op": "Replace", "path": "name.familyName", "value": f"Family{n}"},
        ],
    }


def test_post_user_with_entra_body_costs_exactly_its_budget(scim):
    scim.post("/Users", entra_user("warm-up@contoso.com", externalId="warm-up"))

    response, statements = counted(lambda: scim.post("/Users", entra_user("alice@contoso.com")))

    assert response.status_code == 201, response.body
    assert len(statements) == POST_USER_STATEMENTS[connection.vendor], "\n".join(statements)


def test_entra_legacy_multi_op_patch_costs_exactly_its_budget(scim, create_user):
    user_id = create_user("alice@contoso.com")["id"]
    scim.patch(f"/Users/{user_id}", entra_legacy_patch(0))

    response, statements = counted(lambda: scim.patch(f"/Users/{user_id}", entra_legacy_patch(1)))

    assert response.status_code == 200, response.body
    assert len(statements) == ENTRA_LEGACY_PATCH_STATEMENTS[connection.vendor], "\n".join(statements)


def test_a_patched_users_answer_names_its_groups_as_a_read_does(scim, create_user):
    user_id = create_user("alice@contoso.com")["id"]
    for name in ("zeta", "Émile's team", "Alpha", "beta"):
        group = {"schemas": [GROUP], "displayName": name, "members": [{"value": user_id}]}
        assert scim.post("/Groups", group).status_code == 201

    patched = scim.patch(f"/Users/{user_id}", entra_legacy_patch(2))
    read = scim.get(f"/Users/{user_id}")

    assert patched.status_code == 200, patched.body
    assert [group["display"] for group in patched.body["groups"]] == [
        group["display"] for group in read.body["groups"]
    ]
    assert patched.body["groups"] == read.body["groups"]
    assert (patched.body["meta"]["version"], patched["ETag"]) == (read.body["meta"]["version"], read["ETag"])
    assert len(patched.body["groups"]) == 4
