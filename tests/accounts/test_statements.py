"""accounts.statements: a queryset compiled once, run again with each call's own arguments."""

import datetime
import uuid

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy

from accounts.attributes import AccountAttributes, ContactValue
from accounts.connections.services import connection_get_or_create
from accounts.models import WorkAccount, WorkAccountValue
from accounts.services import account_create
from accounts.statements import (
    Statement,
    insert_instances,
    insert_rows,
    insert_statement,
    run_together,
    save_columns,
    save_columns_after,
)
from provisioning_logs.models import CycleObject, ProvisioningCycle, ProvisioningEvent


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


# insert_rows: bulk_create's rows from one INSERT written once per row count ------------------------


def _cycle(organization):
    connection = connection_get_or_create(organization=organization)
    now = timezone.now()
    return ProvisioningCycle.objects.create(
        organization=organization, connection=connection, started_at=now, last_event_at=now
    )


def _event_row(cycle, **fields) -> dict:
    row = dict(
        organization=cycle.organization,
        connection=cycle.connection,
        cycle=cycle,
        created_at=datetime.datetime(2026, 12, 2, 3, 4, 5, 678_000, tzinfo=datetime.UTC),
        method="PATCH",
        path="/scim/v2/Users/1",
        action="Update",
        status="Success",
        http_status=200,
        resource_id=uuid.UUID("6f1c1e9a-0000-4000-8000-000000000001"),
        modified_properties=[{"name": "title", "new": "Engineer"}],
    )
    return row | fields


def test_insert_rows_returns_the_keys_in_row_order(organization):
    cycle = _cycle(organization)

    keys = insert_rows(ProvisioningEvent, [_event_row(cycle, path=f"/scim/v2/Users/{i}") for i in range(3)])

    assert [ProvisioningEvent.objects.get(pk=key).path for key in keys] == [
        "/scim/v2/Users/0",
        "/scim/v2/Users/1",
        "/scim/v2/Users/2",
    ]


def test_insert_rows_stores_what_bulk_create_stores(organization):
    cycle = _cycle(organization)
    [by_orm] = ProvisioningEvent.objects.bulk_create([ProvisioningEvent(**_event_row(cycle))])

    [key] = insert_rows(ProvisioningEvent, [_event_row(cycle)])

    def stored(pk):
        row = ProvisioningEvent.objects.filter(pk=pk).values().get()
        del row["id"]
        return row

    assert stored(key) == stored(by_orm.pk)


def test_insert_rows_gives_a_field_left_out_its_default(organization):
    cycle = _cycle(organization)

    [key] = insert_rows(ProvisioningEvent, [_event_row(cycle, modified_properties=[]) | {"detail": "x"}])

    event = ProvisioningEvent.objects.get(pk=key)
    assert (event.duration_ms, event.credential, event.reference_failure) == (0, "", False)


def test_insert_rows_ignoring_conflicts_skips_a_duplicate_and_writes_the_rest(organization):
    cycle = _cycle(organization)
    CycleObject.objects.create(cycle=cycle, object_key="user:ada")

    keys = insert_rows(
        CycleObject,
        [{"cycle": cycle.pk, "object_key": "user:ada"}, {"cycle": cycle.pk, "object_key": "user:grace"}],
        ignore_conflicts=True,
    )

    assert keys == []
    assert sorted(CycleObject.objects.filter(cycle=cycle).values_list("object_key", flat=True)) == [
        "user:ada",
        "user:grace",
    ]


def test_insert_rows_beyond_the_databases_parameter_limit_writes_them_all(organization):
    cycle = _cycle(organization)
    rows = [_event_row(cycle, path=f"/scim/v2/Users/{i}") for i in range(1500)]  # SQLite: 999 per statement

    keys = insert_rows(ProvisioningEvent, rows)

    assert len(keys) == len(set(keys)) == 1500
    assert ProvisioningEvent.objects.filter(cycle=cycle).count() == 1500
    assert ProvisioningEvent.objects.get(pk=keys[-1]).path == "/scim/v2/Users/1499"


def test_a_lower_bound_on_a_positive_counter_is_an_argument(organization):
    cycle = _cycle(organization)
    ProvisioningCycle.objects.filter(pk=cycle.pk).update(count_lookup=3)
    statement = Statement(
        lambda pk, at_least: ProvisioningCycle.objects.filter(pk=pk, count_lookup__gte=at_least).values_list(
            "id"
        ),
        pk=ProvisioningCycle._meta.pk,
        at_least=ProvisioningCycle._meta.get_field("count_lookup"),
    )

    assert (statement.rows(pk=cycle.pk, at_least=3), statement.rows(pk=cycle.pk, at_least=4)) == (
        [(cycle.pk,)],
        [],
    )


