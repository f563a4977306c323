import dataclasses
import re

import pytest
from django.contrib.auth.hashers import is_password_usable
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from accounts.attributes import AccountAttributes
from accounts.exceptions import AccountNotFound, InvalidAttributeValue, UniquenessConflict
from accounts.models import WorkAccount
from accounts.services import (
    USERNAME_TAKEN,
    account_create,
    account_delete,
    account_set_password,
    account_update,
    admin_create,
    organization_create,
)
from accounts.statements import Statement


pytestmark = pytest.mark.django_db


def _create(organization, user_name="alice@contoso.com", **fields):
    return account_create(
        organization=organization, attributes=AccountAttributes(user_name=user_name, **fields)
    )


def test_database_rejects_case_variant_username_in_same_organization(organization):
    WorkAccount.objects.create(organization=organization, user_name="alice@contoso.com")
    with pytest.raises(IntegrityError), transaction.atomic():
        WorkAccount.objects.create(organization=organization, user_name="ALICE@contoso.com")


def test_same_username_allowed_in_two_organizations(organization, other_organization):
    _create(organization)
    result = _create(other_organization)
    assert result.account.organization == other_organization


def test_create_with_taken_username_raises_uniqueness_conflict_with_message(organization):
    _create(organization)
    with pytest.raises(UniquenessConflict) as raised:
        _create(organization, "Alice@Contoso.com")
    assert raised.value.message == USERNAME_TAKEN.format(user_name="Alice@Contoso.com")


def test_deleted_username_can_be_reused_and_tombstone_kept(organization):
    first = _create(organization).account
    account_delete(organization=organization, account_id=first.pk)
    second = _create(organization).account
    assert second.pk != first.pk
    assert WorkAccount.objects.get(pk=first.pk).deleted_at is not None


def test_update_returns_old_and_new_values_of_changed_properties(organization):
    account = _create(organization, title="Engineer").account
    result = account_update(
        organization=organization,
        account_id=account.pk,
        transform=lambda current: AccountAttributes(**{**current.__dict__, "title": "Manager"}),
    )
    assert [(c.name, c.old, c.new) for c in result.changes] == [("title", "Engineer", "Manager")]
    assert result.account.version == 2


def test_update_that_changes_nothing_writes_nothing(organization):
    account = _create(organization).account
    with CaptureQueriesContext(connection) as queries:
        result = account_update(organization=organization, account_id=account.pk, transform=lambda c: c)
    writes = [q["sql"] for q in queries if q["sql"].split()[0] in ("INSERT", "UPDATE", "DELETE")]
    assert writes == []
    assert result.changes == ()
    assert WorkAccount.objects.get(pk=account.pk).version == 1


def test_update_of_another_organizations_account_is_not_found(organization, other_organization):
    account = _create(organization).account
    with pytest.raises(AccountNotFound):
        account_update(organization=other_organization, account_id=account.pk, transform=lambda c: c)


def test_manager_from_another_organization_is_refused(organization, other_organization):
    outsider = _create(other_organization, "boss@fabrikam.com").account
    with pytest.raises(InvalidAttributeValue):
        _create(organization, manager_id=outsider.pk)


def test_account_cannot_be_its_own_manager(organization):
    account = _create(organization).account
    with pytest.raises(InvalidAttributeValue):
        account_update(
            organization=organization,
            account_id=account.pk,
            transform=lambda c: AccountAttributes(**{**c.__dict__, "manager_id": account.pk}),
        )


def test_duplicate_organization_slug_is_refused(organization):
    with pytest.raises(UniquenessConflict):
        organization_create(slug="contoso", name="Contoso again")


def test_invalid_organization_slug_is_refused(db):
    with pytest.raises(InvalidAttributeValue):
        organization_create(slug="not a slug!", name="Bad")


def test_update_refuses_a_weak_password_and_writes_nothing(organization):
    account = _create(organization).account
    with pytest.raises(InvalidAttributeValue) as raised:
        account_update(
            organization=organization,
            account_id=account.pk,
            transform=lambda attributes: dataclasses.replace(attributes, password="1", title="New"),
        )
    assert raised.value.message == (
        "password does not meet the password policy: This password is too short. It must contain at "
        "least 8 characters. This password is too common. This password is entirely numeric."
    )
    assert WorkAccount.objects.get(pk=account.pk).title is None


def test_set_password_and_admin_create_apply_the_same_rule(organization):
    account = _create(organization).account
    with pytest.raises(InvalidAttributeValue, match="^password does not meet the password policy: "):
        account_set_password(account=account, password="alice@contoso.com")
    with pytest.raises(InvalidAttributeValue, match="^password does not meet the password policy: "):
        admin_create(organization=organization, email="it@contoso.com", password="12345678")


def test_an_account_created_without_a_password_has_an_unusable_one_of_its_own(organization):
    first = account_create(
        organization=organization, attributes=AccountAttributes(user_name="ada@contoso.com")
    )
    second = account_create(
        organization=organization, attributes=AccountAttributes(user_name="bob@contoso.com")
    )

    stored = [WorkAccount.objects.get(pk=change.account.pk) for change in (first, second)]
    assert [account.has_usable_password() for account in stored] == [False, False]
    assert [account.check_password("") for account in stored] == [False, False]
    # Django's form: the prefix, then 40 characters drawn at random (each account its own).
    assert all(re.fullmatch(r"!\w{40}", account.password) for account in stored)
    assert stored[0].password != stored[1].password


def test_set_unusable_password_is_djangos_unusable_password():
    account = WorkAccount(user_name="ada@contoso.com")
    account.set_password("a long enough passphrase")
    account.set_unusable_password()

    assert (account.has_usable_password(), account.check_password("a long enough passphrase")) == (
        False,
        False,
    )
    assert not is_password_usable(account.password)


@pytest.mark.parametrize("account_id", ["not-a-uuid", "", -1, "6f1c1e9a-0000-4000-8000"])
def test_update_of_an_id_no_account_can_have_is_not_found(organization, account_id):
    with pytest.raises(AccountNotFound):
        account_update(organization=organization, account_id=account_id, transform=lambda current: current)


def test_a_fault_while_reading_the_account_is_not_reported_as_a_missing_account(organization, monkeypatch):
    # Fault injection: a defect in the compiled statement (a wrong column name, say), which
    # used to be caught with the invalid ids above and answered 404.
    account = _create(organization).account

    def broken(self, using="default", **arguments):
        raise ValueError("a defect in the statement")

    monkeypatch.setattr(Statement, "rows", broken)
    with pytest.raises(ValueError, match="a defect in the statement"):
        account_update(organization=organization, account_id=account.pk, transform=lambda current: current)
