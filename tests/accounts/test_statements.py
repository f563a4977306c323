"""accounts.statements: a queryset compiled once, run again with each call's own arguments."""

import pytest
from django.db import DatabaseError
from django.db.models import F

from accounts.attributes import AccountAttributes, ContactValue
from accounts.models import WorkAccount, WorkAccountValue
from accounts.services import account_create
from accounts.statements import Statement, save_columns


pytestmark = pytest.mark.django_db

ACCOUNT = WorkAccount._meta


def by_user_name():
    return Statement(
        lambda organization_id, user_name: WorkAccount.objects.filter(
            organization=organization_id, user_name=user_name
        ).values_list("id", "user_name", "is_active", "date_joined"),
        organization_id=ACCOUNT.get_field("organization"),
        user_name=ACCOUNT.get_field("user_name"),
    )


def create(organization, user_name: str) -> WorkAccount:
    emails = (ContactValue(value=user_name, type="work", primary=True),)
    return account_create(
        organization=organization, attributes=AccountAttributes(user_name=user_name, emails=emails)
    ).account


def test_each_call_binds_its_own_arguments(organization):
    alice, bob = create(organization, "alice@contoso.com"), create(organization, "bob@contoso.com")
    statement = by_user_name()

    assert [row[0] for row in statement.rows(organization_id=organization.pk, user_name=alice.user_name)] == [
        alice.pk
    ]
    assert [row[0] for row in statement.rows(organization_id=organization.pk, user_name=bob.user_name)] == [
        bob.pk
    ]


def test_the_organization_argument_scopes_the_rows(organization, other_organization):
    create(organization, "alice@contoso.com")

    rows = by_user_name().rows(organization_id=other_organization.pk, user_name="alice@contoso.com")

    assert rows == []


def test_rows_are_converted_as_values_list_converts_them(organization):
    alice = create(organization, "alice@contoso.com")
    expected = list(
        WorkAccount.objects.filter(pk=alice.pk).values_list("id", "user_name", "is_active", "date_joined")
    )

    rows = by_user_name().rows(organization_id=organization.pk, user_name="alice@contoso.com")

    assert rows == expected


def test_a_boolean_of_a_joined_row_comes_back_a_boolean(organization):
    alice = create(organization, "alice@contoso.com")
    statement = Statement(
        lambda account_id: WorkAccountValue.objects.filter(account=account_id).values_list("primary"),
        account_id=WorkAccountValue._meta.get_field("account"),
    )

    [(primary,)] = statement.rows(account_id=alice.pk)

    assert primary is True  # SQLite stores 1


def test_an_update_changes_the_rows_it_names_and_counts_them(organization):
    alice, bob = create(organization, "alice@contoso.com"), create(organization, "bob@contoso.com")
    statement = Statement(
        lambda account_id, title: WorkAccount.objects.filter(pk=account_id),
        update=lambda account_id, title: {"title": title, "version": F("version") + 1},
        account_id=ACCOUNT.pk,
        title=ACCOUNT.get_field("title"),
    )

    changed = statement.execute(account_id=alice.pk, title="Engineer")

    assert changed == 1
    assert WorkAccount.objects.get(pk=alice.pk).title == "Engineer"
    assert WorkAccount.objects.get(pk=bob.pk).title is None


def test_an_argument_the_sql_transforms_is_refused(organization):
    statement = Statement(
        lambda user_name: WorkAccount.objects.filter(user_name__startswith=user_name).values_list("id"),
        user_name=ACCOUNT.get_field("user_name"),
    )

    with pytest.raises(TypeError, match="does not reach the SQL as a parameter of its own"):
        statement.rows(user_name="alice")


def test_save_columns_writes_the_named_columns_only(organization):
    alice = create(organization, "alice@contoso.com")
    alice.title, alice.department, alice.roles = "Engineer", "Research", [{"value": "admin"}]

    save_columns(alice, ["roles", "title"])

    stored = WorkAccount.objects.get(pk=alice.pk)
    assert (stored.title, stored.roles, stored.department) == ("Engineer", [{"value": "admin"}], None)


def test_save_columns_writes_null(organization):
    alice = create(organization, "alice@contoso.com")
    WorkAccount.objects.filter(pk=alice.pk).update(title="Engineer")
    alice.title = None

    save_columns(alice, ["title"])

    assert WorkAccount.objects.get(pk=alice.pk).title is None


def test_save_columns_of_a_row_that_is_gone_fails(organization):
    alice = create(organization, "alice@contoso.com")
    WorkAccountValue.objects.filter(account=alice).delete()
    WorkAccount.objects.filter(pk=alice.pk).delete()

    with pytest.raises(DatabaseError, match="did not affect any rows"):
        save_columns(alice, ["title"])
