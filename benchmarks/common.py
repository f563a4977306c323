"""
Shared pieces of the SCIM load benchmarks (scim_users.py, scim_groups.py): a throw-away PostgreSQL
database, bulk seeding with Django set up in the script process, a real gunicorn server on a free
127.0.0.1 port, concurrent keep-alive clients, latency percentiles and worker memory (VmHWM).
Only 127.0.0.1 is contacted. See benchmarks/README.md.
"""

import http.client
import json
import math
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path


PROJECT_DIR = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
PG_PORT = 5432
PG_ADMIN_DSN = f"host={HOST} port={PG_PORT} user=postgres dbname=postgres"
SCIM = "/scim/v2"

REQUEST_TIMEOUT_S = 30
SERVER_START_TIMEOUT_S = 60
MIGRATE_TIMEOUT_S = 600
KEEP_EXAMPLES = 3

GIVEN = ["Adele", "Alex", "Diego", "Grady", "Henrietta", "Isaiah", "Johanna", "Lee", "Megan", "Nestor"]
FAMILY = ["Vance", "Wilber", "Siciliani", "Archie", "Mueller", "Langer", "Lidic", "Gu", "Bowen", "Wilke"]


# Database and server ---------------------------------------------------------------------------


def server_env(db_name: str) -> dict:
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": f"postgres://postgres@{HOST}:{PG_PORT}/{db_name}",
            "DJANGO_SETTINGS_MODULE": "config.settings.base",
            "DJANGO_DEBUG": "false",
            "QUERY_COUNT_HEADER": "true",
            "DJANGO_ALLOWED_HOSTS": HOST,
            "DJANGO_LOG_LEVEL": "WARNING",
        }
    )
    # Never reach a real broker from a benchmark: Celery tasks run eagerly in-process.
    env.pop("REDIS_URL", None)
    return env


def create_database(db_name: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(db_name)))


def drop_database(db_name: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(db_name)))


def migrate(env: dict) -> None:
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=PROJECT_DIR,
        env=env,
        check=True,
        timeout=MIGRATE_TIMEOUT_S,
    )


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    process: subprocess.Popen
    port: int
    log_path: Path
    access_log_path: Path

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def start_server(
    env: dict,
    workers: int,
    log_path: Path,
    access_log_path: Path,
    port: int | None = None,
    production_config: bool = False,
) -> Server:
    """gunicorn on `port` (else a free one); with production_config, config/gunicorn.py (the
    Procfile's `web`) underneath, the options below overriding it."""
    port = port or free_port()
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "config.wsgi:application",
        *(["-c", "config/gunicorn.py"] if production_config else []),
        "-b",
        f"{HOST}:{port}",
        "-w",
        str(workers),
        "--threads",
        "1",
        "--timeout",
        "60",
        "--graceful-timeout",
        "10",
        # Server-side time per request (after accept, so without listen-queue wait), keyed by the
        # client-request-id each benchmark request carries.
        "--access-logfile",
        str(access_log_path),
        "--access-logformat",
        "%({client-request-id}i)s %(D)s",
    ]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            command, cwd=PROJECT_DIR, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    return Server(process=process, port=port, log_path=log_path, access_log_path=access_log_path)


def server_times_ms(access_log_path: Path) -> dict[str, float]:
    times = {}
    try:
        text = access_log_path.read_text(errors="replace")
    except OSError:
        return times
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            times[parts[0]] = int(parts[1]) / 1000
    return times


def wait_until_ready(server: Server, token: str, workers: int) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {server.process.returncode}:\n{server.log_tail()}")
        try:
            conn = http.client.HTTPConnection(HOST, server.port, timeout=5)
            conn.request("GET", f"{SCIM}/ServiceProviderConfig", headers={"Authorization": f"Bearer {token}"})
            status = conn.getresponse().status
            conn.close()
            if status < 500 and len(worker_pids(server.process.pid)) >= workers:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer within {SERVER_START_TIMEOUT_S}s:\n{server.log_tail()}")


def stop_server(server: Server) -> None:
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGTERM)  # graceful: the master stops its workers
        try:
            server.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            # Only the process group this script started (start_new_session=True).
            os.killpg(server.process.pid, signal.SIGKILL)
            server.process.wait(timeout=10)


def worker_pids(master_pid: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid ...": comm may contain spaces, so split after the last ")".
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == master_pid:
            pids.append(int(entry.name))
    return sorted(pids)


