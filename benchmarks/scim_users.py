"""
SCIM /Users load benchmark against a real gunicorn server and a throw-away PostgreSQL database.

    .venv/bin/python benchmarks/scim_users.py                      # 10,000 accounts
    .venv/bin/python benchmarks/scim_users.py --accounts 100000    # or --large
    .venv/bin/python benchmarks/scim_users.py --compare            # 10k, then 100k, then compare

Steps: create database wa_bench_<random> -> manage.py migrate -> bulk-seed N work accounts (Django set
up in this process) -> ANALYZE -> start gunicorn (4 sync workers) -> warm up -> drive each scenario
with concurrent keep-alive clients -> print a table and PASS/FAIL lines -> stop gunicorn, drop the
database (also on failure or Ctrl-C). Only 127.0.0.1 is contacted. See benchmarks/README.md.

Exit status: 0 when every request succeeded (targets are reported, not enforced), 1 when a request
failed (non-2xx, transport error, unexpected body, missing X-Query-Count), 2 when set-up failed.
"""

import argparse
import http.client
import json
import math
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote_plus


PROJECT_DIR = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
PG_PORT = 5432
PG_ADMIN_DSN = f"host={HOST} port={PG_PORT} user=postgres dbname=postgres"
SCIM = "/scim/v2"

MAX_QUERIES = 6
MATCH_P99_TARGET_MS = 20.0
# --compare / --baseline: the larger run's match p99 may be at most this many times the smaller's.
SCALING_FACTOR_LIMIT = 2.0

REQUEST_TIMEOUT_S = 30
SERVER_START_TIMEOUT_S = 60
MIGRATE_TIMEOUT_S = 600
KEEP_EXAMPLES = 3

SCENARIOS = [
    ("test_connection", "(a) Test-Connection filter, random GUID"),
    ("match", "(b) userName eq match, case variant"),
    ("match_1client", "(b1) same match, 1 client (no queueing)"),
    ("create", "(c) POST /Users (Entra body)"),
    ("patch", "(d) PATCH emails[work].value + familyName"),
    ("disable", '(e) PATCH active "False"'),
    ("get", "(f) GET /Users/{id}"),
]
MATCH_SCENARIOS = ("match", "match_1client", "test_connection")

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


def start_server(env: dict, workers: int, log_path: Path, access_log_path: Path) -> Server:
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "config.wsgi:application",
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


# Seeding (Django in this process) --------------------------------------------------------------


def seed(env: dict, accounts: int, batch_size: int) -> dict:
    """Bulk-insert the organization, a token and N accounts; return what the scenarios need."""
    for key in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE", "DJANGO_DEBUG", "DJANGO_ALLOWED_HOSTS"):
        os.environ[key] = env[key]
    os.environ.pop("REDIS_URL", None)
    if str(PROJECT_DIR) not in sys.path:
        sys.path.insert(0, str(PROJECT_DIR))

    import django

    django.setup()

    from django.contrib.auth.hashers import make_password
    from django.db import connection, transaction
    from django.utils import timezone

    from accounts.models import ValueAttribute, WorkAccount, WorkAccountValue
    from accounts.services import organization_create
    from scim.services import scim_token_create

    organization = organization_create(slug="bench", name="Benchmark Org")
    secret = scim_token_create(organization=organization, label="bench").secret
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
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    connection.close()
    return {"token": secret, "accounts": seeded}


# Load ------------------------------------------------------------------------------------------


@dataclass
class RequestSpec:
    method: str
    path: str
    body: bytes | None = None
    expect: tuple[int, ...] = (200,)
    total_results: int | None = None  # for filters: the totalResults the answer must carry


@dataclass
class Sample:
    request_id: str
    latency_ms: float
    status: int
    queries: int | None


@dataclass
class ScenarioResult:
    samples: list[Sample] = field(default_factory=list)
    wall_s: float = 0.0
    failures: list[dict] = field(default_factory=list)  # examples: request + response
    query_overruns: list[dict] = field(default_factory=list)
    error_count: int = 0
    error_reasons: dict = field(default_factory=dict)


def body_json(payload: dict) -> bytes:
    return json.dumps(payload).encode()


def filter_path(attribute: str, value: str) -> str:
    # Entra's encoding: spaces as "+", quotes as %22 (entra-scim.md §1.2).
    return f"{SCIM}/Users?filter=" + quote_plus(f'{attribute} eq "{value}"')


