"""
A production-shaped cluster on 127.0.0.1 for the scale-out proof (issue 11): N web nodes started
from the Procfile's `web:` command (gunicorn) with production settings, one PostgreSQL database,
a Redis of its own (redis-server on a free port, no persistence), a real Celery worker and beat,
an SMTP sink (tests/provisioning_logs/smtp_sink.py) and HAProxy in front, round-robin, checking
each node's health endpoint every second.

Used by tests/config/test_cluster.py and benchmarks/cluster.py. Every process runs in a session of
its own, so stopping (or SIGKILLing) one stops its whole process group and nothing is left behind.

Ports: free 127.0.0.1 ports; CLUSTER_PORTS=8600-8699 keeps them inside a range (shared machines).
"""

import contextlib
import http.client
import json
import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path


ROOT = Path(__file__).resolve().parent.parent
PROCFILE = ROOT / "Procfile"
HOST = "127.0.0.1"
SCIM = "/scim/v2"
SCIM_JSON = "application/scim+json"
# Until the Procfile exists, the commands it is to hold.
DEFAULT_COMMANDS = {
    "release": "python manage.py migrate --noinput",
    "web": "gunicorn config.wsgi:application",
    "worker": "celery -A config worker --loglevel=info",
    "beat": "celery -A config beat --loglevel=info",
}
# The health endpoint HAProxy checks: the first a node answers 200 on (the sign-in page only until
# the health endpoints exist).
HEALTH_PATHS = ("/readyz", "/healthz", "/signin/")
WAIT = 60  # seconds: the bound of every wait for a process (a loaded 2-core machine)
HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


def wait_for(condition, what: str, timeout: float = WAIT, interval: float = 0.1):
    """Poll condition() until it is truthy; its value, or AssertionError naming `what`."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


# The database --------------------------------------------------------------------------------


@contextmanager
def throwaway_database(url: str):
    """A new database beside the one `url` names (<its name>_cluster_<random>), dropped after."""
    import dj_database_url
    import psycopg
    from psycopg import sql

    config = dj_database_url.parse(url)
    name = f"{config['NAME'] or 'work_accounts'}_cluster_{uuid.uuid4().hex[:8]}"
    admin = {
        "host": config["HOST"] or HOST,
        "port": config["PORT"] or 5432,
        "user": config["USER"] or "postgres",
        "password": config["PASSWORD"] or None,
        "dbname": "postgres",
        "autocommit": True,
    }
    with psycopg.connect(**admin) as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield url.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(**admin) as connection:
            connection.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


# Ports ---------------------------------------------------------------------------------------


class Ports:
    """Free loopback ports, from CLUSTER_PORTS (e.g. 8600-8699) when set, else from the kernel."""

    _lock = threading.Lock()
    _taken: set[int] = set()

    @classmethod
    def take(cls) -> int:
        spec = os.environ.get("CLUSTER_PORTS", "")
        with cls._lock:
            if not spec:
                with socket.socket() as sock:
                    sock.bind((HOST, 0))
                    return sock.getsockname()[1]
            low, high = (int(part) for part in spec.split("-"))
            for port in range(low, high + 1):
                if port in cls._taken:
                    continue
                with socket.socket() as sock:
                    try:
                        sock.bind((HOST, port))
                    except OSError:
                        continue
                cls._taken.add(port)
                return port
        raise RuntimeError(f"no free port left in CLUSTER_PORTS={spec}")


# Procfile ------------------------------------------------------------------------------------


def procfile_command(kind: str) -> str:
    """The Procfile's line for `kind` (release, web, worker, beat); the default until it exists."""
    if PROCFILE.exists():
        for line in PROCFILE.read_text().splitlines():
            name, _, command = line.partition(":")
            if name.strip() == kind and command.strip():
                return command.strip()
    return DEFAULT_COMMANDS[kind]


def _expand(word: str, env: dict) -> str:
    return re.sub(r"\$\{?(\w+)\}?", lambda match: env.get(match.group(1), ""), word)


def command_argv(command: str, env: dict) -> list[str]:
    """
    A Procfile command as argv: variables expanded from env, this interpreter for `python` and
    `-m gunicorn` / `-m celery` (so the worktree on the current directory is what gets imported).
    """
    argv = [_expand(word, env) for word in shlex.split(command)]
    if argv[0] in ("python", "python3"):
        argv[0] = sys.executable
    elif argv[0] in ("gunicorn", "celery"):
        argv[:1] = [sys.executable, "-m", argv[0]]
    return argv


