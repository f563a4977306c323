"""
A create's transaction (issue 15): on PostgreSQL an account without a manager to look up is one
statement, run in autocommit outside any transaction (no BEGIN and COMMIT round trips); a create
that reads first, or runs inside a caller's transaction, keeps its atomic block. These tests run
outside the test transaction (transaction=True) to see what production sees.
"""

import pytest
from django.db import connection

from accounts.attributes import AccountAttributes, ContactValue
from accounts.exceptions import UniquenessConflict
from accounts.models import WorkAccount, WorkAccountValue
from accounts.services import account_create


pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("the PostgreSQL pass runs it (SQLite writes a create in three statements)")


def _attributes(user_name: str, **more) -> AccountAttributes:
    return AccountAttributes(
        user_name=user_name, emails=(ContactValue(value=user_name, type="work", primary=True),), **more
    )


def _writes_while_creating(call) -> list[tuple[str, bool]]:
    """(first word of each statement, whether it ran inside a transaction)."""
    seen = []

    def record(execute, sql, params, many, context):
        seen.append((sql.split(None, 1)[0].upper(), connection.in_atomic_block))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        call()
    return seen


def test_a_create_without_a_manager_is_one_statement_outside_a_transaction(organization):
    seen = _writes_while_creating(
        lambda: account_create(organization=organization, attributes=_attributes("ada@contoso.com"))
    )

    assert seen == [("WITH", False)]
    account = WorkAccount.objects.get(organization=organization, user_name="ada@contoso.com")
    assert list(WorkAccountValue.objects.filter(account=account).values_list("value", flat=True)) == [
        "ada@contoso.com"
    ]


def test_a_create_that_looks_its_manager_up_keeps_its_transaction(organization):
    boss = account_create(organization=organization, attributes=_attributes("boss@contoso.com")).account

    seen = _writes_while_creating(
        lambda: account_create(
            organization=organization,
            attributes=_attributes("ada@contoso.com", manager_reference=str(boss.pk)),
        )
    )

    assert seen and all(inside for _, inside in seen)
    assert WorkAccount.objects.get(user_name="ada@contoso.com").manager_id == boss.pk


def test_a_taken_user_name_outside_a_transaction_is_a_conflict_and_stores_nothing(organization):
    account_create(organization=organization, attributes=_attributes("ada@contoso.com"))

    with pytest.raises(UniquenessConflict):
        account_create(organization=organization, attributes=_attributes("ADA@contoso.com"))

    assert WorkAccount.objects.filter(organization=organization).count() == 1
    assert WorkAccountValue.objects.filter(account__organization=organization).count() == 1
    assert WorkAccount.objects.filter(organization=organization).exists()  # the connection still works
