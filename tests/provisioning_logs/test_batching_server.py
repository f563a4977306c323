"""
The batched provisioning log through the production web process (the Procfile's `web` command,
production settings, several workers): after a burst of concurrent SCIM requests every answered
request is one event with the status it was answered with, and the cycle's counters and the
connection's health count exactly those events; also when the workers are recycled mid-burst,
when the server is restarted gracefully (SIGHUP) mid-burst, and when it is stopped (SIGTERM)
while events are still queued. PROVISIONING_LOG_LINGER_MS holds each batch back so that, at every
stop, events are still queued in the exiting worker: only its exit flush can save them.
"""

import http.client
import json
import os
import shlex
import signal
import threading
import time
import uuid

import pytest

from tests.config.server_process import Server, base_environment, free_port, procfile, run
from tests.live_server import _database


pytestmark = pytest.mark.live_server_process
HOST = "portal.example.com"
THREADS = 8
ROUNDS = 12  # per thread: a lookup, a create, a GET of an unknown id: 288 requests
UNKNOWN_ID = "5171a35d-8207-4e06-8ce2-000000000000"

STATE = """
import json
from provisioning_logs.models import ConnectionHealth, CycleObject, ProvisioningCycle, ProvisioningEvent
events = ProvisioningEvent.objects.filter(organization__slug={slug!r})
cycles = ProvisioningCycle.objects.filter(organization__slug={slug!r})
health = ConnectionHealth.objects.get(connection__organization__slug={slug!r})
print(json.dumps({{
    "events": list(events.values_list("request_id", "http_status", "status")),
    "cycles": list(cycles.values("count_lookup", "count_create", "count_other", "count_success",
                                 "count_failure", "count_skipped")),
    "objects": CycleObject.objects.filter(cycle__in=cycles).count(),
    "health": [health.window_successes, health.window_failures, health.recording_failures],
}}))
"""


@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    """One migrated database (the pass's PostgreSQL, else SQLite) and the production environment."""
    tmp = tmp_path_factory.mktemp("batching")
    with _database(tmp) as database_url:
        env = base_environment(
            DJANGO_SETTINGS_MODULE="config.settings.production",
            DJANGO_SECRET_KEY="b" * 20 + "a-production-like-random-secret-value-0123456789",
            DJANGO_ALLOWED_HOSTS=f"{HOST},127.0.0.1",
            DATABASE_URL=database_url,
            REDIS_URL=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
            PORTAL_BASE_URL=f"https://{HOST}",
            TRUSTED_PROXIES="127.0.0.0/8",
            DJANGO_STATIC_ROOT=str(tmp / "static"),
            SCIM_RATE_LIMIT="0",
            WEB_CONCURRENCY="3",
            GUNICORN_THREADS="4",
        )
        run(procfile()["release"], env)
        yield tmp, env


def _start(deployment, slug: str, **settings: str) -> Server:
    tmp, env = deployment
    run(f"python manage.py create_org {slug} --name {slug}", env)
    token = run(f"python manage.py create_scim_token {slug}", env).strip()
    port = free_port()
    pid_file = tmp / f"{slug}.pid"
    server_env = {**env, "PORT": str(port), "GUNICORN_CMD_ARGS": f"--pid {pid_file}", **settings}
    server = Server(procfile()["web"], server_env, port, tmp / f"{slug}.log")
    server.token, server.slug, server.env, server.pid_file = token, slug, server_env, pid_file
    return server


def _send(server: Server, method: str, path: str, body: dict | None = None) -> tuple[str, int | None]:
    """(request id, status): None when no answer came (the request may never have reached Django)."""
    request_id = str(uuid.uuid4())
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    headers = {
        "Host": HOST,
        "X-Forwarded-Proto": "https",
        "Authorization": f"Bearer {server.token}",
        "Content-Type": "application/scim+json",
        "User-Agent": "Azure Active Directory SCIM Client",
        "client-request-id": request_id,
        "Connection": "close",
    }
    try:
        connection.request(
            method, f"/scim/v2{path}", body=json.dumps(body) if body else None, headers=headers
        )
        response = connection.getresponse()
        response.read()
        return request_id, response.status
    except OSError:
        return request_id, None
    finally:
        connection.close()