def web_argv(env: dict, port: int) -> list[str]:
    """The Procfile's web command bound to 127.0.0.1:port only (whatever address it names)."""
    argv, kept, skip = command_argv(procfile_command("web"), {**env, "PORT": str(port)}), [], False
    for word in argv:
        if skip:
            skip = False
        elif word in ("-b", "--bind"):
            skip = True
        elif not word.startswith("--bind="):
            kept.append(word)
    return [*kept, "--bind", f"{HOST}:{port}"]


def release_commands(env: dict) -> list[list[str]]:
    """The Procfile's release line, split on `&&` into commands."""
    return [command_argv(part, env) for part in procfile_command("release").split("&&") if part.strip()]


# Processes -----------------------------------------------------------------------------------


def log_tail(path: Path, size: int = 4000) -> str:
    try:
        return path.read_bytes()[-size:].decode(errors="replace")
    except OSError:
        return ""


@dataclass
class Process:
    """One process (and its children) in a session of its own, its output in a log file."""

    name: str
    argv: list[str]
    env: dict
    log: Path
    popen: subprocess.Popen | None = None

    def start(self) -> "Process":
        with open(self.log, "ab") as log:
            log.write(f"\n--- {time.strftime('%H:%M:%S')} {shlex.join(self.argv)}\n".encode())
            log.flush()
            self.popen = subprocess.Popen(
                self.argv,
                cwd=ROOT,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    @property
    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def check_alive(self) -> None:
        if self.popen is not None and self.popen.poll() is not None:
            raise AssertionError(f"{self.name} exited with {self.popen.returncode}:\n{log_tail(self.log)}")

    def group_alive(self) -> bool:
        """Any process left in its process group (a worker can outlive its master)."""
        if self.popen is None:
            return False
        try:
            os.killpg(self.popen.pid, 0)
        except ProcessLookupError:
            return False
        return True

    def kill(self) -> None:
        """SIGKILL the whole group at once (a gunicorn master and its workers): no clean-up."""
        if self.popen is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait(timeout=WAIT)
        wait_for(lambda: not self.group_alive(), f"{self.name}'s processes to be gone", timeout=10)

    def terminate(self) -> None:
        """SIGTERM to the group, without waiting (stop() waits)."""
        if self.popen is not None and self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGTERM)

    def stop(self, timeout: float = 20) -> None:
        """SIGTERM (graceful), SIGKILL the group if it does not end in time; nothing left over."""
        if self.popen is None:
            return
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(timeout=timeout)
        deadline = time.monotonic() + timeout
        while self.group_alive() and time.monotonic() < deadline:
            time.sleep(0.1)
        if self.group_alive():
            self.kill()
        self.popen.wait(timeout=WAIT)


