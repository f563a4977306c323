"""
Entra's reads run statements compiled once per process (issue 15): after the first request of a
shape, a Test Connection, a match or a GET by id has the ORM compile no SQL at all.
"""

import pytest
from django.db.models.sql.compiler import SQLCompiler

from accounts.models import WorkAccount


pytestmark = pytest.mark.django_db
USER = "urn:ietf:params:scim:schemas:core:2.0:User"


@pytest.fixture
def compiled(monkeypatch):
    """The SELECTs the ORM compiles from now on."""
    statements = []
    original = SQLCompiler.as_sql

    def recording(self, *args, **kwargs):
        sql, params = original(self, *args, **kwargs)
        statements.append(sql)
        return sql, params

    monkeypatch.setattr(SQLCompiler, "as_sql", recording)
    return statements


@pytest.fixture
def account_id(scim):
    return scim.post("/Users", {"schemas": [USER], "userName": "ada@contoso.com"}).body["id"]


@pytest.mark.parametrize(
    "path",
    [
        '/Users?filter=userName eq "c0ffee00-0000-4000-8000-000000000000"',  # Test Connection
        '/Users?filter=userName eq "ADA@contoso.com"',  # the match
        "/Users/{id}",
    ],
    ids=["test-connection", "match", "get-by-id"],
)
def test_a_repeated_read_compiles_no_sql(scim, account_id, compiled, path):
    path = path.format(id=account_id)
    assert scim.get(path).status_code == 200
    compiled.clear()

    response = scim.get(path)

    assert (response.status_code, compiled) == (200, [])


def test_the_compiled_read_of_one_account_is_what_the_orm_reads(scim, account_id, organization):
    scim.patch(
        f"/Users/{account_id}",
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "add", "value": {"title": "Countess", "name.familyName": "Lovelace"}}],
        },
    )
    by_orm = WorkAccount.objects.filter(organization=organization).get(pk=account_id)

    account = WorkAccount.objects.get(organization=organization, deleted_at__isnull=True, pk=by_orm.pk)

    fields = WorkAccount._meta.concrete_fields
    assert [getattr(account, f.attname) for f in fields] == [getattr(by_orm, f.attname) for f in fields]
    assert (account._state.adding, account._state.db) == (False, "default")


def test_the_compiled_read_finds_no_account_of_another_organization(scim, account_id, other_organization):
    with pytest.raises(WorkAccount.DoesNotExist):
        WorkAccount.objects.get(organization=other_organization, deleted_at__isnull=True, pk=account_id)


def test_the_compiled_read_finds_no_deleted_account(scim, account_id, organization):
    assert scim.delete(f"/Users/{account_id}").status_code == 204
    pk = WorkAccount.objects.filter(organization=organization).get(pk=account_id).pk

    with pytest.raises(WorkAccount.DoesNotExist):
        WorkAccount.objects.get(organization=organization, deleted_at__isnull=True, pk=pk)