def case_variant(rng: random.Random, value: str) -> str:
    variant = rng.choice([str.upper, str.lower, str.swapcase])(value)
    return variant if variant != value else value.swapcase()


def build_requests(name: str, count: int, seeded: list, rng: random.Random, pools: dict) -> list[RequestSpec]:
    if name == "test_connection":
        return [
            RequestSpec("GET", filter_path("userName", str(uuid.uuid4())), total_results=0)
            for _ in range(count)
        ]
    if name in ("match", "match_1client"):
        return [
            RequestSpec(
                "GET", filter_path("userName", case_variant(rng, rng.choice(seeded)[1])), total_results=1
            )
            for _ in range(count)
        ]
    if name == "create":
        specs = []
        for _ in range(count):
            tag = uuid.uuid4()
            payload = {
                "schemas": [
                    "urn:ietf:params:scim:schemas:core:2.0:User",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
                ],
                "externalId": str(uuid.uuid4()),
                "userName": f"Test_User_{tag}",
                "active": True,
                "emails": [{"primary": True, "type": "work", "value": f"Test_User_{tag}@testuser.com"}],
                "meta": {"resourceType": "User"},
                "name": {
                    "formatted": "givenName familyName",
                    "familyName": "familyName",
                    "givenName": "givenName",
                },
                "roles": [],
            }
            specs.append(RequestSpec("POST", f"{SCIM}/Users", body_json(payload), expect=(201,)))
        return specs
    if name == "patch":
        specs = []
        for i, (account_id, _user_name) in enumerate(pools["patch"][:count]):
            payload = {
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [
                    {
                        "op": "Replace",
                        "path": 'emails[type eq "work"].value',
                        "value": f"updated.{i}.{secrets.token_hex(4)}@contoso.example",
                    },
                    {"op": "Replace", "path": "name.familyName", "value": f"Updated{i}"},
                ],
            }
            specs.append(
                RequestSpec("PATCH", f"{SCIM}/Users/{account_id}", body_json(payload), expect=(200, 204))
            )
        return specs
    if name == "disable":
        payload = body_json(
            {
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "Replace", "path": "active", "value": "False"}],
            }
        )
        return [
            RequestSpec("PATCH", f"{SCIM}/Users/{account_id}", payload, expect=(200, 204))
            for account_id, _user_name in pools["disable"][:count]
        ]
    if name == "get":
        return [RequestSpec("GET", f"{SCIM}/Users/{rng.choice(seeded)[0]}") for _ in range(count)]
    raise ValueError(name)


def distinct_pools(seeded: list, count: int, rng: random.Random) -> dict:
    """Each PATCH and disable touches a different account, as Entra's per-user updates do."""
    shuffled = rng.sample(seeded, len(seeded))
    if len(shuffled) < 2 * count:  # tiny N: reuse accounts rather than fail
        shuffled = (shuffled * math.ceil(2 * count / max(1, len(shuffled))))[: 2 * count]
    return {"patch": shuffled[:count], "disable": shuffled[count : 2 * count]}


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
    return None


def run_load(
    port: int, token: str, specs: list[RequestSpec], concurrency: int, max_seconds: float
) -> ScenarioResult:
    result = ScenarioResult(samples=[None] * len(specs))
    lock = threading.Lock()
    next_index = [0]
    deadline = time.monotonic() + max_seconds
    base_headers = {
        "Authorization": f"Bearer {token}",
        "Accept": "application/scim+json",
        "Connection": "keep-alive",
    }

    def record_problem(bucket: list, spec: RequestSpec, status, headers, payload, reason):
        if len(bucket) < KEEP_EXAMPLES:
            bucket.append(
                {
                    "reason": reason,
                    "request": {
                        "method": spec.method,
                        "path": spec.path,
                        "body": spec.body.decode() if spec.body else None,
                    },
                    "response": {
                        "status": status,
                        "headers": headers,
                        "body": payload.decode(errors="replace")[:2000],
                    },
                }
            )

    def client():
        conn = http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT_S)
        while True:
            with lock:
                index = next_index[0]
                next_index[0] += 1
            if index >= len(specs) or time.monotonic() > deadline:
                break
            spec = specs[index]
            request_id = uuid.uuid4().hex
            headers = dict(base_headers, **{"client-request-id": request_id})
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
            raw_count = response_headers.get("X-Query-Count")
            queries = int(raw_count) if raw_count and raw_count.isdigit() else None
            result.samples[index] = Sample(request_id, latency_ms, status, queries)
            reason = check_answer(spec, status, payload)
            if reason is None and queries is None:
                reason = "no X-Query-Count header"
            with lock:
                if reason is not None:
                    result.error_count += 1
                    result.error_reasons[reason] = result.error_reasons.get(reason, 0) + 1
                    record_problem(result.failures, spec, status, response_headers, payload, reason)
                elif queries > MAX_QUERIES:
                    record_problem(
                        result.query_overruns, spec, status, response_headers, payload, f"{queries} queries"
                    )
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


