"""
Kept SCIM tokens across processes (accounts.connections.token_cache, issue 15): the Procfile's
production `web` command with two worker processes and the real Redis keeps each token after its
first request, and a token revoked by another process (manage.py) is refused by every worker at
the next request.
"""

import json

import pytest

from tests.config.server_process import Server, base_environment, free_port, procfile, run


pytestmark = [pytest.mark.live_server_process, pytest.mark.sqlite_pass_only]
PUBLIC_HOST = "portal.example.com"
THROUGH_BALANCER = {"Host": PUBLIC_HOST, "X-Forwarded-Proto": "https"}
# A Redis database of this test's own: other tests renew the epoch of the suite's database.
REDIS_DATABASE = 13
TEST_CONNECTION = "/scim/v2/Users?filter=userName+eq+%22nobody%40contoso.com%22"
REQUESTS = 40


@pytest.fixture(scope="module")
def production(tmp_path_factory, redis_url):
    tmp = tmp_path_factory.mktemp("token-cache")
    port = free_port()
    env = base_environment(
        DJANGO_SETTINGS_MODULE="config.settings.production",
        DJANGO_SECRET_KEY="t" * 20 + "a-production-like-random-secret-value-0123456789",
        DJANGO_ALLOWED_HOSTS=PUBLIC_HOST,
        DATABASE_URL=f"sqlite:///{tmp / 'production.sqlite3'}",
        REDIS_URL=redis_url.rsplit("/", 1)[0] + f"/{REDIS_DATABASE}",
        PORTAL_BASE_URL=f"https://{PUBLIC_HOST}",
        TRUSTED_PROXIES="127.0.0.0/8",
        DJANGO_STATIC_ROOT=str(tmp / "static"),
        PORT=str(port),
        WEB_CONCURRENCY="2",
        GUNICORN_THREADS="4",
        QUERY_COUNT_HEADER="1",
    )
    commands = procfile()
    run(commands["release"], env)
    run("python manage.py create_org contoso --name Contoso", env)
    token = run("python manage.py create_scim_token contoso --name entra", env).strip()
    server = Server(commands["web"], env, port, tmp / "web.log")
    server.env, server.token = env, token
    yield server
    server.stop()


def send_test_connection(production):
    # Each request on a connection of its own, so both workers answer some.
    headers = {**THROUGH_BALANCER, "Authorization": f"Bearer {production.token}"}
    return production.get(TEST_CONNECTION, headers)


def test_every_worker_keeps_the_token_after_its_first_request(production):
    responses = [send_test_connection(production) for _ in range(REQUESTS)]

    assert [response.status for response in responses] == [200] * REQUESTS
    statements = [int(response.getheader("X-Query-Count")) for response in responses]
    # A worker's first request reads the token (and its first use is written); every later one
    # runs the filter's statement alone.
    assert statements.count(1) >= REQUESTS - 2 * 2, statements


def test_a_token_revoked_by_another_process_is_refused_by_every_worker(production):
    assert [send_test_connection(production).status for _ in range(REQUESTS)] == [200] * REQUESTS

    run("python manage.py revoke_scim_token contoso entra", production.env)
    responses = [send_test_connection(production) for _ in range(REQUESTS)]

    assert [response.status for response in responses] == [401] * REQUESTS
    assert json.loads(responses[-1].body) == {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
        "status": "401",
        "detail": "The bearer token is not valid: it is unknown, expired or revoked.",
    }
