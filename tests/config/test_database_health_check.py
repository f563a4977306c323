"""
A persistent PostgreSQL connection is checked before each request's first query (issue 15): a
quiet socket is taken without a round trip, and a connection the server closed is replaced
before it can fail the request.
"""

import json
import os
import urllib.request
import uuid

import psycopg
import pytest
from django.db import connection, connections

from tests.live_server import live_server


pytestmark = pytest.mark.postgres


@pytest.fixture(autouse=True)
def _postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("the socket check is config.postgresql's (the PostgreSQL pass)")


@pytest.mark.django_db
def test_a_quiet_connection_is_reused_without_a_select_1(monkeypatch):
    connection.ensure_connection()
    reused = connection.connection
    connection.health_check_done = False  # as at the start of a request (close_old_connections)
    round_trips = []
    backend = type(connections["default"])
    monkeypatch.setattr(backend, "is_usable", lambda self: round_trips.append(self) or True)

    connection.close_if_health_check_failed()

    assert (round_trips, connection.connection is reused, connection.health_check_done) == ([], True, True)


def _get(base_url: str, token: str, path: str) -> int:
    headers = {"Authorization": f"Bearer {token}"}
    request = urllib.request.Request(f"{base_url}/scim/v2{path}", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            json.loads(response.read())
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


# As a restart does; waits (up to 10 s) until each backend has gone.
TERMINATE = "SELECT count(pg_terminate_backend(pid, 10000)) FROM pg_stat_activity WHERE application_name = %s"


@pytest.mark.live_server_process
def test_requests_after_postgresql_closed_every_connection_are_answered(tmp_path):
    application = f"wa-health-{uuid.uuid4().hex[:8]}"  # psycopg's application_name: this server's
    with live_server(tmp_path, environment={"PGAPPNAME": application}) as (base_url, token):
        before = [_get(base_url, token, "/Users?count=1") for _ in range(12)]  # every worker connected
        admin_url = os.environ["DATABASE_URL"].rsplit("/", 1)[0] + "/postgres"
        with psycopg.connect(admin_url, autocommit=True) as admin:
            [(terminated,)] = admin.execute(TERMINATE, [application]).fetchall()
        after = [_get(base_url, token, "/Users?count=1") for _ in range(12)]

    assert (before, terminated > 0, after) == ([200] * 12, True, [200] * 12)