def print_table(report: dict) -> None:
    print()
    print(
        f"SCIM /Users benchmark: N={report['accounts']:,} accounts, concurrency={report['concurrency']}, "
        f"gunicorn workers={report['workers']} (sync, 1 thread), {report['requests']} requests/scenario"
    )
    print(
        f"database {report['database']}: migrate {report['migrate_s']:.1f}s, seed {report['seed_s']:.1f}s "
        f"(incl. ANALYZE), server ready in {report['server_start_s']:.1f}s; {report['cpus']} CPUs, "
        f"load average {report['load_average']['before']} before / {report['load_average']['after']} after"
    )
    header = (
        f"{'scenario':<45} {'reqs':>5} {'errs':>4} {'req/s':>6} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7} "
        f"{'srv p50':>7} {'srv p99':>7} {'max q':>5} {'mean q':>6}"
    )
    print(header)
    print("-" * len(header))
    for key, label in SCENARIOS:
        s = report["scenarios"].get(key)
        if s is None:
            continue
        print(
            f"{label:<45} {s['requests']:>5} {s['errors']:>4} {fmt(s['requests_per_s']):>6} "
            f"{fmt(s['p50_ms']):>7} {fmt(s['p99_ms']):>7} {fmt(s['max_ms']):>7} "
            f"{fmt(s['server_p50_ms']):>7} {fmt(s['server_p99_ms']):>7} "
            f"{fmt(s['max_queries']):>5} {fmt(s['mean_queries']):>6}"
        )
    print(
        "p50/p99/max: client-observed latency (includes waiting for a free worker); "
        "srv p50/p99: gunicorn's own request time"
    )
    memory = report["memory"]
    peaks = ", ".join(f"{kb / 1024:.1f}" for kb in memory["worker_peak_rss_kb"].values())
    restarts = memory["workers_seen"] > report["workers"]
    print(
        f"gunicorn peak RSS (VmHWM): workers [{peaks}] MB, max {fmt(memory['max_worker_peak_rss_mb'])} MB, "
        f"sum {fmt(memory['sum_worker_peak_rss_mb'])} MB; master {memory['master_peak_rss_mb']} MB"
        + (f"; {memory['workers_seen']} worker pids seen (restarts!)" if restarts else "")
    )


def print_problems(report: dict) -> None:
    for key, label in SCENARIOS:
        s = report["scenarios"].get(key)
        if not s:
            continue
        if s["errors"]:
            print(f"\nERRORS in {label}: {s['errors']} {s['error_reasons']}; first examples:")
            for example in s["failures"]:
                print(json.dumps(example, indent=2))
        if s["query_overruns"]:
            print(f"\nMORE THAN {MAX_QUERIES} QUERIES in {label}; first examples:")
            for example in s["query_overruns"]:
                print(json.dumps(example, indent=2))


