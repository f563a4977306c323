"""
Membership PATCH costs a fixed number of queries, whatever the size of the group: Entra adds and
removes members one at a time, so a write must never read the member list.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import GroupMembership, WorkAccount


# These count the SCIM work itself; the provisioning log adds a fixed cost, tested on its own.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("without_provisioning_log")]

GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
MAX_QUERIES = 6
# The test runs inside a transaction, so the service's atomic block adds SAVEPOINT/RELEASE
# statements that production does not send (there, one BEGIN/COMMIT at most): not counted.
TRANSACTION_CONTROL = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT", "BEGIN", "COMMIT")
SMALL, LARGE = 10, 5_000


@pytest.fixture
def make_group(scim, organization):
    """A group with `size` members (bulk-created accounts) and one account outside it."""

    def make(size: int) -> tuple[str, list[str], str]:
        group_id = scim.post("/Groups", {"schemas": [GROUP], "displayName": f"Group of {size}"}).body["id"]
        accounts = WorkAccount.objects.bulk_create(
            WorkAccount(organization=organization, user_name=f"g{size}-{n:05}@contoso.com")
            for n in range(size + 1)
        )
        members, outsider = accounts[:-1], accounts[-1]
        GroupMembership.objects.bulk_create(
            (GroupMembership(group_id=group_id, account=a) for a in members), batch_size=2000
        )
        return group_id, [str(a.pk) for a in members], str(outsider.pk)

    return make


def counted_patch(scim, group_id: str, operation: dict) -> int:
    """The number of queries one PATCH costs (authentication included); it must answer 204."""
    body = {"schemas": [PATCH_OP], "Operations": [operation]}
    with CaptureQueriesContext(connection) as context:
        response = scim.patch(f"/Groups/{group_id}", body)
    assert response.status_code == 204, response.body
    return len([q for q in context.captured_queries if not q["sql"].startswith(TRANSACTION_CONTROL)])


def add(user_id: str) -> dict:
    return {"op": "Add", "path": "members", "value": [{"$ref": None, "value": user_id}]}


def test_adding_one_member_costs_the_same_for_10_and_5000_members(scim, make_group):
    costs = []
    for size in (SMALL, LARGE):
        group_id, _, outsider = make_group(size)
        costs.append(counted_patch(scim, group_id, add(outsider)))
        assert GroupMembership.objects.filter(group_id=group_id).count() == size + 1

    assert costs[0] == costs[1] <= MAX_QUERIES, costs


def test_removing_one_member_legacy_costs_the_same_for_10_and_5000_members(scim, make_group):
    costs = []
    for size in (SMALL, LARGE):
        group_id, members, _ = make_group(size)
        operation = {"op": "Remove", "path": "members", "value": [{"$ref": None, "value": members[3]}]}
        costs.append(counted_patch(scim, group_id, operation))
        assert GroupMembership.objects.filter(group_id=group_id).count() == size - 1

    assert costs[0] == costs[1] <= MAX_QUERIES, costs


def test_removing_one_member_by_value_filter_costs_the_same_for_10_and_5000_members(scim, make_group):
    costs = []
    for size in (SMALL, LARGE):
        group_id, members, _ = make_group(size)
        operation = {"op": "remove", "path": f'members[value eq "{members[3]}"]'}
        costs.append(counted_patch(scim, group_id, operation))
        assert GroupMembership.objects.filter(group_id=group_id).count() == size - 1

    assert costs[0] == costs[1] <= MAX_QUERIES, costs


def test_adding_an_existing_member_costs_the_same_for_10_and_5000_members(scim, make_group):
    costs = []
    for size in (SMALL, LARGE):
        group_id, members, _ = make_group(size)
        costs.append(counted_patch(scim, group_id, add(members[5])))
        assert GroupMembership.objects.filter(group_id=group_id).count() == size

    assert costs[0] == costs[1] <= MAX_QUERIES, costs


@pytest.mark.parametrize("shape", ["add", "remove-legacy", "remove-filter"])
def test_membership_patch_never_reads_the_member_list(scim, make_group, shape):
    group_id, members, outsider = make_group(SMALL)
    operation = {
        "add": add(outsider),
        "remove-legacy": {"op": "Remove", "path": "members", "value": [{"value": members[0]}]},
        "remove-filter": {"op": "remove", "path": f'members[value eq "{members[0]}"]'},
    }[shape]

    with CaptureQueriesContext(connection) as context:
        counted_patch(scim, group_id, operation)

    table = GroupMembership._meta.db_table
    reads = [
        q["sql"] for q in context.captured_queries if q["sql"].startswith("SELECT") and table in q["sql"]
    ]
    # At most an EXISTS per added account (is it a member already?); never the group's member rows.
    assert all("EXISTS(" in sql for sql in reads), reads
