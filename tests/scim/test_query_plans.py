"""
The plans of the filters Entra sends (issue 15): an `eq` on a unique or indexed attribute is an
index lookup that expects the one row it finds, whatever the size of the organization, never a walk
of the organization's accounts in creation order (account_org_created) filtering each row away,
which took 2–9 s at 1,000,000 accounts. benchmarks/scim_load.py prints the same plans at 1,000,000.
"""

import json
from types import SimpleNamespace

import pytest
from django.db import connection

from accounts.models import WorkAccount
from scim.hooks import UserFilterQuery, extra_filter_kwargs_getter, queryset_post_processor_getter


pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

ACCOUNTS = 5000
SEED = """
INSERT INTO accounts_workaccount (
    id, password, is_superuser, role, user_name, external_id, is_active, roles, date_joined,
    updated_at, version, security_stamp, organization_id)
SELECT gen_random_uuid(), '!', false, 'member', 'user' || i || '@contoso.com', 'ext-' || i, true,
       '[]'::jsonb, now() - i * interval '1 second', now(), 1, gen_random_uuid(), %s
FROM generate_series(1, %s) AS i
"""
SEED_EMAILS = """
INSERT INTO accounts_workaccountvalue (attribute, position, type, "primary", value, account_id)
SELECT 'emails', 0, 'work', true, user_name, id FROM accounts_workaccount WHERE organization_id = %s
"""


@pytest.fixture
def seeded(organization):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's planner and statistics: the PostgreSQL pass runs it")
    with connection.cursor() as cursor:
        cursor.execute(SEED, [organization.pk, ACCOUNTS])
        cursor.execute(SEED_EMAILS, [organization.pk])
        cursor.execute("ANALYZE accounts_workaccount, accounts_workaccountvalue")
    return organization


def page_plan(organization, query: str) -> list[dict]:
    """Every node of the EXPLAIN of the first page's query, as the list view builds it."""
    request = SimpleNamespace(scim=SimpleNamespace(organization=organization))
    scope = extra_filter_kwargs_getter(WorkAccount)(request)
    queryset = UserFilterQuery.search(query, request).filter(**scope)
    queryset = queryset_post_processor_getter(WorkAccount)(request, queryset)
    plan = json.loads(queryset[:100].explain(format="json"))[0]["Plan"]
    nodes, pending = [], [plan]
    while pending:
        node = pending.pop()
        nodes.append(node)
        pending.extend(node.get("Plans", []))
    return nodes


def index_scans(nodes: list[dict]) -> dict[str, float]:
    """Index name -> rows the planner expects from it."""
    return {n["Index Name"]: n["Plan Rows"] for n in nodes if "Index Name" in n}


@pytest.mark.parametrize(
    "query",
    ['userName eq "USER4321@CONTOSO.COM"', 'userName eq "9f1c3f0e-1f7e-4a59-8d83-5c5b0bd1e0aa"'],
    ids=["match", "test-connection"],
)
def test_username_eq_is_a_unique_index_lookup_expecting_one_row(seeded, query):
    nodes = page_plan(seeded, query)

    assert index_scans(nodes) == {"account_username_ci_unique_per_org": 1}
    assert not [n for n in nodes if n["Node Type"] == "Seq Scan"]


def test_external_id_eq_is_an_index_lookup_expecting_one_row(seeded):
    nodes = page_plan(seeded, 'externalId eq "ext-4321"')

    assert index_scans(nodes) == {"account_org_external_id": 1}


def test_work_email_eq_looks_the_value_up_by_index_and_the_account_by_key(seeded):
    nodes = page_plan(seeded, 'emails[type eq "work"].value eq "user4321@contoso.com"')

    scans = index_scans(nodes)
    assert scans.get("accountvalue_value_ci") == 1
    assert "account_org_created" not in scans
    assert not [n for n in nodes if n["Node Type"] == "Seq Scan"]