def targets(report: dict) -> list[dict]:
    lines = []
    labels = dict(SCENARIOS)
    for key in MATCH_SCENARIOS:
        s = report["scenarios"].get(key)
        if s and s["p99_ms"] is not None:
            lines.append(
                {
                    "name": f"{labels[key]} p99 < {MATCH_P99_TARGET_MS:g} ms",
                    "ok": s["p99_ms"] < MATCH_P99_TARGET_MS,
                    "detail": f"p99 {s['p99_ms']} ms (server-side {fmt(s['server_p99_ms'])} ms) "
                    f"at N={report['accounts']:,}, concurrency {s['concurrency']}",
                }
            )
    worst = [
        (s["max_queries"], key) for key, s in report["scenarios"].items() if s["max_queries"] is not None
    ]
    missing = sum(s["requests_without_query_count"] for s in report["scenarios"].values())
    failed = [f"{key} {s['errors']}" for key, s in report["scenarios"].items() if s["errors"]]
    if worst:
        top, where = max(worst)
        over = [
            f"{key} max {s['max_queries']}"
            for key, s in report["scenarios"].items()
            if (s["max_queries"] or 0) > MAX_QUERIES
        ]
        detail = ", ".join(over) if over else f"max {top} ({where})"
        if missing:
            detail += f"; {missing} responses without X-Query-Count"
        if failed:
            # A request that failed early ran fewer statements than a real one would.
            detail += f"; inconclusive, failed requests: {', '.join(failed)}"
        lines.append(
            {
                "name": f"at most {MAX_QUERIES} SQL queries per request (every scenario)",
                "ok": top <= MAX_QUERIES and not missing and not failed,
                "detail": detail,
            }
        )
    return lines


def scaling_target(first: dict, second: dict) -> dict | None:
    small, large = sorted((first, second), key=lambda r: r["accounts"])
    a, b = small["scenarios"].get("match"), large["scenarios"].get("match")
    if not a or not b or a["p99_ms"] is None or b["p99_ms"] is None or small["accounts"] == large["accounts"]:
        return None
    ratio = b["p99_ms"] / a["p99_ms"] if a["p99_ms"] else float("inf")
    return {
        "name": f"match p99 at N={large['accounts']:,} within {SCALING_FACTOR_LIMIT:g}x "
        f"of N={small['accounts']:,}",
        "ok": ratio <= SCALING_FACTOR_LIMIT,
        "detail": f"p99 {a['p99_ms']} -> {b['p99_ms']} ms ({ratio:.2f}x); "
        f"p50 {a['p50_ms']} -> {b['p50_ms']} ms; "
        f"server-side p99 {fmt(a['server_p99_ms'])} -> {fmt(b['server_p99_ms'])} ms",
    }


def print_targets(lines: list[dict]) -> None:
    print()
    for line in lines:
        print(f"{'PASS' if line['ok'] else 'FAIL'}  {line['name']}: {line['detail']}")


# Orchestration ---------------------------------------------------------------------------------


