"""
/healthz (the process answers) and /readyz (database reachable and migrated, Redis reachable when
configured): JSON naming each check, 503 when one fails, answered before host validation, the
HTTPS redirect and sessions, so a balancer's plain-HTTP probe by node address works.
"""

import json
import shutil
import socket
import subprocess
import time

import pytest
from django.db import connection
from django.test import Client, override_settings


pytestmark = pytest.mark.django_db
NODE_ADDRESS = "10.1.2.3"  # what a balancer puts in Host when it probes a node: not an allowed host


def _get(path: str, **headers):
    response = Client(headers={"Host": NODE_ADDRESS, **headers}).get(path)
    return response.status_code, json.loads(response.content), response


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def own_redis(tmp_path):
    """A redis-server of this test's own (never the shared one), stopped by the test when it wants."""
    port = _free_port()
    process = subprocess.Popen(
        [
            shutil.which("redis-server"),
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=open(tmp_path / "redis.log", "wb"),  # noqa: SIM115 (the process owns it)
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}/0", process
    if process.poll() is None:
        process.terminate()
        process.wait(timeout=10)


def test_healthz_answers_ok_without_touching_the_database(django_assert_num_queries):
    with django_assert_num_queries(0):
        status, body, response = _get("/healthz")

    assert (status, body) == (200, {"status": "ok", "checks": {"process": "ok"}})
    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"] == "no-store"


@override_settings(REDIS_URL="")
def test_readyz_is_ok_when_the_database_is_reachable_and_fully_migrated():
    status, body, _ = _get("/readyz")

    assert (status, body) == (200, {"status": "ok", "checks": {"database": "ok"}})


def test_readyz_names_an_unapplied_migration_and_answers_503():
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM django_migrations WHERE app = %s AND name = %s",
            ["provisioning_logs", "0011_event_client_address"],
        )

    with override_settings(REDIS_URL=""):
        status, body, _ = _get("/readyz")

    assert (status, body) == (
        503,
        {
            "status": "failed",
            "checks": {
                "database": "failed: unapplied migrations provisioning_logs.0011_event_client_address"
            },
        },
    )


def test_readyz_checks_redis_when_redis_url_is_set(own_redis):
    url, _process = own_redis
    with override_settings(REDIS_URL=url):
        status, body, _ = _get("/readyz")

    assert (status, body) == (200, {"status": "ok", "checks": {"database": "ok", "redis": "ok"}})


def test_readyz_answers_503_naming_redis_when_redis_is_down(own_redis):
    url, process = own_redis
    process.terminate()
    process.wait(timeout=10)

    with override_settings(REDIS_URL=url):
        status, body, _ = _get("/readyz")

    assert status == 503
    assert body == {"status": "failed", "checks": {"database": "ok", "redis": "failed: ConnectionError"}}


@override_settings(SECURE_SSL_REDIRECT=True, REDIS_URL="")
def test_probes_over_plain_http_are_not_redirected_to_https():
    assert _get("/healthz")[0] == 200
    assert _get("/readyz")[0] == 200


@override_settings(REDIS_URL="")
def test_readyz_costs_at_most_two_queries_once_warm(django_assert_max_num_queries):
    _get("/readyz")  # reads the migration files once per process

    with django_assert_max_num_queries(2):
        status, _body, _ = _get("/readyz")

    assert status == 200
