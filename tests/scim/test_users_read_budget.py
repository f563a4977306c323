"""
The statements each User read Entra sends costs (issue 15), exactly: the bearer token with its
connection and organization in one, the page (or the account) in one, and its values and its
groups: on PostgreSQL two JSON columns of that same statement, on SQLite one more statement. A
statement added to any of these reads fails its test.
"""

import uuid
from contextlib import contextmanager

import pytest
from django.db import connection

from tests.conftest import entra_user


# The SCIM work itself; the provisioning log's statements are counted with the log.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("without_provisioning_log")]

AUTHENTICATION = 1  # the token, its connection and organization (one row)
PAGE = 1  # the filtered page (no COUNT: the first page is not full)
# The page's emails/phoneNumbers/addresses and its groups: JSON columns of the page's statement
# (jsonb_agg), or on SQLite one UNION ALL after it.
VALUES_AND_GROUPS = {"postgresql": 0, "sqlite": 1}[connection.vendor]
TEST_CONNECTION = AUTHENTICATION + PAGE  # nothing found: nothing more to read
MATCH = AUTHENTICATION + PAGE + VALUES_AND_GROUPS
GET_BY_ID = AUTHENTICATION + 1 + VALUES_AND_GROUPS
TRANSACTION_CONTROL = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT", "BEGIN", "COMMIT")


@contextmanager
def counted_statements():
    statements = []

    def record(execute, sql, params, many, context):
        if not sql.lstrip().upper().startswith(TRANSACTION_CONTROL):
            statements.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        yield statements


@pytest.fixture
def ada(scim, make_group) -> dict:
    """An account with a work e-mail, a phone number and a group; the token already used once
    (its first use records last_used_at, which later requests within minutes do not)."""
    body = entra_user("ada@contoso.com", externalId="ext-ada")
    body["phoneNumbers"] = [{"type": "work", "value": "+1 555 0100"}]
    account = scim.post("/Users", body).body
    make_group("Engineering", "ext-eng", [account["id"]])
    assert scim.get("/Users?count=0").status_code == 200
    return account


def read_costs(scim, path: str, expected_results: int | None = None) -> int:
    with counted_statements() as statements:
        response = scim.get(path)
    assert response.status_code == 200, response.body
    if expected_results is not None:
        assert response.body["totalResults"] == expected_results
    return len(statements)


def test_test_connection_costs_authentication_and_the_page(scim, ada):
    cost = read_costs(scim, f'/Users?filter=userName eq "{uuid.uuid4()}"', expected_results=0)

    assert cost == TEST_CONNECTION


def test_match_on_user_name_costs_the_page_with_its_values_and_groups(scim, ada):
    cost = read_costs(scim, '/Users?filter=userName eq "ADA@contoso.com"', expected_results=1)

    assert cost == MATCH


def test_match_on_external_id_costs_the_page_with_its_values_and_groups(scim, ada):
    cost = read_costs(scim, '/Users?filter=externalId eq "ext-ada"', expected_results=1)

    assert cost == MATCH


def test_match_on_work_email_costs_the_page_with_its_values_and_groups(scim, ada):
    cost = read_costs(
        scim, '/Users?filter=emails[type eq "work"].value eq "ada@contoso.com"', expected_results=1
    )

    assert cost == MATCH


def test_get_by_id_costs_the_account_with_its_values_and_groups(scim, ada):
    cost = read_costs(scim, f"/Users/{ada['id']}")

    assert cost == GET_BY_ID


def test_a_repeated_match_costs_what_the_first_did(scim, ada):
    """The second request of a shape runs the statement compiled for the first: no more, no less."""
    first = read_costs(scim, '/Users?filter=userName eq "ada@contoso.com"', expected_results=1)
    second = read_costs(scim, '/Users?filter=userName eq "nobody@contoso.com"', expected_results=0)
    third = read_costs(scim, '/Users?filter=userName eq "Ada@Contoso.com"', expected_results=1)

    assert (first, second, third) == (MATCH, TEST_CONNECTION, MATCH)


def test_a_user_read_alone_has_the_values_and_groups_of_the_same_user_in_a_page(
    scim, create_user, make_group
):
    # The read alone loads them in one UNION ALL; a cursor page prefetches them with the ORM.
    user = create_user(
        "grace@contoso.com",
        emails=[
            {"value": "grace@contoso.com", "type": "work", "primary": True},
            {"value": "grace@home.example", "type": "home"},
        ],
        phoneNumbers=[{"value": "+1 555 0100", "type": "work"}, {"value": "+1 555 0101", "type": "mobile"}],
        addresses=[{"type": "work", "streetAddress": "1 Main St", "locality": "Redmond", "country": "US"}],
    )
    create_user("other@contoso.com")
    for name in ("Zeta", "alpha", "Mu", "Émigrés"):
        make_group(name, members=[user["id"]])

    alone = scim.get(f"/Users/{user['id']}").body
    page = scim.get('/Users?filter=userName eq "grace@contoso.com"').body["Resources"][0]
    by_cursor = [r for r in scim.get("/Users?cursor&count=10").body["Resources"] if r["id"] == user["id"]][0]

    for key in ("emails", "phoneNumbers", "addresses", "groups"):
        assert alone[key] == page[key] == by_cursor[key], key
    assert len(alone["groups"]) == 4


def test_a_user_without_values_or_groups_reads_the_same_alone_in_a_page_and_by_cursor(scim, create_user):
    user = create_user("lin@contoso.com")
    scim.patch(
        f"/Users/{user['id']}",
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "remove", "path": "emails"}],
        },
    )

    alone = scim.get(f"/Users/{user['id']}").body
    page = scim.get('/Users?filter=userName eq "lin@contoso.com"').body["Resources"][0]
    by_cursor = [r for r in scim.get("/Users?cursor&count=10").body["Resources"] if r["id"] == user["id"]][0]

    assert alone == page == by_cursor
    assert [key for key in ("emails", "phoneNumbers", "addresses", "groups") if key in alone] == []