def proc_status_kb(pid: int, key: str) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def memory_report(master_pid: int, seen_workers: set[int]) -> dict:
    current = worker_pids(master_pid)
    seen_workers.update(current)
    peaks = {pid: proc_status_kb(pid, "VmHWM") for pid in current}
    peaks = {pid: kb for pid, kb in peaks.items() if kb is not None}
    return {
        "worker_peak_rss_kb": peaks,
        "max_worker_peak_rss_mb": round(max(peaks.values()) / 1024, 1) if peaks else None,
        "sum_worker_peak_rss_mb": round(sum(peaks.values()) / 1024, 1) if peaks else None,
        "master_peak_rss_mb": round((proc_status_kb(master_pid, "VmHWM") or 0) / 1024, 1),
        "workers_seen": len(seen_workers),
    }


def worker_hwm_reset(pid: int) -> bool:
    """Reset a worker's VmHWM to its current RSS (Linux clear_refs "5"); False if not possible."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


# Seeding (Django in this process) --------------------------------------------------------------


def setup_django(env: dict) -> None:
    """Point Django in this process at the benchmark database (same settings as the server)."""
    for key in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE", "DJANGO_DEBUG", "DJANGO_ALLOWED_HOSTS"):
        os.environ[key] = env[key]
    os.environ.pop("REDIS_URL", None)
    if str(PROJECT_DIR) not in sys.path:
        sys.path.insert(0, str(PROJECT_DIR))

    import django

    django.setup()


def seed_accounts(organization, accounts: int, batch_size: int) -> list[tuple[str, str]]:
    """
    Bulk-insert N work accounts of the organization (one work e-mail each, a work phone for every
    second account) in batches; return (id, userName) of each, in order.
    """
    from django.contrib.auth.hashers import make_password
    from django.db import connection, transaction
    from django.utils import timezone

    from accounts.models import ValueAttribute, WorkAccount, WorkAccountValue

    unusable_password = make_password(None)
    now = timezone.now()
    started = time.perf_counter()
    seeded = []
    for start in range(0, accounts, batch_size):
        rows, values = [], []
        for i in range(start, min(accounts, start + batch_size)):
            given, family = GIVEN[i % len(GIVEN)], FAMILY[(i // len(GIVEN)) % len(FAMILY)]
            user_name = f"{given}.{family}{i:07d}@Contoso.example"
            account = WorkAccount(
                id=uuid.uuid4(),
                organization=organization,
                user_name=user_name,
                external_id=str(uuid.uuid4()),
                is_active=True,
                display_name=f"{given} {family}",
                name_given_name=given,
                name_family_name=family,
                name_formatted=f"{given} {family}",
                department="Retail" if i % 3 else "Sales",
                password=unusable_password,
                date_joined=now,
                updated_at=now,
                roles=[],
            )
            rows.append(account)
            values.append(
                WorkAccountValue(
                    account=account,
                    attribute=ValueAttribute.EMAILS,
                    position=0,
                    type="work",
                    primary=True,
                    value=user_name.lower(),
                )
            )
            if i % 2 == 0:
                values.append(
                    WorkAccountValue(
                        account=account,
                        attribute=ValueAttribute.PHONE_NUMBERS,
                        position=0,
                        type="work",
                        primary=False,
                        value=f"+1 555 {i:07d}",
                    )
                )
            seeded.append((str(account.id), user_name))
        with transaction.atomic():
            WorkAccount.objects.bulk_create(rows, batch_size=batch_size)
            WorkAccountValue.objects.bulk_create(values, batch_size=batch_size)
        done = min(accounts, start + batch_size)
        if start == 0:
            # The deferred foreign-key checks run as cached plans made while the tables were empty
            # (sequential scans): statistics now keep each commit's checks index lookups, not O(N).
            with connection.cursor() as cursor:
                tables = (WorkAccount._meta.db_table, WorkAccountValue._meta.db_table)
                cursor.execute("ANALYZE " + ", ".join(connection.ops.quote_name(t) for t in tables))
        if done % (10 * batch_size) == 0 and done < accounts:
            print(f"  seeded {done:,} / {accounts:,} ({time.perf_counter() - started:.1f}s)", flush=True)
    return seeded


def analyze(*tables: str) -> None:
    """ANALYZE the given tables (all tables when none are given)."""
    from django.db import connection

    with connection.cursor() as cursor:
        if tables:
            cursor.execute("ANALYZE " + ", ".join(connection.ops.quote_name(t) for t in tables))
        else:
            cursor.execute("ANALYZE")


# Load ------------------------------------------------------------------------------------------


@dataclass
class RequestSpec:
    method: str
    path: str
    body: bytes | None = None
    expect: tuple[int, ...] = (200,)
    total_results: int | None = None  # for filters: the totalResults the answer must carry
    # More checks of a successful answer: the body -> None when fine, else why not.
    check: Callable[[bytes], str | None] | None = None


@dataclass
class Sample:
    request_id: str
    latency_ms: float
    status: int
    queries: int | None
    size: int = 0  # response body bytes


@dataclass
class ScenarioResult:
    samples: list[Sample] = field(default_factory=list)
    wall_s: float = 0.0
    failures: list[dict] = field(default_factory=list)  # examples: request + response
    query_overruns: list[dict] = field(default_factory=list)
    error_count: int = 0
    error_reasons: dict = field(default_factory=dict)


@dataclass
class Answer:
    request_id: str
    latency_ms: float
    status: int  # 0: transport error
    headers: dict
    payload: bytes

    @property
    def queries(self) -> int | None:
        raw_count = self.headers.get("X-Query-Count")
        return int(raw_count) if raw_count and raw_count.isdigit() else None


def body_json(payload: dict) -> bytes:
    return json.dumps(payload).encode()


def check_answer(spec: RequestSpec, status: int, payload: bytes) -> str | None:
    """None when the response is what Entra expects, else why not."""
    if status not in spec.expect:
        return f"HTTP {status}" if status else "transport error"
    if spec.total_results is not None:
        try:
            total = json.loads(payload).get("totalResults")
        except (ValueError, AttributeError):
            return "unparsable ListResponse"
        if total != spec.total_results:
            return f"totalResults {total}, expected {spec.total_results}"
    if spec.check is not None:
        return spec.check(payload)
    return None


def send(conn: http.client.HTTPConnection, token: str, spec: RequestSpec) -> Answer:
    """One request on a keep-alive connection (reopened on the next request after an error)."""
    request_id = uuid.uuid4().hex
    headers = {
        "Authorization": f"Bearer {token}",
        "Accept": "application/scim+json",
        "Connection": "keep-alive",
        "client-request-id": request_id,
    }
    if spec.body is not None:
        headers["Content-Type"] = "application/scim+json"
    started = time.perf_counter()
    try:
        conn.request(spec.method, spec.path, body=spec.body, headers=headers)
        response = conn.getresponse()
        payload = response.read()
        status, response_headers = response.status, dict(response.getheaders())
    except (OSError, http.client.HTTPException) as exc:
        conn.close()  # reopened by the next request
        status, response_headers, payload = 0, {}, repr(exc).encode()
    latency_ms = (time.perf_counter() - started) * 1000
    return Answer(request_id, latency_ms, status, response_headers, payload)


def problem_example(spec: RequestSpec, answer: Answer, reason: str) -> dict:
    return {
        "reason": reason,
        "request": {
            "method": spec.method,
            "path": spec.path,
            "body": spec.body.decode() if spec.body else None,
        },
        "response": {
            "status": answer.status,
            "headers": answer.headers,
            "body": answer.payload.decode(errors="replace")[:2000],
        },
    }


def record(result: ScenarioResult, index: int, spec: RequestSpec, answer: Answer, max_queries: int | None):
    """Store the sample; count and keep an example of a failure or of too many queries."""
    queries = answer.queries
    result.samples[index] = Sample(
        answer.request_id, answer.latency_ms, answer.status, queries, len(answer.payload)
    )
    reason = check_answer(spec, answer.status, answer.payload)
    if reason is None and queries is None:
        reason = "no X-Query-Count header"
    if reason is not None:
        result.error_count += 1
        result.error_reasons[reason] = result.error_reasons.get(reason, 0) + 1
        if len(result.failures) < KEEP_EXAMPLES:
            result.failures.append(problem_example(spec, answer, reason))
    elif max_queries is not None and queries > max_queries and len(result.query_overruns) < KEEP_EXAMPLES:
        result.query_overruns.append(problem_example(spec, answer, f"{queries} queries"))


def run_load(
    port: int,
    token: str,
    specs: list[RequestSpec],
    concurrency: int,
    max_seconds: float,
    max_queries: int | None = None,
) -> ScenarioResult:
    """Send the specs from `concurrency` client threads, in order, until done or `max_seconds`."""
    result = ScenarioResult(samples=[None] * len(specs))
    lock = threading.Lock()
    next_index = [0]
    deadline = time.monotonic() + max_seconds

    def client():
        conn = http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT_S)
        while True:
            with lock:
                index = next_index[0]
                next_index[0] += 1
            if index >= len(specs) or time.monotonic() > deadline:
                break
            answer = send(conn, token, specs[index])
            with lock:
                record(result, index, specs[index], answer, max_queries)
        conn.close()

    threads = [threading.Thread(target=client, daemon=True) for _ in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result.wall_s = time.perf_counter() - started
    result.samples = [s for s in result.samples if s is not None]
    return result


def percentile(sorted_values: list[float], pct: float) -> float | None:
    if not sorted_values:
        return None
    rank = max(1, math.ceil(pct / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def summarize(result: ScenarioResult, server_times: dict[str, float], concurrency: int) -> dict:
    latencies = sorted(s.latency_ms for s in result.samples)
    queries = [s.queries for s in result.samples if s.queries is not None]
    in_server = sorted(server_times[s.request_id] for s in result.samples if s.request_id in server_times)
    done = len(result.samples)
    return {
        "concurrency": concurrency,
        "requests": done,
        "errors": result.error_count,
        "error_reasons": result.error_reasons,
        "requests_per_s": round(done / result.wall_s, 1) if result.wall_s else None,
        "p50_ms": round(percentile(latencies, 50), 2) if latencies else None,
        "p99_ms": round(percentile(latencies, 99), 2) if latencies else None,
        "max_ms": round(latencies[-1], 2) if latencies else None,
        "server_p50_ms": round(percentile(in_server, 50), 2) if in_server else None,
        "server_p99_ms": round(percentile(in_server, 99), 2) if in_server else None,
        "max_queries": max(queries) if queries else None,
        "mean_queries": round(sum(queries) / len(queries), 2) if queries else None,
        "requests_without_query_count": done - len(queries),
        "failures": result.failures,
        "query_overruns": result.query_overruns,
    }


# Reporting -------------------------------------------------------------------------------------


def fmt(value) -> str:
    return "-" if value is None else str(value)


# Clean-up --------------------------------------------------------------------------------------


def interrupt(signum, frame):
    """SIGTERM handler: unwind like Ctrl-C, through the clean-up below."""
    raise KeyboardInterrupt


def clean_up(server: Server | None, db_name: str, created: bool) -> None:
    """Stop the server, remove its logs and drop the database; ignores a second Ctrl-C/SIGTERM."""
    # A second Ctrl-C or SIGTERM must not leave a server or a database behind.
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        if server is not None:
            stop_server(server)
            for path in (server.log_path, server.access_log_path):
                path.unlink(missing_ok=True)
        if "django" in sys.modules:
            from django.db import connections

            connections.close_all()
        if created:
            drop_database(db_name)
            print(f"dropped database {db_name}", flush=True)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def print_targets(lines: list[dict]) -> None:
    print()
    for line in lines:
        print(f"{'PASS' if line['ok'] else 'FAIL'}  {line['name']}: {line['detail']}")


def print_scenarios(report: dict, scenarios, label_width: int, lock_waiters: bool = False) -> None:
    """The set-up line and the per-scenario table both benchmarks print."""
    print(
        f"database {report['database']}: migrate {report['migrate_s']:.1f}s, seed {report['seed_s']:.1f}s "
        f"(incl. ANALYZE), server ready in {report['server_start_s']:.1f}s; {report['cpus']} CPUs, "
        f"load average {report['load_average']['before']} before / {report['load_average']['after']} after"
    )
    header = (
        f"{'scenario':<{label_width}} {'reqs':>5} {'errs':>4} {'req/s':>6} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'max ms':>7} {'srv p50':>7} {'srv p99':>7} {'max q':>5} {'mean q':>6}"
        + (f" {'lockw':>5}" if lock_waiters else "")
    )
    print(header)
    print("-" * len(header))
    for key, label in scenarios:
        s = report["scenarios"].get(key)
        if s is None:
            continue
        print(
            f"{label:<{label_width}} {s['requests']:>5} {s['errors']:>4} {fmt(s['requests_per_s']):>6} "
            f"{fmt(s['p50_ms']):>7} {fmt(s['p99_ms']):>7} {fmt(s['max_ms']):>7} "
            f"{fmt(s['server_p50_ms']):>7} {fmt(s['server_p99_ms']):>7} "
            f"{fmt(s['max_queries']):>5} {fmt(s['mean_queries']):>6}"
            + (f" {fmt(s['mean_lock_waiters']):>5}" if lock_waiters else "")
        )


def run_reported(run_once, args) -> dict | None:
    """Run one benchmark; on Ctrl-C or a set-up failure say so and return None (cleanup already ran)."""
    try:
        return run_once(args)
    except KeyboardInterrupt:
        print("interrupted; cleaned up", file=sys.stderr)
    except Exception as exc:
        print(f"benchmark set-up failed: {type(exc).__name__}: {exc}", file=sys.stderr)
    return None
