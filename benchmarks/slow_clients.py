"""
Slow clients against the web process (issue 12): with N idle connections and M connections that
trickle their request bodies held open, how many of 10 normal requests are answered within 20 s,
and how fast; then a burst of concurrent normal requests (answered, or refused at once with 503).

Each worker class is measured on the same command the Procfile runs (gunicorn with
config/gunicorn.py) with embedded settings (SQLite, DEBUG off) on a free 127.0.0.1 port:

    .venv/bin/python benchmarks/slow_clients.py                       # sync, gthread, ours
    .venv/bin/python benchmarks/slow_clients.py --idle 100 --trickling 100 --worker-class gthread

The held connections reconnect when the server closes them, so the pressure stays the same for the
whole measurement, as an attacker's would. See benchmarks/README.md for figures.
"""

import argparse
import contextlib
import http.client
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path


PROJECT_DIR = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
OURS = "config.gunicorn_worker.BufferingWorker"
WEB_COMMAND = ["-m", "gunicorn", "config.wsgi:application", "-c", "config/gunicorn.py"]
NORMAL_PATH = "/signin/"
DEADLINE_S = 20.0


# Held connections -------------------------------------------------------------------------------


class HeldConnections:
    """`idle` connections that send nothing, `trickling` ones that send a body one byte at a time."""

    TRICKLE_HEAD = (
        "POST /scim/v2/Users HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/scim+json\r\n"
        "Content-Length: 100000\r\n\r\n"
    )

    def __init__(self, host: str, port: int, idle: int, trickling: int, interval: float = 0.5):
        self.address = (host, port)
        self.idle, self.trickling, self.interval = idle, trickling, interval
        self.sockets: list[tuple[str, socket.socket | None]] = []
        self.reconnects = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _open(self, kind: str) -> socket.socket | None:
        try:
            sock = socket.create_connection(self.address, timeout=2)
        except OSError:
            return None
        sock.setblocking(False)
        if kind == "trickling":
            with contextlib.suppress(OSError):
                sock.send(self.TRICKLE_HEAD.format(host=self.address[0]).encode())
        return sock

    def __enter__(self):
        kinds = ["idle"] * self.idle + ["trickling"] * self.trickling
        self.sockets = [(kind, self._open(kind)) for kind in kinds]
        self._thread.start()
        return self

    def _alive(self, sock: socket.socket) -> bool:
        try:
            sock.recv(4096)
        except BlockingIOError:
            return True  # nothing from the server: still held
        except OSError:
            return False
        return False  # an answer (408, 503) or EOF: the server let go of it

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            for index, (kind, sock) in enumerate(self.sockets):
                if sock is not None and self._alive(sock):
                    if kind == "trickling":
                        with contextlib.suppress(OSError):
                            sock.send(b"x")
                    continue
                if sock is not None:
                    sock.close()
                    self.reconnects += 1
                self.sockets[index] = (kind, self._open(kind))

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=5)
        for _kind, sock in self.sockets:
            if sock is not None:
                sock.close()


# Normal requests --------------------------------------------------------------------------------


@dataclass
class Outcome:
    status: int | None  # None: no answer within the deadline (or the connection failed)
    seconds: float
    retry_after: str | None = None


@dataclass
class Report:
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def answered(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status is not None and o.status != 503]

    @property
    def refused(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == 503]

    @property
    def unanswered(self) -> int:
        return sum(1 for o in self.outcomes if o.status is None)


def normal_requests(host: str, port: int, count: int, path: str = NORMAL_PATH, deadline: float = DEADLINE_S):
    """`count` GETs at once, each on its own connection, each given `deadline` seconds."""
    outcomes: list[Outcome | None] = [None] * count

    def one(index: int) -> None:
        started = time.monotonic()
        try:
            connection = http.client.HTTPConnection(host, port, timeout=deadline)
            connection.request("GET", path, headers={"Host": host})
            response = connection.getresponse()
            response.read()
            outcomes[index] = Outcome(
                response.status, time.monotonic() - started, response.getheader("Retry-After")
            )
            connection.close()
        except OSError:
            outcomes[index] = Outcome(None, time.monotonic() - started)

    threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(deadline + 5)
    return Report([o or Outcome(None, deadline) for o in outcomes])


# The server -------------------------------------------------------------------------------------


