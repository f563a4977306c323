"""PostgreSQL binds the parameters and keeps the statements a connection runs again (issue 15)."""

import pytest
from django.db import connection

from accounts.models import WorkAccount


pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


@pytest.fixture(autouse=True)
def _postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("server-side binding and prepared statements are PostgreSQL's (the PostgreSQL pass)")


def test_parameters_are_sent_apart_from_the_sql():
    assert connection.settings_dict["OPTIONS"]["server_side_binding"] is True


def test_a_statement_run_again_is_prepared_once_on_the_connection():
    for user_name in [f"user{i}@contoso.com" for i in range(8)]:
        list(WorkAccount.objects.filter(user_name=user_name).values_list("id"))

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s",
            ['SELECT "accounts_workaccount"."id"%FROM "accounts_workaccount" WHERE%user_name" = $1%'],
        )
        [(prepared,)] = cursor.fetchall()

    assert prepared == 1