def test_insert_instances_stores_what_bulk_create_stores_and_gives_them_their_keys(organization):
    account = create(organization, "ada@contoso.com")

    def values():
        return [
            WorkAccountValue(
                account=account, attribute="phoneNumbers", position=i, type="work", value=f"+1 555 {i}"
            )
            for i in range(2)
        ]

    by_orm = WorkAccountValue.objects.bulk_create(values())
    inserted = values()

    insert_instances(inserted)

    def stored(row):
        stored = WorkAccountValue.objects.filter(pk=row.pk).values().get()
        del stored["id"]
        return stored

    assert [stored(row) for row in inserted] == [stored(row) for row in by_orm]
    assert [(row._state.adding, row._state.db) for row in inserted] == [(False, "default")] * 2


# Text no JSON or SQL quoting may alter: quotes, backslashes, control and line-separator characters,
# characters outside the BMP, JSON's and SQL's own syntax.
TRICKY_TEXT = 'say "hi"\\n\\\\ \t\n\r \u2028 ü 😀 \' ; -- {"a": [1]} null'


def test_insert_rows_stores_tricky_values_as_bulk_create_stores_them(organization):
    cycle = _cycle(organization)
    tricky = _event_row(
        cycle,
        request_body=TRICKY_TEXT,
        detail=TRICKY_TEXT,
        identity="null",
        resource_id=None,
        modified_properties=[{"name": TRICKY_TEXT, "old": None, "new": {"nested": [TRICKY_TEXT, 1.5, True]}}],
        created_at=datetime.datetime(
            2026, 12, 2, 3, 4, 5, 1, tzinfo=datetime.timezone(datetime.timedelta(hours=-7))
        ),
    )
    tricky["cycle"] = None
    [by_orm] = ProvisioningEvent.objects.bulk_create([ProvisioningEvent(**tricky)])

    # Three rows: more parameters than psycopg caches, so PostgreSQL gets them as JSON rows.
    keys = insert_rows(ProvisioningEvent, [tricky] * 3)

    def stored(pk):
        row = ProvisioningEvent.objects.filter(pk=pk).values().get()
        del row["id"]
        return row

    assert [stored(key) for key in keys] == [stored(by_orm.pk)] * 3
    assert stored(keys[0])["request_body"] == TRICKY_TEXT


@pytest.mark.parametrize("rows", [1, 3], ids=["values", "json-rows"])
def test_insert_rows_converts_values_of_another_type_as_bulk_create_converts_them(organization, rows):
    # Text and booleans of the column's own type skip the ORM's preparation; anything else gets it.
    cycle = _cycle(organization)
    converted = _event_row(
        cycle,
        method=gettext_lazy("PATCH"),
        path=SafeString("/scim/v2/Users/<1>"),
        identity=12345,
        detail=uuid.UUID("6f1c1e9a-0000-4000-8000-000000000002"),
        reference_failure=1,
        external_id=None,
        resource_id="6f1c1e9a-0000-4000-8000-000000000003",
        duration_ms="7",
        http_status=True,
    )
    del converted["external_id"]  # left out: the field's default
    [by_orm] = ProvisioningEvent.objects.bulk_create([ProvisioningEvent(**converted)])

    keys = insert_rows(ProvisioningEvent, [converted] * rows)

    def stored(pk):
        row = ProvisioningEvent.objects.filter(pk=pk).values().get()
        del row["id"]
        return row

    assert [stored(key) for key in keys] == [stored(by_orm.pk)] * rows
    first = stored(keys[0])
    assert (first["identity"], first["reference_failure"], first["duration_ms"], first["http_status"]) == (
        "12345",
        True,
        7,
        1,
    )
    assert first["resource_id"] == uuid.UUID("6f1c1e9a-0000-4000-8000-000000000003")


@pytest.mark.postgres
def test_insert_rows_on_postgresql_sends_any_number_of_rows_beyond_two_as_one_statement_text(organization):
    if connection.vendor != "postgresql":
        pytest.skip("the PostgreSQL pass runs it")
    cycle = _cycle(organization)
    with CaptureQueriesContext(connection) as captured:
        for count in (3, 17, 40):
            insert_rows(ProvisioningEvent, [_event_row(cycle, path=f"/{count}/{i}") for i in range(count)])

    texts = {query["sql"].split(" SELECT ")[0] for query in captured.captured_queries}
    assert len(texts) == 1  # psycopg converts it once and PostgreSQL may keep it prepared
    assert ProvisioningEvent.objects.filter(cycle=cycle).count() == 60


def test_no_signal_receiver_listens_to_work_account_saves():
    # accounts.services.work_accounts._insert_account writes a new account without Model.save(),
    # so it sends no pre_save/post_save: a receiver connected for WorkAccount must make it save().
    from django.db.models.signals import post_save, pre_save

    assert pre_save._live_receivers(WorkAccount) == ([], [])
    assert post_save._live_receivers(WorkAccount) == ([], [])