def _answers_ping(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def http_status(port: int, path: str, timeout: float = 5) -> int:
    """Status of a GET straight to a node (0: no answer)."""
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        connection.request("GET", path, headers={"Host": HOST})
        return connection.getresponse().status
    except OSError:
        return 0
    finally:
        connection.close()


# HAProxy -------------------------------------------------------------------------------------


HAPROXY_CONFIG = """\
global
    maxconn 1000
    stats socket {socket} mode 600 level admin

defaults
    mode http
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    timeout http-keep-alive 60s
    # Retry elsewhere only when the connection failed, i.e. before the request was sent: safe for
    # POST and PATCH. A request a node died in the middle of answers 502, for the client to retry.
    retries 2
    option redispatch
    option forwardfor

frontend scim
    bind {host}:{port}
    default_backend web

backend web
    balance roundrobin
    option httpchk
    http-check send meth GET uri {health} ver HTTP/1.1 hdr Host {host}
    http-check expect status 200
    # Which node answered: the tests follow the balancer's choices with it.
    http-response set-header X-Served-By %s
    default-server inter 1s fastinter 1s downinter 1s fall 2 rise 2
{servers}
"""


# The cluster ---------------------------------------------------------------------------------


@dataclass
class Node:
    name: str
    port: int
    process: Process


@dataclass
class Cluster:
    """
    Start with start() (or as a context manager). `env` adds to (or overrides) the production
    environment of every process, e.g. QUARANTINE_MIN_FAILURES=20.
    """

    database_url: str
    workdir: Path
    nodes: int = 2
    web_workers: int = 2
    env: dict = field(default_factory=dict)
    with_worker: bool = True
    with_beat: bool = True

    def __post_init__(self):
        from tests.provisioning_logs.smtp_sink import SmtpSink

        self.workdir.mkdir(parents=True, exist_ok=True)
        # A short directory of its own for the stats socket (unix socket paths are short).
        self.socket_dir = Path(tempfile.mkdtemp(prefix="wa-cluster-"))
        self.redis_port = Ports.take()
        self.balancer_port = Ports.take()
        self.sink = SmtpSink(port=Ports.take())
        self.web: list[Node] = []
        self.processes: list[Process] = []
        self.health_path = ""
        self.redis: Process | None = None
        self.haproxy: Process | None = None
        self.worker: Process | None = None
        self.beat: Process | None = None
        self._sink_started = False

    # Environment ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.balancer_port}"

    @property
    def redis_url(self) -> str:
        return f"redis://{HOST}:{self.redis_port}/0"

    def process_env(self) -> dict:
        drop = ("DJANGO_", "DATABASE_URL", "REDIS_URL", "EMAIL_", "QUARANTINE_", "SCIM_RATE", "CELERY_")
        env = {key: value for key, value in os.environ.items() if not key.startswith(drop)}
        env.update(
            {
                "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
                "DJANGO_SETTINGS_MODULE": "config.settings.production",
                "DJANGO_SECRET_KEY": getattr(self, "_secret", None) or self._new_secret(),
                "DJANGO_ALLOWED_HOSTS": f"{HOST},localhost",
                "DATABASE_URL": self.database_url,
                "REDIS_URL": self.redis_url,
                "PORTAL_BASE_URL": self.url,
                # TLS ends at the real balancer; this proof is about nodes, not certificates.
                "DJANGO_SECURE_SSL_REDIRECT": "false",
                "TRUSTED_PROXIES": "1",
                "CELERY_TASK_ALWAYS_EAGER": "false",
                "EMAIL_HOST": self.sink.host,
                "EMAIL_PORT": str(self.sink.port),
                "EMAIL_TIMEOUT": "10",
                "WEB_CONCURRENCY": str(self.web_workers),
                # collectstatic's output is this cluster's own (runs side by side never share it).
                "DJANGO_STATIC_ROOT": str(self.workdir / "staticfiles"),
                # Stopping a node waits this long for its kept-alive balancer connections.
                "GUNICORN_GRACEFUL_TIMEOUT": "5",
                "DJANGO_LOG_LEVEL": "WARNING",
            }
        )
        env.update({key: str(value) for key, value in self.env.items()})
        return env

    def _new_secret(self) -> str:
        self._secret = secrets.token_urlsafe(48)
        return self._secret

    # Lifecycle -----------------------------------------------------------------------------

    def __enter__(self) -> "Cluster":
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> "Cluster":
        env = self.process_env()
        self.sink.start()
        self._sink_started = True
        self.redis = self._spawn(
            "redis",
            [
                REDIS_SERVER,
                "--port",
                str(self.redis_port),
                "--bind",
                HOST,
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            env,
        )
        wait_for(lambda: self.redis.check_alive() or _answers_ping(self.redis_port), "redis-server")
        for argv in release_commands(env):
            started = time.monotonic()
            self.run(argv, timeout=600)
            with open(self.workdir / "release.log", "a") as log:
                log.write(f"{time.monotonic() - started:6.1f} s  {shlex.join(argv)}\n")
        # Everything starts at once (Django's start-up is most of the wait on a busy machine).
        for index in range(self.nodes):
            self.web.append(Node(f"node{index}", Ports.take(), None))
            self._spawn_node(index)
        if self.with_worker:
            self.worker = self._spawn(
                "worker",
                [*command_argv(procfile_command("worker"), env), "-n", f"cluster-{uuid.uuid4().hex[:8]}@%h"],
                env,
            )
        if self.with_beat:
            schedule = self.workdir / "celerybeat-schedule"
            self.beat = self._spawn(
                "beat", [*command_argv(procfile_command("beat"), env), "--schedule", str(schedule)], env
            )
        for node in self.web:
            self._wait_answering(node)
        self.health_path = self._health_path()
        self._start_haproxy()
        wait_for(lambda: self.up_nodes() == {node.name for node in self.web}, "HAProxy to see every node UP")
        if self.worker is not None:
            wait_for(
                lambda: self.worker.check_alive() or b" ready." in self.worker.log.read_bytes(),
                "the Celery worker to be ready",
            )
        if self.beat is not None:
            wait_for(
                lambda: self.beat.check_alive() or b"beat: Starting" in self.beat.log.read_bytes(),
                "Celery beat to start",
            )
        return self

    def stop(self) -> None:
        """Everything down (asked all at once, then waited for); no process left behind."""
        for process in reversed(self.processes):
            process.terminate()
        for process in reversed(self.processes):
            process.stop()
        self.processes.clear()
        if self._sink_started:
            self.sink.stop()
            self._sink_started = False
        shutil.rmtree(self.socket_dir, ignore_errors=True)

    def leftovers(self) -> list[str]:
        """Names of the processes of this cluster still alive (none after stop())."""
        return [process.name for process in self._all_processes() if process.group_alive()]

    def _all_processes(self) -> list[Process]:
        return [process for process in (self.redis, self.haproxy, self.worker, self.beat) if process] + [
            node.process for node in self.web if node.process
        ]

    def _spawn(self, name: str, argv: list[str], env: dict) -> Process:
        process = Process(name, argv, env, self.workdir / f"{name}.log").start()
        self.processes.append(process)
        return process

    def run(self, argv: list[str], timeout: float = 120) -> str:
        result = subprocess.run(
            argv, cwd=ROOT, env=self.process_env(), capture_output=True, text=True, timeout=timeout
        )
        if result.returncode != 0:
            raise AssertionError(
                f"{shlex.join(argv)} failed:\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}"
            )
        return result.stdout

    # Web nodes -----------------------------------------------------------------------------

    def _spawn_node(self, index: int) -> Node:
        node = self.web[index]
        # PORT and GUNICORN_BIND for config/gunicorn.py; the --bind web_argv adds wins anyway.
        env = {**self.process_env(), "PORT": str(node.port), "GUNICORN_BIND": f"{HOST}:{node.port}"}
        # prometheus-client's multiprocess mode: a directory per node, empty when it starts.
        metrics = self.workdir / f"metrics-{node.name}"
        shutil.rmtree(metrics, ignore_errors=True)
        metrics.mkdir()
        env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics)
        if node.process is not None and node.process in self.processes:
            self.processes.remove(node.process)
        node.process = self._spawn(node.name, web_argv(env, node.port), env)
        return node

    def _wait_answering(self, node: Node) -> None:
        wait_for(
            lambda: node.process.check_alive() or http_status(node.port, self.health_path or "/healthz") > 0,
            f"{node.name} to answer on port {node.port}",
        )

    def start_node(self, index: int) -> None:
        """(Re)start a web node and wait until HAProxy balances to it again."""
        node = self._spawn_node(index)
        self._wait_answering(node)
        wait_for(lambda: node.name in self.up_nodes(), f"HAProxy to see {node.name} UP")

    def kill_node(self, index: int) -> None:
        """SIGKILL the node's gunicorn master and workers at once."""
        self.web[index].process.kill()

    def restart_web(self, **env) -> None:
        """Every web node again with more environment (e.g. SCIM_RATE_LIMIT); back when all are UP."""
        self.env.update(env)
        for node in self.web:
            node.process.terminate()
        for node in self.web:
            node.process.stop()
        for index in range(len(self.web)):
            self._spawn_node(index)
        for node in self.web:
            self._wait_answering(node)
        wait_for(lambda: self.up_nodes() == {node.name for node in self.web}, "HAProxy to see every node UP")

    def _health_path(self) -> str:
        port = self.web[0].port
        for path in HEALTH_PATHS:
            if http_status(port, path) == 200:
                return path
        raise AssertionError(f"no node health endpoint answers 200 (tried {HEALTH_PATHS})")

    # HAProxy -------------------------------------------------------------------------------

    @property
    def stats_socket(self) -> Path:
        return self.socket_dir / "haproxy.sock"

    def _start_haproxy(self) -> None:
        servers = "\n".join(f"    server {node.name} {HOST}:{node.port} check" for node in self.web)
        config = self.workdir / "haproxy.cfg"
        config.write_text(
            HAPROXY_CONFIG.format(
                socket=self.stats_socket,
                host=HOST,
                port=self.balancer_port,
                health=self.health_path,
                servers=servers,
            )
        )
        self.haproxy = self._spawn("haproxy", [HAPROXY, "-db", "-f", str(config)], self.process_env())
        wait_for(lambda: self.haproxy.check_alive() or self.stats_socket.exists(), "HAProxy's stats socket")

    def stats(self) -> dict[str, dict]:
        """HAProxy's `show stat` for the web backend's servers, by server name."""
        with socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(5)
            sock.connect(str(self.stats_socket))
            sock.sendall(b"show stat\n")
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
        lines = data.decode().splitlines()
        header = lines[0].lstrip("# ").split(",")
        rows = [dict(zip(header, line.split(","), strict=False)) for line in lines[1:] if line]
        return {
            row["svname"]: row for row in rows if row["pxname"] == "web" and row["svname"].startswith("node")
        }

    def up_nodes(self) -> set[str]:
        self.haproxy and self.haproxy.check_alive()
        if not self.stats_socket.exists():
            return set()
        return {name for name, row in self.stats().items() if row["status"].startswith("UP")}

    # The database and Django ---------------------------------------------------------------

    def manage(self, *args, timeout: float = 120) -> str:
        return self.run([sys.executable, "manage.py", *args], timeout=timeout)

    def shell(self, code: str) -> dict:
        """Run code in `manage.py shell`; it prints one JSON line, returned parsed."""
        output = self.manage("shell", "--no-imports", "-c", code)
        return json.loads(output.strip().splitlines()[-1])

    def sql(self, query: str, *params) -> list[tuple]:
        import psycopg

        with psycopg.connect(self.database_url, autocommit=True) as connection:
            return connection.execute(query, params).fetchall()

    def organization(self, slug: str, *, notify: str = "", **thresholds) -> "Tenant":
        """An organization with a SCIM token; notification address and connection settings."""
        created = self.shell(
            "import json\n"
            "from accounts.services import organization_create\n"
            "from accounts.connections.models import ProvisioningConnection\n"
            "from accounts.connections.services import scim_token_create\n"
            "from provisioning_logs.connection_settings import health_thresholds_save\n"
            "from provisioning_logs.notifications import notification_settings_save\n"
            f"org = organization_create(slug={slug!r}, name={slug.title()!r})\n"
            "token = scim_token_create(organization=org, label='entra').secret\n"
            "connection = ProvisioningConnection.objects.get(organization=org)\n"
            f"if {bool(notify)!r}:\n"
            f"    notification_settings_save(connection=None, organization=org, addresses={notify!r},"
            " send_on_failure=False)\n"
            f"if {bool(thresholds)!r}:\n"
            f"    health_thresholds_save(connection=connection, **{thresholds!r})\n"
            "print(json.dumps({'id': org.pk, 'connection': connection.pk, 'token': token}))\n"
        )
        return Tenant(self, slug, created["id"], created["connection"], created["token"])


@dataclass
class Tenant:
    cluster: Cluster
    slug: str
    id: int
    connection_id: int
    token: str

    def client(self, **kwargs) -> "ScimClient":
        return ScimClient(self.cluster.balancer_port, self.token, **kwargs)


# A SCIM client through the balancer ----------------------------------------------------------


RETRYABLE = (0, 502, 503, 504)  # 0: the connection failed or broke before an answer


@dataclass
class Answer:
    method: str
    path: str
    status: int  # 0: no answer (connection refused, reset, timed out)
    body: object
    headers: dict
    seconds: float
    served_by: str = ""
    error: str = ""


class ScimClient:
    """
    Keep-alive HTTP/1.1 connections to the balancer, one per thread (as Entra reuses its
    connections); JSON in and out; every answer recorded in `answers`.
    """

    def __init__(self, port: int, token: str, timeout: float = 60):
        self.port, self.token, self.timeout = port, token, timeout
        self.local = threading.local()
        self.lock = threading.Lock()
        self.answers: list[Answer] = []

    def _connection(self) -> http.client.HTTPConnection:
        connection = getattr(self.local, "connection", None)
        if connection is None:
            connection = self.local.connection = http.client.HTTPConnection(
                HOST, self.port, timeout=self.timeout
            )
        return connection

    def _drop(self) -> None:
        connection = getattr(self.local, "connection", None)
        if connection is not None:
            connection.close()
        self.local.connection = None

    def request(self, method: str, path: str, body=None) -> Answer:
        headers = {"Authorization": f"Bearer {self.token}", "Accept": SCIM_JSON, "Host": HOST}
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            headers["Content-Type"] = SCIM_JSON
        url = path if path.startswith(SCIM) else SCIM + path
        started = time.monotonic()
        try:
            connection = self._connection()
            connection.request(method, url, body=payload, headers=headers)
            response = connection.getresponse()
            raw = response.read()
            status, response_headers = response.status, {k.lower(): v for k, v in response.getheaders()}
            if response_headers.get("connection", "").lower() == "close":
                self._drop()
            error = ""
        except (OSError, http.client.HTTPException) as exc:
            self._drop()
            status, raw, response_headers, error = 0, b"", {}, f"{type(exc).__name__}: {exc}"
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = raw.decode(errors="replace")
        answer = Answer(
            method,
            url,
            status,
            parsed,
            response_headers,
            time.monotonic() - started,
            response_headers.get("x-served-by", ""),
            error,
        )
        with self.lock:
            self.answers.append(answer)
        return answer

    def get(self, path):
        return self.request("GET", path)

    def post(self, path, body):
        return self.request("POST", path, body)

    def patch(self, path, body):
        return self.request("PATCH", path, body)

    def close(self) -> None:
        self._drop()
