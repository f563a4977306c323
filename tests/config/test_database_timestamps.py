"""
Timestamps come back from PostgreSQL through psycopg's C loader (issue 15), exactly as Django's
own loader gives them: the same instant, microseconds and all, with Django's tzinfo.
"""

import datetime

import psycopg
import pytest
from django.db import DataError, connection
from django.db.backends.postgresql.psycopg_any import BaseTzLoader


pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

VALUES = [
    "2026-12-02 17:02:57.536777+00",
    "2026-12-02 17:02:57+00",
    "2026-12-02 12:02:57.5-05:00",
    "2026-03-29 01:30:00.000001+05:45",
    "0001-01-01 00:00:00+00",
    "9999-12-31 23:59:59.999999+00",
    "1969-07-20 20:17:40+00",
]


@pytest.fixture(autouse=True)
def _postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("config.postgresql's loader (the PostgreSQL pass)")


def read(values: list[str]) -> list:
    columns = ", ".join(f"%s::timestamptz AS t{i}" for i in range(len(values)))
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {columns}", values)
        return list(cursor.fetchone())


def read_with_djangos_loader(values: list[str]) -> list:
    class DjangoLoader(BaseTzLoader):
        timezone = connection.timezone

    with connection.cursor() as cursor:
        cursor.cursor.adapters.register_loader("timestamptz", DjangoLoader)
        cursor.execute(f"SELECT {', '.join(['%s::timestamptz'] * len(values))}", values)
        return list(cursor.fetchone())


def test_timestamps_are_read_by_psycopgs_c_loader():
    with connection.cursor() as cursor:
        loader = cursor.cursor.adapters.get_loader(
            psycopg.adapters.types["timestamptz"].oid, psycopg.pq.Format.TEXT
        )
    assert (loader.__module__, loader.timezone) == ("config.postgresql.base", connection.timezone)


def test_timestamps_are_the_values_djangos_loader_gives():
    ours, djangos = read(VALUES), read_with_djangos_loader(VALUES)

    assert ours == djangos
    assert [value.isoformat() for value in ours] == [value.isoformat() for value in djangos]


def test_timestamps_carry_djangos_tzinfo():
    assert {value.tzinfo for value in read(VALUES)} == {datetime.UTC} == {connection.timezone}


def test_a_null_timestamp_is_none():
    with connection.cursor() as cursor:
        cursor.execute("SELECT NULL::timestamptz")
        assert cursor.fetchone() == (None,)


def test_a_timestamp_python_cannot_hold_is_a_data_error_as_with_djangos_loader():
    for reader in (read, read_with_djangos_loader):
        with pytest.raises(DataError, match="after year 10K"):
            reader(["infinity"])