def _burst(server: Server, *, halfway=None) -> list[tuple[str, int | None]]:
    sent: list[tuple[str, int | None]] = []
    done = threading.Semaphore(0)

    def client(number: int):
        for round_number in range(ROUNDS):
            name = f"user{number}-{round_number}-{uuid.uuid4().hex[:6]}@contoso.com"
            sent.append(_send(server, "GET", f'/Users?filter=userName+eq+"{name}"'))
            sent.append(_send(server, "POST", "/Users", {"userName": name, "active": True}))
            sent.append(_send(server, "GET", f"/Users/{UNKNOWN_ID}"))
            if round_number == ROUNDS // 2:
                done.release()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    if halfway is not None:
        for _ in range(THREADS):
            done.acquire()
        halfway()
    for thread in threads:
        thread.join()
    return sent


def _state(server: Server) -> dict:
    output = run(f"python manage.py shell -c {shlex.quote(STATE.format(slug=server.slug))}", server.env)
    return json.loads(output.strip().splitlines()[-1])


def _settled_state(server: Server, answered: int) -> dict:
    """The log once it holds every answered request (the flusher's last batch may still be on its way)."""
    deadline = time.monotonic() + 30
    while True:
        state = _state(server)
        if len(state["events"]) >= answered or time.monotonic() > deadline:
            return state
        time.sleep(0.5)


def _assert_exact(sent, state) -> None:
    answered = {request_id: status for request_id, status in sent if status is not None}
    unanswered = {request_id for request_id, status in sent if status is None}
    logged = [request_id for request_id, _, _ in state["events"]]
    assert len(logged) == len(set(logged)), "an event was written twice"
    statuses = {request_id: status for request_id, status, _ in state["events"]}
    missing = set(answered) - set(statuses)
    assert not missing, f"{len(missing)} answered requests have no event"
    assert {request_id: statuses[request_id] for request_id in answered} == answered
    assert set(statuses) - set(answered) <= unanswered  # only a request whose answer was lost
    by_status = {"Success": 0, "Failure": 0, "Skipped": 0}
    for _, _, status in state["events"]:
        by_status[status] += 1
    (cycle,) = state["cycles"]
    assert (cycle["count_success"], cycle["count_failure"], cycle["count_skipped"]) == (
        by_status["Success"],
        by_status["Failure"],
        by_status["Skipped"],
    )
    assert cycle["count_lookup"] + cycle["count_create"] + cycle["count_other"] == len(statuses)
    assert state["health"] == [by_status["Success"] + by_status["Skipped"], by_status["Failure"], 0]


def _statuses(sent) -> dict:
    counts = {}
    for _, status in sent:
        counts[status] = counts.get(status, 0) + 1
    return counts


def test_a_burst_of_concurrent_requests_is_logged_exactly(deployment):
    server = _start(deployment, "burst")
    try:
        sent = _burst(server)
        state = _settled_state(server, len(sent))
    finally:
        server.stop()

    assert _statuses(sent) == {200: THREADS * ROUNDS, 201: THREADS * ROUNDS, 404: THREADS * ROUNDS}
    _assert_exact(sent, state)
    assert state["objects"] == THREADS * ROUNDS + 1  # each user (looked up, then created), and the unknown id


def test_workers_recycled_mid_burst_write_their_queued_events_before_exiting(deployment):
    server = _start(
        deployment,
        "recycled",
        GUNICORN_MAX_REQUESTS="40",
        GUNICORN_MAX_REQUESTS_JITTER="0",
        PROVISIONING_LOG_LINGER_MS="2000",
    )
    try:
        sent = _burst(server)
        state = _settled_state(server, len(sent))
        recycled = server.log().count("Autorestarting worker")
    finally:
        server.stop()

    assert recycled >= 3
    _assert_exact(sent, state)


def test_a_graceful_restart_mid_burst_loses_no_event(deployment):
    server = _start(deployment, "restarted", PROVISIONING_LOG_LINGER_MS="2000")

    def restart():
        os.kill(int(server.pid_file.read_text()), signal.SIGHUP)

    try:
        sent = _burst(server, halfway=restart)
        state = _settled_state(server, len(sent))
        log = server.log()
    finally:
        server.stop()

    assert "Hang up: Master" in log
    assert _statuses(sent).get(None, 0) <= 2  # the restart refuses nothing, or almost nothing
    _assert_exact(sent, state)


def test_stopping_the_server_right_after_a_burst_writes_every_queued_event(deployment):
    server = _start(deployment, "stopped", PROVISIONING_LOG_LINGER_MS="5000")
    sent = _burst(server)
    server.stop()  # SIGTERM while the last batches wait out their 5 s
    state = _state(server)

    assert None not in _statuses(sent)
    _assert_exact(sent, state)