def run_once(args) -> dict:
    rng = random.Random(args.seed)
    db_name = f"wa_bench_{secrets.token_hex(4)}"
    env = server_env(db_name)
    server = None
    created = False
    seen_workers: set[int] = set()
    try:
        print(f"creating database {db_name} ...", flush=True)
        create_database(db_name)
        created = True
        started = time.perf_counter()
        migrate(env)
        migrate_s = time.perf_counter() - started
        print(f"migrated in {migrate_s:.1f}s; seeding {args.accounts:,} accounts ...", flush=True)
        started = time.perf_counter()
        seeded = seed(env, args.accounts, args.batch_size)
        seed_s = time.perf_counter() - started
        print(f"seeded in {seed_s:.1f}s; starting gunicorn ...", flush=True)
        token = seeded["token"]
        accounts = seeded["accounts"]

        tmp = Path(tempfile.gettempdir())
        started = time.perf_counter()
        server = start_server(
            env, args.workers, tmp / f"{db_name}-gunicorn.log", tmp / f"{db_name}-access.log"
        )
        wait_until_ready(server, token, args.workers)
        server_start_s = time.perf_counter() - started
        seen_workers.update(worker_pids(server.process.pid))

        # Warm-up (not measured): every worker imports lazily-loaded code and opens its DB
        # connection, and the token's 5-minute last_used_at write happens here.
        warm = build_requests("test_connection", 8 * args.workers, accounts, rng, {})
        warm += build_requests("get", 8 * args.workers, accounts, rng, {})
        run_load(server.port, token, warm, args.concurrency, args.max_seconds)

        pools = distinct_pools(accounts, args.requests, rng)
        load_before = load_average()
        raw = {}
        for key, label in SCENARIOS:
            if key == "match_1client":
                count, concurrency = args.unloaded_requests, 1
                if count <= 0:
                    continue
            else:
                count, concurrency = args.requests, args.concurrency
            specs = build_requests(key, count, accounts, rng, pools)
            print(f"running {label} ...", flush=True)
            raw[key] = (run_load(server.port, token, specs, concurrency, args.max_seconds), concurrency)
            seen_workers.update(worker_pids(server.process.pid))
        memory = memory_report(server.process.pid, seen_workers)
        load_after = load_average()
        if server.process.poll() is not None:
            raise RuntimeError(f"gunicorn died during the run:\n{server.log_tail()}")
        stop_server(server)  # flushes the access log
        times = server_times_ms(server.access_log_path)
        return {
            "accounts": args.accounts,
            "concurrency": args.concurrency,
            "workers": args.workers,
            "requests": args.requests,
            "database": db_name,
            "migrate_s": round(migrate_s, 2),
            "seed_s": round(seed_s, 2),
            "server_start_s": round(server_start_s, 2),
            "cpus": os.cpu_count(),
            "load_average": {"before": load_before, "after": load_after},
            "scenarios": {key: summarize(result, times, c) for key, (result, c) in raw.items()},
            "memory": memory,
            "server_log_tail": server.log_tail(20),
        }
    finally:
        # A second Ctrl-C or SIGTERM must not leave a server or a database behind.
        previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
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
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def run_compare(args) -> int:
    """Run 10k and 100k in separate processes (Django is set up once per process), then compare."""
    reports, worst = [], 0
    with tempfile.TemporaryDirectory() as tmp:
        for size in (10_000, 100_000):
            out = Path(tmp) / f"{size}.json"
            command = [sys.executable, __file__, "--accounts", str(size), "--json", str(out)]
            command += ["--concurrency", str(args.concurrency), "--requests", str(args.requests)]
            command += ["--workers", str(args.workers), "--max-seconds", str(args.max_seconds)]
            command += ["--unloaded-requests", str(args.unloaded_requests)]
            command += ["--batch-size", str(args.batch_size), "--seed", str(args.seed)]
            code = subprocess.run(command, check=False).returncode
            worst = max(worst, code)
            if code == 2 or not out.exists():
                return 2
            reports.append(json.loads(out.read_text()))
    line = scaling_target(reports[0], reports[1])
    if line:
        print_targets([line])
    if args.json:
        Path(args.json).write_text(json.dumps({"runs": reports, "scaling": line}, indent=2))
    return worst


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--accounts", type=int, default=10_000, help="work accounts to seed (default 10000)")
    parser.add_argument("--large", action="store_true", help="shortcut for --accounts 100000")
    parser.add_argument("--compare", action="store_true", help="run 10k then 100k and compare match p99")
    parser.add_argument("--baseline", help="JSON of an earlier run (--json) to compare match p99 against")
    parser.add_argument("--concurrency", type=int, default=8, help="client threads (default 8)")
    parser.add_argument("--requests", type=int, default=400, help="requests per scenario (default 400)")
    parser.add_argument(
        "--unloaded-requests",
        type=int,
        default=200,
        help="requests for the extra 1-client match scenario (default 200; 0 skips it)",
    )
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers (default 4)")
    parser.add_argument(
        "--max-seconds", type=float, default=120, help="time limit per scenario (default 120)"
    )
    parser.add_argument("--batch-size", type=int, default=5000, help="bulk_create batch (default 5000)")
    parser.add_argument("--seed", type=int, default=1, help="random seed for request selection")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args(argv)
    if args.large:
        args.accounts = 100_000
    if args.accounts < 1 or args.requests < 1 or args.concurrency < 1 or args.workers < 1:
        parser.error("--accounts, --requests, --concurrency and --workers must be positive")

    # Ctrl-C and SIGTERM both unwind through run_once's cleanup (stop server, drop database).
    signal.signal(signal.SIGTERM, _interrupt)

    if args.compare:
        return run_compare(args)

    try:
        report = run_once(args)
    except KeyboardInterrupt:
        print("interrupted; cleaned up", file=sys.stderr)
        return 2
    except Exception as exc:  # set-up failure: report it, cleanup already ran
        print(f"benchmark set-up failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2

    print_table(report)
    print_problems(report)
    lines = targets(report)
    if args.baseline:
        line = scaling_target(json.loads(Path(args.baseline).read_text()), report)
        if line:
            lines.append(line)
    report["targets"] = lines
    print_targets(lines)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    errors = sum(s["errors"] for s in report["scenarios"].values())
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
