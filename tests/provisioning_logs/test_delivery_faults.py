"""
Quarantine mail delivery with real parts and real faults: a Redis broker of our own
(redis-server on a free port, stopped and started again on that port), a Celery worker process,
gunicorn serving SCIM, and a real SMTP conversation with a local sink (tests/provisioning_logs/
smtp_sink.py) that can refuse or stall. The mail must arrive exactly once whatever fails: Redis
down while the quarantine happens, the mail server answering 451, the worker killed mid-send.

Server, worker and the small `manage.py shell` scripts share a throwaway PostgreSQL database
(created like tests/live_server.py does, migrated with `manage.py migrate`), so no pytest-django
transaction wraps the code under test and the outbox rows are committed for real.

Needs PostgreSQL (DATABASE_URL) and redis-server. On the SQLite pass these tests are skipped: the
PostgreSQL pass runs them (and CI requires that pass). When DATABASE_URL names PostgreSQL, a
missing service fails the test in CI (CI=true) and skips it, with the reason, elsewhere.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.live_server import ROOT, _database, _wait_until_up


pytestmark = [pytest.mark.postgres, pytest.mark.live_server_process]

IN_CI = os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")
WAIT = 30  # seconds: the bound of every wait
CONNECTION_NAME = "Microsoft Entra ID"


def _unavailable(reason: str):
    if IN_CI:
        pytest.fail(f"{reason} (CI must provide it)", pytrace=False)
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait(condition, what: str, timeout: float = WAIT, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def _log_tail(path: Path, size: int = 3000) -> str:
    try:
        return path.read_bytes()[-size:].decode(errors="replace")
    except OSError:
        return ""


# The processes ------------------------------------------------------------------------------------


class RedisServer:
    """redis-server without persistence on a fixed port, so it can be stopped and started again."""

    def __init__(self, port: int, log: Path):
        self.port, self.log = port, log
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [
                    shutil.which("redis-server"),
                    "--port",
                    str(self.port),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        _wait(self._answers_ping, f"redis-server on port {self.port}\n{_log_tail(self.log)}")

    def _answers_ping(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"redis-server exited:\n{_log_tail(self.log)}")
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(64).startswith(b"+PONG")
        except OSError:
            return False

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        if self.running:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


class Worker:
    """`celery -A config worker`, solo pool, its log in a file."""

    def __init__(self, env: dict, log: Path):
        self.env, self.log = env, log
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.log.write_bytes(b"")
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "config",
                    "worker",
                    "--pool=solo",
                    "--concurrency=1",
                    "--without-heartbeat",
                    "--without-mingle",
                    "--without-gossip",
                    "-Q",
                    "celery",
                    "-n",
                    f"delivery-faults-{uuid.uuid4().hex[:8]}@%h",
                    "--loglevel=INFO",
                ],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        _wait(self._ready, "the Celery worker to be ready")

    def _ready(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"the Celery worker exited:\n{_log_tail(self.log)}")
        return b" ready." in self.log.read_bytes()

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: no warm shutdown, no chance to ack or roll anything back itself."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.running:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


@dataclass
class Stack:
    env: dict
    database_url: str
    base_url: str
    redis: RedisServer
    worker: Worker
    sink: object  # SmtpSink
    server_log: Path | None = None  # the web process's output

    def manage(self, *args, timeout: float = 60) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        return result.stdout

    def shell(self, code: str) -> dict:
        """Run code in `manage.py shell`; it prints one JSON line, returned parsed."""
        output = self.manage("shell", "--no-imports", "-c", code)
        return json.loads(output.strip().splitlines()[-1])

    def sql(self, query: str, *params):
        import psycopg

        with psycopg.connect(self.database_url, autocommit=True) as connection:
            return connection.execute(query, params).fetchall()

    def outbox(self, organization_id: int) -> list[dict]:
        rows = self.sql(
            "SELECT id, kind, status, attempts, last_error FROM provisioning_logs_outboxmessage "
            "WHERE organization_id = %s ORDER BY id",
            organization_id,
        )
        return [
            dict(zip(("id", "kind", "status", "attempts", "last_error"), row, strict=True)) for row in rows
        ]

    def requeue(self) -> int:
        """The periodic re-queue, now (older_than=0: the rows were written seconds ago)."""
        return self.shell(
            "import json\n"
            "from datetime import timedelta\n"
            "from provisioning_logs.notifications import outbox_requeue\n"
            "print(json.dumps(outbox_requeue(older_than=timedelta(0))))\n"
        )


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        pytest.skip(
            "runs in the PostgreSQL pass (DATABASE_URL=postgres://…): the worker and the server "
            "need a database shared between processes"
        )
    try:
        import psycopg

        psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", connect_timeout=3).close()
    except Exception as exc:
        _unavailable(f"PostgreSQL is not reachable at DATABASE_URL: {exc}")
    if shutil.which("redis-server") is None:
        _unavailable("redis-server is not installed (apt-get install redis-server)")
    try:
        from tests.provisioning_logs.smtp_sink import SmtpSink
    except ImportError:
        _unavailable("aiosmtpd is not installed (pip install -e '.[test]')")

    tmp_path = tmp_path_factory.mktemp("delivery_faults")
    redis = RedisServer(_free_port(), tmp_path / "redis.log")
    with _database(tmp_path) as database_url, SmtpSink() as sink:
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "DJANGO_SETTINGS_MODULE": "config.settings.base",
            "DJANGO_DEBUG": "false",
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
            "REDIS_URL": redis.url,
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "EMAIL_HOST": sink.host,
            "EMAIL_PORT": str(sink.port),
            "EMAIL_TIMEOUT": "10",
            "DJANGO_LOG_LEVEL": "INFO",
        }
        worker = Worker(env, tmp_path / "worker.log")
        server_log = open(tmp_path / "server.log", "w+b")  # noqa: SIM115 (closed in finally)
        server = None
        try:
            redis.start()
            stack = Stack(env, database_url, "", redis, worker, sink, tmp_path / "server.log")
            stack.manage("migrate", "--noinput", timeout=120)
            port = _free_port()
            server = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "config.wsgi:application",
                    "-b",
                    f"127.0.0.1:{port}",
                    "-w",
                    "1",
                ],
                cwd=ROOT,
                env=env,
                stdout=server_log,
                stderr=subprocess.STDOUT,
            )
            stack.base_url = f"http://127.0.0.1:{port}"
            _wait_until_up(stack.base_url, server, server_log)
            worker.start()
            yield stack
        finally:
            worker.stop()
            if server is not None:
                server.terminate()
                try:
                    server.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    server.kill()
            server_log.close()
            redis.stop()


@pytest.fixture
def live(stack) -> Stack:
    """The stack with Redis and the worker up and the sink accepting and empty."""
    if not stack.redis.running:
        stack.redis.start()
    if not stack.worker.running:
        stack.worker.start()
    stack.sink.reset()
    yield stack
    stack.sink.reset()


@dataclass
class Organization:
    id: int
    name: str
    address: str
    valid_token: str
    revoked_token: str


@pytest.fixture
def organization(live) -> Organization:
    """A fresh organization with notification address, a valid and a revoked secret token."""
    slug = f"faults-{uuid.uuid4().hex[:8]}"
    created = live.shell(
        "import json\n"
        "from accounts.services import organization_create\n"
        "from provisioning_logs.notifications import notification_settings_save\n"
        "from accounts.connections.services import scim_token_create, scim_token_revoke\n"
        f"org = organization_create(slug={slug!r}, name={slug.title()!r})\n"
        "valid = scim_token_create(organization=org, label='entra').secret\n"
        "old = scim_token_create(organization=org, label='old').secret\n"
        "scim_token_revoke(organization=org, label='old')\n"
        f"notification_settings_save(connection=None, organization=org, addresses='ops@{slug}.example',"
        " send_on_failure=False)\n"
        "print(json.dumps({'id': org.pk, 'valid': valid, 'revoked': old}))\n"
    )
    return Organization(
        id=created["id"],
        name=slug.title(),
        address=f"ops@{slug}.example",
        valid_token=created["valid"],
        revoked_token=created["revoked"],
    )


def scim_get(stack: Stack, token: str, path: str = "/scim/v2/Users") -> tuple[int, dict, float]:
    """(status, body, seconds) of one SCIM request to the live server."""
    request = urllib.request.Request(stack.base_url + path, headers={"Authorization": f"Bearer {token}"})
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=WAIT) as response:
            status, body = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, body = error.code, error.read()
    return status, json.loads(body), time.monotonic() - started


def quarantine_for_credentials(stack: Stack, organization: Organization) -> list[float]:
    """Three requests with the revoked token (QUARANTINE_CREDENTIAL_FAILURES); their durations."""
    durations = []
    for _attempt in range(3):
        status, body, seconds = scim_get(stack, organization.revoked_token)
        assert (status, body["status"]) == (401, "401")
        assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
        durations.append(seconds)
    return durations


def quarantine_mail(stack: Stack, organization: Organization) -> dict:
    # The server writes events (and judges quarantine) just after answering: batched log.
    [row] = _wait(lambda: stack.outbox(organization.id), "the quarantine's outbox row")
    assert row["kind"] == "quarantine_entered"
    return row


def received_for(stack: Stack, outbox_id: int) -> list:
    return [message for message in stack.sink.messages if message.outbox_id == str(outbox_id)]


def expected_subject(organization: Organization) -> str:
    prefix = f"[Work Accounts] {organization.name} · {CONNECTION_NAME}"
    return f"{prefix}: provisioning quarantined (Invalid credentials)"


def wait_until_sent(stack: Stack, organization: Organization, outbox_id: int) -> dict:
    def sent():
        rows = [row for row in stack.outbox(organization.id) if row["id"] == outbox_id]
        return rows[0] if rows and rows[0]["status"] == "sent" else None

    return _wait(sent, f"outbox row {outbox_id} marked sent")


# The cases ----------------------------------------------------------------------------------------


def test_quarantine_mail_is_delivered_by_the_worker(live, organization):
    quarantine_for_credentials(live, organization)

    row = quarantine_mail(live, organization)
    _wait(lambda: received_for(live, row["id"]), "the quarantine mail at the SMTP sink")
    sent = wait_until_sent(live, organization, row["id"])
    time.sleep(1)  # a duplicate would arrive now

    [message] = received_for(live, row["id"])
    assert message.subject == expected_subject(organization)
    assert message.rcpt_tos == (organization.address,)
    assert "Reason: Invalid credentials" in message.text
    assert "Provisioning quarantined: Invalid credentials" in message.html
    assert (sent["status"], sent["attempts"], sent["last_error"]) == ("sent", 1, "")
    assert len(live.sink.messages) == 1


def test_redis_down_neither_slows_scim_nor_loses_the_mail(live, organization):
    live.redis.stop()

    durations = quarantine_for_credentials(live, organization)

    assert max(durations) < 5, durations
    row = quarantine_mail(live, organization)
    assert (row["status"], row["attempts"]) == ("pending", 0)
    status, body, seconds = scim_get(live, organization.valid_token)  # SCIM answers normally
    assert (status, body["totalResults"]) == (200, 0)
    assert seconds < 5
    # That success ended the quarantine: a second mail, also pending.
    _wait(lambda: len(live.outbox(organization.id)) == 2, "the recovery's outbox row")
    assert [(r["kind"], r["status"]) for r in live.outbox(organization.id)] == [
        ("quarantine_entered", "pending"),
        ("quarantine_ended", "pending"),
    ]
    assert live.sink.messages == []
    # The recovery's mail is queued after its row commits (on_commit, in the log's flusher): wait
    # until that attempt has failed, or Redis returning first lets it through before the re-queue.
    ended_id = live.outbox(organization.id)[1]["id"]
    _wait(
        lambda: f"Could not queue outbox message {ended_id};" in live.server_log.read_text(errors="replace"),
        "the web process's failed attempt to queue the recovery's mail",
    )

    live.redis.start()  # same port, empty
    assert live.requeue() == 2

    wait_until_sent(live, organization, row["id"])
    wait_until_sent(live, organization, ended_id)
    time.sleep(1)
    [entered] = received_for(live, row["id"])
    [ended] = received_for(live, ended_id)
    assert entered.subject == expected_subject(organization)
    assert (
        ended.subject
        == f"[Work Accounts] {organization.name} · {CONNECTION_NAME}: provisioning is healthy again"
    )
    assert len(live.sink.messages) == 2


def test_a_refusing_mail_server_is_retried_with_backoff_until_it_accepts(live, organization):
    from tests.provisioning_logs.smtp_sink import TRY_AGAIN_LATER

    live.sink.set(refuse=TRY_AGAIN_LATER)
    quarantine_for_credentials(live, organization)
    row = quarantine_mail(live, organization)

    failing = _wait(
        lambda: next((r for r in live.outbox(organization.id) if r["status"] == "failing"), None),
        "the outbox row marked failing",
    )
    assert (failing["attempts"], failing["last_error"]) == (
        1,
        "SMTPDataError: (451, b'4.3.0 try again later')",
    )
    assert received_for(live, row["id"]) == []

    live.sink.set()  # accepts again
    sent = wait_until_sent(live, organization, row["id"])
    time.sleep(1)

    [message] = received_for(live, row["id"])
    assert message.subject == expected_subject(organization)
    refusals = [answer for answer in live.sink.answers if answer[1] == 451]
    [accepted] = [answer for answer in live.sink.answers if answer[1] == 250]
    assert len(refusals) >= 1
    assert all(outbox_id == str(row["id"]) for _, _, outbox_id in live.sink.answers)
    assert (sent["attempts"], sent["last_error"]) == (len(refusals) + 1, "")
    # The first retry waits 5 s (then 10 s, 20 s …), not a hot loop.
    assert accepted[0] - refusals[-1][0] >= 4.5
    assert "Retry in 5s" in live.worker.log.read_text(errors="replace")


def test_a_worker_killed_mid_send_leaves_the_mail_to_be_sent_exactly_once(live, organization):
    live.sink.set(delay=5)
    quarantine_for_credentials(live, organization)
    row = quarantine_mail(live, organization)
    assert live.sink.data_started.wait(WAIT), "the worker never reached DATA"

    live.worker.kill()
    live.sink.set()  # the next attempt is answered at once

    # The killed worker's transaction is rolled back: the row is pending and no longer locked.
    def unlocked():
        locked = live.sql(
            "SELECT status, attempts FROM provisioning_logs_outboxmessage WHERE id = %s "
            "FOR UPDATE SKIP LOCKED",
            row["id"],
        )
        return locked or None

    assert _wait(unlocked, "PostgreSQL to release the killed worker's row lock") == [("pending", 0)]
    assert received_for(live, row["id"]) == []  # the sink never answered 250 to the dead client

    live.worker.start()
    assert live.requeue() == 1
    sent = wait_until_sent(live, organization, row["id"])
    time.sleep(1)

    [message] = received_for(live, row["id"])
    assert message.subject == expected_subject(organization)
    assert (sent["attempts"], sent["last_error"]) == (1, "")
    assert len(live.sink.messages) == 1