def server_env(tmp: Path, worker_class: str, workers: int, threads: int, port: int) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "GUNICORN_"))}
    env.pop("REDIS_URL", None)  # Celery eager, no broker: the embedded set-up
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings.embedded",
            "DATABASE_URL": f"sqlite:///{tmp / 'slow.sqlite3'}",
            "DJANGO_STATIC_ROOT": str(tmp / "static"),
            "EMBEDDED_SECRET_KEY_FILE": str(tmp / "secret-key"),
            "DJANGO_LOG_LEVEL": "WARNING",
            "GUNICORN_BIND": f"{HOST}:{port}",
            "GUNICORN_WORKER_CLASS": worker_class,
            "WEB_CONCURRENCY": str(workers),
            # gunicorn turns sync into gthread when threads > 1: stock sync means one thread.
            "GUNICORN_THREADS": "1" if worker_class == "sync" else str(threads),
            "GUNICORN_ACCESS_LOG": "",
        }
    )
    return env


def prepare(env: dict) -> None:
    for args in (["migrate", "--noinput", "-v", "0"], ["collectstatic", "--noinput", "-v", "0"]):
        subprocess.run([sys.executable, "manage.py", *args], cwd=PROJECT_DIR, env=env, check=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def start_server(env: dict, log: Path) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, *WEB_COMMAND],
        cwd=PROJECT_DIR,
        env=env,
        stdout=open(log, "wb"),  # noqa: SIM115 (the process owns it)
        stderr=subprocess.STDOUT,
    )
    host, port = env["GUNICORN_BIND"].rsplit(":", 1)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited:\n{log.read_text()[-2000:]}")
        try:
            connection = http.client.HTTPConnection(host, int(port), timeout=2)
            connection.request("GET", "/healthz")
            connection.getresponse().read()
            return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("gunicorn did not answer within 60 s")


def stop_server(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=40)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


# The measurement --------------------------------------------------------------------------------


def _latency(outcomes: list[Outcome]) -> str:
    if not outcomes:
        return "-"
    times = sorted(o.seconds for o in outcomes)
    return f"p50 {times[len(times) // 2] * 1000:.0f} ms, max {times[-1] * 1000:.0f} ms"


def measure(worker_class: str, args, tmp: Path) -> dict:
    port = free_port()
    env = server_env(tmp, worker_class, args.workers, args.threads, port)
    prepare(env)
    server = start_server(env, tmp / f"{worker_class}.log")
    try:
        # Unmeasured: every process renders the page once (templates, URL resolvers) first.
        normal_requests(HOST, port, args.workers * args.threads)
        with HeldConnections(HOST, port, args.idle, args.trickling) as held:
            time.sleep(args.settle)
            under_load = normal_requests(HOST, port, args.requests)
            alive_after = server.poll() is None
        burst = normal_requests(HOST, port, args.burst) if args.burst else None
        return {
            "worker": worker_class,
            "held": under_load,
            "reconnects": held.reconnects,
            "burst": burst,
            "alive": alive_after and server.poll() is None,
        }
    finally:
        stop_server(server)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--idle", type=int, default=100, help="idle connections held (default 100)")
    parser.add_argument("--trickling", type=int, default=100, help="trickling connections (default 100)")
    parser.add_argument("--requests", type=int, default=10, help="normal requests under load (default 10)")
    parser.add_argument("--burst", type=int, default=200, help="concurrent normal requests after (0: skip)")
    parser.add_argument("--workers", type=int, default=2, help="WEB_CONCURRENCY (default 2)")
    parser.add_argument("--threads", type=int, default=4, help="GUNICORN_THREADS (default 4)")
    parser.add_argument("--settle", type=float, default=3.0, help="seconds between holding and measuring")
    parser.add_argument("--worker-class", action="append", help="sync, gthread or ours (default: all)")
    args = parser.parse_args()
    classes = [
        OURS if name == "ours" else name for name in (args.worker_class or ["sync", "gthread", "ours"])
    ]

    print(
        f"{args.idle} idle + {args.trickling} trickling connections held; {args.requests} normal "
        f"GET {NORMAL_PATH} at once, {DEADLINE_S:.0f} s each; "
        f"workers={args.workers}, threads={args.threads}; "
        f"load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="slow-clients-") as tmp:
        for worker_class in classes:
            result = measure(worker_class, args, Path(tmp))
            held, burst = result["held"], result["burst"]
            print(
                f"{result['worker']:<40} answered {len(held.answered)}/{args.requests} "
                f"({_latency(held.answered)}), refused 503 {len(held.refused)}, "
                f"unanswered {held.unanswered}; server alive: {result['alive']}",
                flush=True,
            )
            if burst is not None:
                print(
                    f"{'':<40} burst of {args.burst}: answered {len(burst.answered)} "
                    f"({_latency(burst.answered)}), refused 503 {len(burst.refused)} "
                    f"({_latency(burst.refused)}), unanswered {burst.unanswered}",
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