def test_a_created_account_is_stored_as_save_stores_it(organization):
    from accounts.attributes import AccountAttributes

    created = account_create(
        organization=organization,
        attributes=AccountAttributes(
            user_name="ada@contoso.com", display_name="Ada", password="a-long-enough-passphrase-42"
        ),
    ).account
    by_save = WorkAccount(
        organization=organization,
        user_name="grace@contoso.com",
        display_name="Ada",
        date_joined=created.date_joined,
        updated_at=created.updated_at,
        role=created.role,
    )
    by_save.set_password("a-long-enough-passphrase-42")
    by_save.save(force_insert=True)

    def stored(pk):
        row = WorkAccount.objects.filter(pk=pk).values().get()
        return {
            name: value
            for name, value in row.items()
            if name not in ("id", "user_name", "password", "security_stamp")
        }

    assert stored(created.pk) == stored(by_save.pk)  # a random security stamp each, as save() gives
    assert WorkAccount.objects.get(pk=created.pk).security_stamp is not None
    assert WorkAccount.objects.get(pk=created.pk).check_password("a-long-enough-passphrase-42")
    assert created._state.adding is False and created._password is None


def _unsaved_account(organization, user_name: str) -> WorkAccount:
    now = timezone.now()
    account = WorkAccount(organization=organization, user_name=user_name, date_joined=now, updated_at=now)
    account.set_unusable_password()
    return account


def _rename(organization, old: str, new: str) -> tuple[str, list]:
    return Statement(
        lambda organization_id, user_name: WorkAccount.objects.filter(
            organization=organization_id, user_name=user_name
        ),
        update=lambda organization_id, user_name: {"display_name": new},
        organization_id=ACCOUNT.get_field("organization"),
        user_name=ACCOUNT.get_field("user_name"),
    ).bound(organization_id=organization.pk, user_name=old)


@pytest.mark.postgres
def test_run_together_runs_each_statement_once_and_counts_the_last(organization):
    if connection.vendor != "postgresql":
        pytest.skip("the PostgreSQL pass runs it")
    create(organization, "old@contoso.com")
    account = _unsaved_account(organization, "ada@contoso.com")
    value = WorkAccountValue(account=account, attribute="emails", position=0, value="ada@contoso.com")

    with CaptureQueriesContext(connection) as captured:
        changed = run_together(
            [
                insert_statement([account]),
                insert_statement([value]),
                _rename(organization, "old@contoso.com", "Renamed"),
            ]
        )

    assert changed == 1
    assert len(captured.captured_queries) == 1
    assert list(WorkAccountValue.objects.filter(account=account).values_list("value", flat=True)) == [
        "ada@contoso.com"
    ]
    assert WorkAccount.objects.get(user_name="old@contoso.com").display_name == "Renamed"
    assert WorkAccount.objects.filter(organization=organization, user_name="ada@contoso.com").count() == 1


@pytest.mark.postgres
def test_run_together_stores_nothing_when_one_statement_fails(organization):
    if connection.vendor != "postgresql":
        pytest.skip("the PostgreSQL pass runs it")
    create(organization, "taken@contoso.com")
    fresh, duplicate = (
        _unsaved_account(organization, name) for name in ("fresh@contoso.com", "TAKEN@contoso.com")
    )

    with pytest.raises(IntegrityError), transaction.atomic():
        run_together(
            [insert_statement([fresh]), insert_statement([duplicate]), _rename(organization, "x", "y")]
        )

    assert not WorkAccount.objects.filter(user_name="fresh@contoso.com").exists()
    assert WorkAccount.objects.filter(organization=organization).count() == 1


def test_run_together_is_refused_where_the_database_has_no_data_modifying_with(organization):
    if connection.vendor == "postgresql":
        pytest.skip("the SQLite pass runs it")
    with pytest.raises(TypeError):
        run_together(
            [insert_statement([_unsaved_account(organization, "ada@contoso.com")]), ("SELECT 1", [])]
        )


@pytest.mark.postgres
def test_run_together_of_one_statement_runs_it_as_it_is(organization):
    if connection.vendor != "postgresql":
        pytest.skip("the PostgreSQL pass runs it")
    create(organization, "old@contoso.com")

    with CaptureQueriesContext(connection) as captured:
        changed = run_together([_rename(organization, "old@contoso.com", "Renamed")])

    assert changed == 1
    assert captured.captured_queries[0]["sql"].startswith("UPDATE ")
    assert WorkAccount.objects.get(user_name="old@contoso.com").display_name == "Renamed"


@pytest.mark.postgres
def test_save_columns_after_of_a_row_that_is_gone_fails(organization):
    if connection.vendor != "postgresql":
        pytest.skip("the PostgreSQL pass runs it")
    account = create(organization, "gone@contoso.com")
    WorkAccount.objects.filter(pk=account.pk).delete()
    account.display_name = "Nobody"

    with pytest.raises(DatabaseError), transaction.atomic():
        save_columns_after([], account, ["display_name"])
