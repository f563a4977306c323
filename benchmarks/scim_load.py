"""
SCIM /Users under keep-alive load (issue 15): the Procfile's production `web` command, wrk, and
server CPU per request; optionally the in-memory peer scim2-server in the same run.

    .venv/bin/python benchmarks/scim_load.py                         # 10,000 accounts, 16 connections
    .venv/bin/python benchmarks/scim_load.py --peer                  # and scim2-server, with the ratio
    .venv/bin/python benchmarks/scim_load.py --accounts 1000000 --keep-database   # flat to 1 M
    .venv/bin/python benchmarks/scim_load.py --connections 2 --duration 5

Steps: database wa_perf_load_<N> (kept with --keep-database and reused when already seeded) ->
the Procfile's `release` (migrate, collectstatic) with production settings -> create_org and
create_scim_token -> N accounts and their work e-mails inserted by PostgreSQL itself
(generate_series; 1,000,000 in about 5 minutes) -> VACUUM ANALYZE -> the EXPLAIN ANALYZE of every
filter Entra sends (exit 3 when one is not an index lookup) -> the Procfile's `web` command ->
per scenario: a checked pass (every answer verified, SQL statements counted from X-Query-Count),
then wrk for --duration seconds at --connections keep-alive connections, the workers' CPU
(utime+stime from /proc, reaped workers included through the master's cutime+cstime) before and
after, divided by the requests answered. Only 127.0.0.1 is contacted.

Exit status: 0 when every answer was right, 1 when one was not, 2 on a set-up failure, 3 when a
filter query at this N is not an index lookup.
"""

import argparse
import http.client
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import quote_plus


sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import HOST, PG_PORT, SCIM, drop_database, load_average, percentile, worker_pids  # noqa: E402


PROJECT_DIR = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PORT_RANGE = range(12800, 12900)  # this benchmark's loopback ports (the portal first, the peer after)
PUBLIC_HOST = "portal.example.com"
# What the balancer in front of production adds (TLS ended there); loopback is the trusted proxy.
BALANCER_HEADERS = {"Host": PUBLIC_HOST, "X-Forwarded-Proto": "https"}
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE_SCHEMA = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
POOL = 4000  # distinct requests per scenario script (wrk cycles through them)
CHECKED = 40  # requests of each scenario's checked pass
CPU_TICKS = os.sysconf("SC_CLK_TCK")
# A plan is an index lookup when no node scans or filters away more rows than this.
PLAN_ROWS_LIMIT = 1000

SCENARIOS = [
    ("test_connection", 'Test Connection: userName eq "<random>" (0 results)'),
    ("match", "match: userName eq <existing>, case variant"),
    ("external_id", "externalId eq <existing>"),
    ("email", 'emails[type eq "work"].value eq <existing>'),
    ("get", "GET /Users/{id}"),
    ("create", "POST /Users (Entra body)"),
    ("patch", "PATCH Entra legacy multi-op"),
]
FILTER_SCENARIOS = ("test_connection", "match", "external_id", "email")
READS = ("test_connection", "match", "external_id", "email", "get")


# Set-up ----------------------------------------------------------------------------------------


def procfile() -> dict[str, str]:
    commands = {}
    for line in (PROJECT_DIR / "Procfile").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, command = line.partition(":")
            commands[name.strip()] = command.strip()
    return commands


METRICS_TOKEN = "bench-metrics-" + uuid.uuid4().hex


def production_env(db_name: str, port: int, static_root: Path, args) -> dict:
    (static_root.parent / "metrics").mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "GUNICORN_"))}
    env.update(
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        DJANGO_SETTINGS_MODULE="config.settings.production",
        DJANGO_SECRET_KEY="bench-" + "k" * 30 + "-a-production-like-random-secret-value",
        DJANGO_ALLOWED_HOSTS=f"{PUBLIC_HOST},{HOST}",
        DATABASE_URL=f"postgres://postgres@{HOST}:{PG_PORT}/{db_name}",
        REDIS_URL=args.redis_url,
        PORTAL_BASE_URL=f"https://{PUBLIC_HOST}",
        TRUSTED_PROXIES="127.0.0.0/8",
        DJANGO_STATIC_ROOT=str(static_root),
        PORT=str(port),
        # /metrics, summed over the workers: the log flusher's events per batch.
        METRICS_TOKEN=METRICS_TOKEN,
        PROMETHEUS_MULTIPROC_DIR=str(static_root.parent / "metrics"),
        # The per-connection limit (100/s by default) would be what is measured; still taken, from Redis.
        SCIM_RATE_LIMIT="1000000",
        SCIM_RATE_BURST="1000000",
        # Counted for the checked pass only (it asks); wrk's requests run without the counter.
        QUERY_COUNT_HEADER="asked",
    )
    if args.workers:
        env["WEB_CONCURRENCY"] = str(args.workers)
    if args.threads:
        env["GUNICORN_THREADS"] = str(args.threads)
    if args.memory_requests:
        env["GUNICORN_MAX_REQUESTS"] = "0"  # no recycling: growth would show
    for assignment in args.env:
        name, _, value = assignment.partition("=")
        env[name] = value
    return env


def sh(command: str, env: dict, timeout: float = 900) -> str:
    result = subprocess.run(
        ["/bin/sh", "-c", command], cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=timeout
    )
    if result.returncode != 0:
        raise RuntimeError(f"{command}\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}")
    return result.stdout


def pg(db_name: str):
    import psycopg

    return psycopg.connect(f"host={HOST} port={PG_PORT} user=postgres dbname={db_name}", autocommit=True)


def database_exists(db_name: str) -> bool:
    with pg("postgres") as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [db_name]).fetchone() is not None


SEED_SQL = """
INSERT INTO accounts_workaccount (
    id, password, is_superuser, role, user_name, external_id, is_active, display_name,
    name_given_name, name_family_name, name_formatted, department, roles, date_joined, updated_at,
    version, security_stamp, organization_id)
SELECT gen_random_uuid(), '!bench', false, 'member',
       g.given || '.' || g.family || lpad(i::text, 7, '0') || '@Contoso.example',
       'ext-' || lpad(i::text, 7, '0'), true, g.given || ' ' || g.family, g.given, g.family,
       g.given || ' ' || g.family, CASE WHEN i %% 3 = 0 THEN 'Sales' ELSE 'Retail' END, '[]'::jsonb,
       now() - (%(n)s - i) * interval '1 second', now(), 1, gen_random_uuid(), %(org)s
FROM generate_series(%(start)s, %(stop)s - 1) AS i,
     LATERAL (SELECT (ARRAY['Adele','Alex','Diego','Grady','Henrietta','Isaiah','Johanna','Lee','Megan',
                            'Nestor'])[1 + i %% 10] AS given,
                     (ARRAY['Vance','Wilber','Siciliani','Archie','Mueller','Langer','Lidic','Gu','Bowen',
                            'Wilke'])[1 + (i / 10) %% 10] AS family) AS g
"""
SEED_EMAILS_SQL = """
INSERT INTO accounts_workaccountvalue (attribute, position, type, "primary", value, account_id)
SELECT 'emails', 0, 'work', true, lower(user_name), id
FROM accounts_workaccount WHERE organization_id = %(org)s
"""


def user_name(i: int) -> str:
    given = ["Adele", "Alex", "Diego", "Grady", "Henrietta", "Isaiah", "Johanna", "Lee", "Megan", "Nestor"]
    family = ["Vance", "Wilber", "Siciliani", "Archie", "Mueller", "Langer", "Lidic", "Gu", "Bowen", "Wilke"]
    return f"{given[i % 10]}.{family[(i // 10) % 10]}{i:07d}@Contoso.example"


def seed(db_name: str, env: dict, accounts: int) -> int:
    """The Procfile's release, the organization, N accounts with a work e-mail each; the org's id."""
    sh(procfile()["release"], env)
    sh("python manage.py create_org bench --name 'Benchmark Org'", env)
    with pg(db_name) as conn:
        org = conn.execute("SELECT id FROM accounts_organization WHERE slug = 'bench'").fetchone()[0]
        started = time.perf_counter()
        step = 100_000
        for start in range(0, accounts, step):
            stop = min(accounts, start + step)
            conn.execute(SEED_SQL, {"n": accounts, "org": org, "start": start, "stop": stop})
            if stop < accounts:
                print(f"  seeded {stop:,} / {accounts:,} ({time.perf_counter() - started:.0f}s)", flush=True)
        # The e-mails' deferred foreign-key checks plan against these statistics: without them,
        # a sequential scan of the accounts per row (hours at 1,000,000).
        conn.execute("ANALYZE accounts_workaccount")
        conn.execute(SEED_EMAILS_SQL, {"org": org})
        conn.execute("CREATE TABLE IF NOT EXISTS bench_seeded (accounts integer)")
        conn.execute("INSERT INTO bench_seeded VALUES (%s)", [accounts])
        conn.execute("VACUUM ANALYZE")
    return org


# Seeded accounts with their work e-mail as it is now: a kept database has accounts whose e-mail an
# earlier run's PATCH scenario replaced.
SAMPLED = (
    "SELECT id::text, user_name, external_id, (SELECT v.value FROM accounts_workaccountvalue v "
    "WHERE v.account_id = accounts_workaccount.id AND v.attribute = 'emails' AND v.type = 'work' "
    "ORDER BY v.position LIMIT 1) FROM accounts_workaccount"
)


def sample_accounts(db_name: str, count: int) -> list[tuple[str, str, str, str]]:
    """(id, userName, externalId, work e-mail) of `count` random seeded accounts."""
    with pg(db_name) as conn:
        rows = conn.execute(
            f"{SAMPLED} TABLESAMPLE SYSTEM (5) WHERE external_id LIKE 'ext-%%' LIMIT %s", [count]
        ).fetchall()
        if len(rows) < count:
            rows = conn.execute(
                f"{SAMPLED} WHERE external_id LIKE 'ext-%%' ORDER BY random() LIMIT %s", [count]
            ).fetchall()
    return rows


# Query plans -----------------------------------------------------------------------------------


EXPLAIN_SCRIPT = r"""
import json, sys
import django
django.setup()
from types import SimpleNamespace
from django.db import connection
from accounts.models import Organization, WorkAccount
from scim.hooks import UserFilterQuery, extra_filter_kwargs_getter, queryset_post_processor_getter

organization = Organization.objects.get(slug="bench")
request = SimpleNamespace(scim=SimpleNamespace(organization=organization), GET={}, META={})
plans = {}
for name, query in json.loads(sys.argv[1]).items():
    scope = extra_filter_kwargs_getter(WorkAccount)(request)
    queryset = UserFilterQuery.search(query, request).filter(**scope)
    queryset = queryset_post_processor_getter(WorkAccount)(request, queryset)
    plans[name] = queryset[:100].explain(analyze=True)
print(json.dumps(plans))
"""


def explain_filters(env: dict, filters: dict[str, str]) -> dict[str, str]:
    """The EXPLAIN ANALYZE of each filter's page query, built by the views' own hooks."""
    explain_env = dict(env, DJANGO_SETTINGS_MODULE="config.settings.production")
    out = subprocess.run(
        [sys.executable, "-c", EXPLAIN_SCRIPT, json.dumps(filters)],
        cwd=PROJECT_DIR,
        env=explain_env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"EXPLAIN failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def plan_problems(plan: str) -> list[str]:
    """Why a plan is not an index lookup: a sequential scan, or a node discarding many rows."""
    problems = []
    for line in plan.splitlines():
        if "Seq Scan" in line and "accounts_" in line:
            problems.append(line.strip())
        if "Rows Removed by Filter:" in line:
            removed = int(line.split("Rows Removed by Filter:")[1].split()[0])
            if removed > PLAN_ROWS_LIMIT:
                problems.append(line.strip())
    return problems


# Servers ---------------------------------------------------------------------------------------


def free_port_in_range(skip: set[int]) -> int:
    import socket

    for port in PORT_RANGE:
        if port in skip:
            continue
        with socket.socket() as sock:
            try:
                sock.bind((HOST, port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {PORT_RANGE}")


class Process:
    def __init__(self, command: list[str], env: dict, log: Path):
        self.log_path = log
        with open(log, "wb") as out:
            self.popen = subprocess.Popen(
                command,
                cwd=PROJECT_DIR,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)  # only the group this script started
                self.popen.wait(timeout=10)

    def tail(self) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-30:])


def proc_cpu_s(pid: int, children: bool = False) -> float:
    """utime+stime (and with children, the reaped children's cutime+cstime) of a process, in s."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of proc(5))
    if children:
        ticks += int(fields[13]) + int(fields[14])  # cutime, cstime
    return ticks / CPU_TICKS


def services_cpu_s() -> dict[str, float]:
    """
    CPU of the local PostgreSQL (every backend and helper, and those already reaped: the
    postmaster's cutime) and Redis, in s: a portal request costs them too, and on this machine
    they share the cores with the web workers and wrk. The peer keeps everything in memory.
    """
    totals = {"postgres": 0.0, "redis-server": 0.0}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        name = text[text.index("(") + 1 : text.rindex(")")]
        if name not in totals:
            continue
        fields = text.rsplit(")", 1)[1].split()
        ticks = int(fields[11]) + int(fields[12])
        if _parent_name(fields[1]) != name:
            ticks += int(fields[13]) + int(fields[14])  # the postmaster: its reaped backends
        totals[name] += ticks / CPU_TICKS
    return totals


def _parent_name(pid: str) -> str:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return text[text.index("(") + 1 : text.rindex(")")]


class Target:
    """One SCIM service under test: where it listens, how to authenticate, how to read its CPU."""

    def __init__(self, name: str, process: Process, port: int, token: str, headers: dict, base: str = SCIM):
        self.name, self.process, self.port, self.token, self.headers = name, process, port, token, headers
        self.base = base  # the SCIM base path, without the trailing slash

    def cpu_s(self) -> float:
        # The gunicorn workers (their own time) plus workers already reaped (the master's cutime).
        master = self.process.popen.pid  # the shell exec'd gunicorn: this is the arbiter
        total = sum(proc_cpu_s(pid) for pid in worker_pids(master))
        return total + proc_cpu_s(master, children=True) - proc_cpu_s(master)

    def rss_mb(self) -> list[float]:
        pids = worker_pids(self.process.popen.pid)
        sizes = []
        for pid in pids:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    sizes.append(round(int(line.split()[1]) / 1024, 1))
        return sizes

    def request(self, method: str, path: str, body: bytes | None = None, conn=None):
        own = conn is None
        conn = conn or http.client.HTTPConnection(HOST, self.port, timeout=30)
        headers = {
            "Authorization": f"Bearer {self.token}",
            "Accept": "application/scim+json",
            "X-Query-Count": "?",  # the portal counts this request's statements (QUERY_COUNT_HEADER=asked)
            **self.headers,
        }
        if body is not None:
            headers["Content-Type"] = "application/scim+json"
        conn.request(method, self.base + path, body=body, headers=headers)
        response = conn.getresponse()
        payload = response.read()
        if own:
            conn.close()
        return response.status, dict(response.getheaders()), payload


def log_batches(target: Target) -> tuple[float, float] | None:
    """(batches, events) the portal's log flushers have written so far, from /metrics."""
    if target.name != "portal":
        return None
    conn = http.client.HTTPConnection(HOST, target.port, timeout=30)
    try:
        conn.request(
            "GET", "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}", **target.headers}
        )
        text = conn.getresponse().read().decode()
    finally:
        conn.close()
    values = {}
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        if name in ("provisioning_log_batch_events_count", "provisioning_log_batch_events_sum"):
            values[name] = float(value)
    return values.get("provisioning_log_batch_events_count", 0.0), values.get(
        "provisioning_log_batch_events_sum", 0.0
    )


def start_portal(env: dict, run_dir: Path) -> Process:
    # The Procfile's web command as the platform runs it (a shell, the virtualenv first on PATH).
    return Process(["/bin/sh", "-c", "exec " + procfile()["web"]], env, run_dir / "web.log")


def wait_until_up(target: Target, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if target.process.popen.poll() is not None:
            raise RuntimeError(f"{target.name} exited:\n{target.process.tail()}")
        try:
            status, _, _ = target.request("GET", "/ServiceProviderConfig")
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{target.name} did not answer within {timeout}s:\n{target.process.tail()}")


def start_peer(run_dir: Path, port: int, token: str) -> Target:
    command = [str(BIN / "scim2-server"), "--hostname", HOST, "--port", str(port), "--bearer-token", token]
    process = Process(command, dict(os.environ), run_dir / "peer.log")
    target = Target("scim2-server", process, port, token, {}, base="")
    wait_until_up(target)
    return target


def peer_cpu_s(target: Target) -> float:
    return proc_cpu_s(target.process.popen.pid)


def seed_peer(target: Target, count: int) -> list[tuple[str, str, str, str]]:
    """POST `count` users like the portal's seed; (id, userName, externalId, work e-mail) of each."""
    seeded = []
    conn = http.client.HTTPConnection(HOST, target.port, timeout=30)
    for i in range(count):
        name, external_id = user_name(i), f"ext-{i:07d}"
        body = json.dumps(
            {
                "schemas": [USER_SCHEMA],
                "userName": name,
                "externalId": external_id,
                "active": True,
                "displayName": name.split("@")[0],
                "emails": [{"type": "work", "primary": True, "value": name.lower()}],
            }
        ).encode()
        status, _, payload = target.request("POST", "/Users", body, conn)
        if status != 201:
            raise RuntimeError(f"peer seed: {status} {payload[:300]!r}")
        seeded.append((json.loads(payload)["id"], name, external_id, name.lower()))
    conn.close()
    return seeded


# Scenarios -------------------------------------------------------------------------------------


def filter_path(expression: str) -> str:
    return "/Users?filter=" + quote_plus(expression)  # Entra: spaces as "+", quotes %22


def case_variant(rng: random.Random, value: str) -> str:
    return rng.choice([str.upper, str.lower, str.swapcase])(value)


def entra_create_body(tag: str) -> dict:
    return {
        "schemas": [USER_SCHEMA, ENTERPRISE_SCHEMA],
        "externalId": f"bench-{tag}",
        "userName": f"Test_User_{tag}",
        "active": True,
        "emails": [{"primary": True, "type": "work", "value": f"Test_User_{tag}@testuser.com"}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
        "roles": [],
    }


def entra_patch_body(i) -> dict:
    # entra-scim.md §1.8: Entra's legacy multi-op PATCH ("Replace", value-filtered path).
    return {
        "schemas": [PATCH_SCHEMA],
        "Operations": [
            {"op": "Replace", "path": 'emails[type eq "work"].value', "value": f"updated{i}@contoso.example"},
            {"op": "Replace", "path": "name.familyName", "value": f"Family{i}"},
        ],
    }


def scenario_requests(name: str, accounts: list, rng: random.Random, tag: str) -> list[dict]:
    """The requests one scenario cycles through: method, path, body, expected status and totalResults."""
    out = []
    for i in range(POOL):
        account_id, account_name, external_id, work_email = accounts[i % len(accounts)]
        if name == "test_connection":
            out.append({"m": "GET", "p": filter_path(f'userName eq "{uuid.uuid4()}"'), "s": 200, "t": 0})
        elif name == "match":
            out.append(
                {
                    "m": "GET",
                    "p": filter_path(f'userName eq "{case_variant(rng, account_name)}"'),
                    "s": 200,
                    "t": 1,
                }
            )
        elif name == "external_id":
            out.append({"m": "GET", "p": filter_path(f'externalId eq "{external_id}"'), "s": 200, "t": 1})
        elif name == "email":
            value = work_email
            out.append(
                {"m": "GET", "p": filter_path(f'emails[type eq "work"].value eq "{value}"'), "s": 200, "t": 1}
            )
        elif name == "get":
            out.append({"m": "GET", "p": f"/Users/{account_id}", "s": 200})
        elif name == "create":
            # @N@ becomes a per-request counter in wrk: every userName is new.
            body = json.dumps(entra_create_body(f"{tag}-@N@"))
            out.append({"m": "POST", "p": "/Users", "b": body, "s": 201})
        elif name == "patch":
            out.append(
                # Unique per run and request: no two accounts of a kept database share a work e-mail.
                {
                    "m": "PATCH",
                    "p": f"/Users/{account_id}",
                    "b": json.dumps(entra_patch_body(f"{tag}.{i}")),
                    "s": 200,
                }
            )
    return out


def checked_pass(target: Target, requests: list[dict], tag: str) -> dict:
    """CHECKED requests on one keep-alive connection, each answer verified; statements counted."""
    conn = http.client.HTTPConnection(HOST, target.port, timeout=30)
    statements, failures, latencies = [], [], []
    for index, spec in enumerate(requests[:CHECKED]):
        body = spec.get("b")
        if body is not None:
            body = body.replace("@N@", f"check{index}").encode()
        started = time.perf_counter()
        try:
            status, headers, payload = target.request(spec["m"], spec["p"], body, conn)
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            failures.append(f"{spec['m']} {spec['p']}: {exc!r}")
            continue
        latencies.append((time.perf_counter() - started) * 1000)
        reason = None
        if status not in (spec["s"], 204 if spec["m"] == "PATCH" else spec["s"]):
            reason = f"HTTP {status}"
        elif "t" in spec:
            total = json.loads(payload).get("totalResults")
            if total != spec["t"]:
                reason = f"totalResults {total}, expected {spec['t']}"
        if reason:
            failures.append(f"{spec['m']} {spec['p']}: {reason}: {payload[:300]!r}")
        if headers.get("X-Query-Count", "").isdigit():
            statements.append(int(headers["X-Query-Count"]))
    conn.close()
    latencies.sort()
    return {
        "statements_mean": round(sum(statements) / len(statements), 1) if statements else None,
        "statements_max": max(statements) if statements else None,
        "failures": failures,
        "p50_1conn_ms": round(percentile(latencies, 50), 2) if latencies else None,
    }


LUA = r"""
local requests = {%(requests)s}
local headers = %(headers)s
counter = 0
function setup(thread)
  thread_count = (thread_count or 0) + 1
  thread:set("tid", thread_count)
end
function init(args)
  counter = (tid or 1) * 100003
end
request = function()
  counter = counter + 1
  local r = requests[(counter %% #requests) + 1]
  local body = r[3]
  if body then body = string.gsub(body, "@N@", "%(run)s-" .. tid .. "-" .. counter) end
  return wrk.format(r[1], r[2], headers, body)
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%%d,"duration_us":%%d,"p50_us":%%d,"p99_us":%%d,"max_us":%%d,' ..
    '"status_errors":%%d,"connect":%%d,"read":%%d,"write":%%d,"timeout":%%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.max,
    e.status, e.connect, e.read, e.write, e.timeout))
end
"""


def lua_string(value: str) -> str:
    level = "=" * 4
    return f"[{level}[{value}]{level}]"


def wrk_script(target: Target, requests: list[dict], run_tag: str, path: Path) -> None:
    headers = {"Authorization": f"Bearer {target.token}", "Accept": "application/scim+json", **target.headers}
    headers["Content-Type"] = "application/scim+json"
    rows = []
    for spec in requests:
        body = lua_string(spec["b"]) if spec.get("b") else "nil"
        url = target.base + spec["p"]
        rows.append(f"{{{lua_string(spec['m'])}, {lua_string(url)}, {body}}}")
    header_table = "{" + ", ".join(f"[ {lua_string(k)} ] = {lua_string(v)}" for k, v in headers.items()) + "}"
    path.write_text(LUA % {"requests": ",\n".join(rows), "headers": header_table, "run": run_tag})


def run_wrk(target: Target, script: Path, connections: int, duration: float, cpu) -> dict:
    threads = max(1, min(2, connections))
    before, services_before = cpu(), services_cpu_s()
    out = subprocess.run(
        [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{max(1, round(duration))}s",
            "--timeout",
            "30s",
            "-s",
            str(script),
            f"http://{HOST}:{target.port}",
        ],
        capture_output=True,
        text=True,
        timeout=duration + 120,
        check=False,
    )
    after, services_after = cpu(), services_cpu_s()
    line = next((x for x in out.stdout.splitlines() if x.startswith("WRKJSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result:\n{out.stdout}\n{out.stderr}")
    result = json.loads(line[len("WRKJSON ") :])
    requests = result["requests"]
    kinds = {k: result[k] for k in ("status_errors", "connect", "read", "write", "timeout") if result[k]}
    return {
        "requests": requests,
        "errors": sum(kinds.values()),
        "error_kinds": kinds,  # status_errors: answers of 400 or more; read: a connection closed under wrk
        "rps": round(requests / (result["duration_us"] / 1e6), 1),
        "p50_ms": round(result["p50_us"] / 1000, 2),
        "p99_ms": round(result["p99_us"] / 1000, 2),
        "cpu_ms": round((after - before) * 1000 / requests, 2) if requests else None,
        "db_cpu_ms": _per_request(services_after, services_before, "postgres", requests),
        "redis_cpu_ms": _per_request(services_after, services_before, "redis-server", requests),
    }


def settle(cpu, quiet_share: float = 0.05, timeout: float = 60) -> float:
    """
    Wait until the target has finished what wrk left it (requests still in flight when wrk
    stopped: scim2-server's e-mail filter takes seconds each) so that it does not run into the
    next scenario's measurement of the other server. Quiet: under `quiet_share` of a core over
    half a second. The seconds waited.
    """
    started = time.monotonic()
    last = cpu()
    while time.monotonic() - started < timeout:
        time.sleep(0.5)
        now = cpu()
        if now - last < 0.5 * quiet_share:
            break
        last = now
    return round(time.monotonic() - started, 1)


def _per_request(after: dict, before: dict, service: str, requests: int) -> float | None:
    return round((after[service] - before[service]) * 1000 / requests, 2) if requests else None


# The run ---------------------------------------------------------------------------------------


def measure(target: Target, accounts: list, names: list[str], args, run_dir: Path, cpu) -> dict:
    rng = random.Random(args.seed)
    run_tag = uuid.uuid4().hex[:8]
    results = {}
    for name in names:
        requests = scenario_requests(name, accounts, rng, run_tag)
        checked = checked_pass(target, requests, run_tag)
        script = run_dir / f"{target.name}-{name}.lua"
        wrk_script(target, requests[CHECKED:], run_tag, script)
        batches_before = log_batches(target)
        load = run_wrk(target, script, args.connections, args.duration, cpu)
        batches_after = log_batches(target)
        load["settled_s"] = settle(cpu)
        if batches_before is not None and batches_after[0] > batches_before[0]:
            load["log_events_per_batch"] = round(
                (batches_after[1] - batches_before[1]) / (batches_after[0] - batches_before[0]), 1
            )
        results[name] = {**checked, **load}
        print(
            f"  {target.name:<12} {name:<16} {load['rps']:>7} req/s  p50 {load['p50_ms']:>6} ms  "
            f"p99 {load['p99_ms']:>7} ms  cpu {fmt(load['cpu_ms']):>5} ms/req  "
            f"db {fmt(load['db_cpu_ms'])} redis {fmt(load['redis_cpu_ms'])}  "
            f"sql {fmt(checked['statements_mean'])}  events/batch {fmt(load.get('log_events_per_batch'))}  "
            f"errors {load['errors']} {load['error_kinds'] or ''} settled {load['settled_s']} s "
            f"{'FAILED: ' + checked['failures'][0] if checked['failures'] else ''}",
            flush=True,
        )
    return results


def fmt(value) -> str:
    return "-" if value is None else str(value)


def print_table(report: dict) -> None:
    portal, peer = report["portal"], report.get("peer")
    print()
    print(
        f"N={report['accounts']:,} connections={report['connections']} duration={report['duration']}s "
        f"workers={report['workers']} load average {report['load_before']} / {report['load_after']}"
    )
    header = f"{'scenario':<48} {'req/s':>7} {'p50':>6} {'p99':>7} {'cpu ms':>6} {'db ms':>5} {'sql':>5}"
    if peer:
        header += f" {'peer r/s':>8} {'peer cpu':>8} {'r/s ×':>6} {'cpu ×':>6}"
    print(header)
    print("-" * len(header))
    for name, label in SCENARIOS:
        s = portal.get(name)
        if s is None:
            continue
        line = (
            f"{label:<48} {s['rps']:>7} {s['p50_ms']:>6} {s['p99_ms']:>7} {fmt(s['cpu_ms']):>6} "
            f"{fmt(s['db_cpu_ms']):>5} {fmt(s['statements_mean']):>5}"
        )
        if peer and name in peer:
            p = peer[name]
            ratio = round(s["rps"] / p["rps"], 2) if p["rps"] else None
            cpu_ratio = round(s["cpu_ms"] / p["cpu_ms"], 2) if p.get("cpu_ms") else None
            line += f" {p['rps']:>8} {fmt(p['cpu_ms']):>8} {fmt(ratio):>6} {fmt(cpu_ratio):>6}"
        print(line)
    events_per_batch = {
        name: s.get("log_events_per_batch") for name, s in portal.items() if s.get("log_events_per_batch")
    }
    print(f"provisioning log events per batch written by the flushers: {events_per_batch}")
    print(f"worker RSS after the run (MB): {report['worker_rss_mb']}")
    print(
        "(cpu ms: server CPU per request, the web workers' utime+stime; db ms: PostgreSQL's, every "
        "process of it, during the same wrk run, the flushers' batches included)"
    )


def run(args) -> int:
    if shutil.which("wrk") is None:
        print("wrk is not installed (apt-get install wrk)", file=sys.stderr)
        return 2
    db_name = args.database or f"wa_perf_load_{args.accounts}"
    run_dir = Path(tempfile.mkdtemp(prefix="scim_load_"))
    port = free_port_in_range(set())
    env = production_env(db_name, port, run_dir / "static", args)
    portal = peer = None
    report = {"accounts": args.accounts, "connections": args.connections, "duration": args.duration}
    status = 0
    try:
        seeded = False
        if database_exists(db_name):
            with pg(db_name) as conn:
                row = conn.execute("SELECT to_regclass('bench_seeded') IS NOT NULL").fetchone()[0]
                count = row and conn.execute("SELECT accounts FROM bench_seeded").fetchone()[0]
                seeded = count == args.accounts
            if not seeded:
                drop_database(db_name)
        if not seeded:
            with pg("postgres") as conn:
                conn.execute(f'CREATE DATABASE "{db_name}"')
            started = time.perf_counter()
            seed(db_name, env, args.accounts)
            print(f"seeded {args.accounts:,} accounts in {time.perf_counter() - started:.0f}s", flush=True)
        else:
            sh(procfile()["release"], env)  # this branch's migrations, static files for the run
            with pg(db_name) as conn:
                conn.execute("ANALYZE")
                # A connection holds at most two live tokens: a reused seed drops the last run's.
                conn.execute("DELETE FROM accounts_scimsecrettoken")
        token = sh("python manage.py create_scim_token bench", env).strip().splitlines()[-1]
        accounts = sample_accounts(db_name, POOL)

        a_id, a_name, a_ext, a_email = accounts[0]
        filters = {
            "test_connection": f'userName eq "{uuid.uuid4()}"',
            "match": f'userName eq "{a_name.upper()}"',
            "external_id": f'externalId eq "{a_ext}"',
            "email": f'emails[type eq "work"].value eq "{a_email}"',
        }
        plans = explain_filters(env, filters)
        report["plans"] = plans
        bad_plans = {}
        for name, plan in plans.items():
            print(f"\nEXPLAIN ANALYZE {name} ({filters[name]}) at N={args.accounts:,}:\n{plan}")
            problems = plan_problems(plan)
            if problems:
                bad_plans[name] = problems
        if bad_plans:
            print(f"\nFAIL: not an index lookup at N={args.accounts:,}: {json.dumps(bad_plans, indent=2)}")
            status = 3
            if not args.keep_going:
                return status

        names = [n for n, _ in SCENARIOS if not args.only or n in args.only]
        report["load_before"] = load_average()
        portal_process = start_portal(env, run_dir)
        portal = Target("portal", portal_process, port, token, BALANCER_HEADERS)
        wait_until_up(portal)
        report["workers"] = len(worker_pids(portal_process.popen.pid))
        if args.profile:
            return profile(portal, accounts, args, run_dir)
        if args.memory_requests:
            return memory_run(portal, accounts, args, run_dir, report)
        peer_accounts = None
        if args.peer:
            peer_port = free_port_in_range({port})
            peer = start_peer(run_dir, peer_port, "peer-" + uuid.uuid4().hex)
            peer_accounts = seed_peer(peer, args.peer_accounts)
        print(flush=True)
        report["portal"], report["peer"] = {}, {} if peer else None
        # Interleaved per scenario: portal then peer, so both see the same machine load.
        for name in names:
            report["portal"].update(measure(portal, accounts, [name], args, run_dir, portal.cpu_s))
            if peer:
                peer_cpu = lambda: peer_cpu_s(peer)  # noqa: E731
                report["peer"].update(measure(peer, peer_accounts, [name], args, run_dir, peer_cpu))
        report["load_after"] = load_average()
        report["worker_rss_mb"] = portal.rss_mb()
        print_table(report)
        if any(s["failures"] or s["errors"] for s in report["portal"].values()):
            status = max(status, 1)
        if args.json:
            Path(args.json).write_text(json.dumps(report, indent=2))
        return status
    finally:
        for target in (portal, peer):
            if target is not None:
                target.process.stop()
        shutil.rmtree(run_dir, ignore_errors=True)
        if not args.keep_database:
            drop_database(db_name)


MEMORY_MIX = ("test_connection", "match", "external_id", "email", "get", "patch")
MEMORY_LIMIT_MB = 120  # issue 15: per web worker, after 100,000 requests


def memory_run(portal: Target, accounts: list, args, run_dir: Path, report: dict) -> int:
    """
    --memory-requests N: Entra's reads and PATCHes, interleaved, in wrk rounds of --duration s until
    N requests were answered; every worker's RSS before, after each round and at the end. Worker
    recycling is off unless --env GUNICORN_MAX_REQUESTS=... says otherwise: a leak is not hidden
    by restarts.
    """
    rng = random.Random(args.seed)
    run_tag = uuid.uuid4().hex[:8]
    mixed = []
    for name in MEMORY_MIX:
        mixed.append(scenario_requests(name, accounts, rng, run_tag)[CHECKED:])
    requests = [spec for group in zip(*mixed, strict=False) for spec in group]
    script = run_dir / "memory.lua"
    wrk_script(portal, requests, run_tag, script)
    pids = worker_pids(portal.process.popen.pid)
    samples = [(0, portal.rss_mb())]
    print(f"memory run: {args.memory_requests:,} requests of {', '.join(MEMORY_MIX)}; workers {pids}")
    print(f"  {0:>8,} requests  RSS MB {samples[0][1]}", flush=True)
    answered, errors, cpu_ms = 0, 0, []
    while answered < args.memory_requests:
        result = run_wrk(portal, script, args.connections, args.duration, portal.cpu_s)
        answered += result["requests"]
        errors += result["errors"]
        cpu_ms.append(result["cpu_ms"])
        samples.append((answered, portal.rss_mb()))
        print(
            f"  {answered:>8,} requests  RSS MB {samples[-1][1]}  {result['rps']} req/s  "
            f"p99 {result['p99_ms']} ms  cpu {result['cpu_ms']} ms/req",
            flush=True,
        )
    recycled = sorted(set(worker_pids(portal.process.popen.pid)) ^ set(pids))
    first_full = samples[1][1]
    last = samples[-1][1]
    growth = [round(b - a, 1) for a, b in zip(first_full, last, strict=False)] if not recycled else None
    verdict = "PASS" if max(last) < MEMORY_LIMIT_MB and not errors else "FAIL"
    print(
        f"\nafter {answered:,} requests: worker RSS {last} MB (limit {MEMORY_LIMIT_MB}); growth since the "
        f"first round {growth} MB; workers replaced meanwhile: {len(recycled) // 2}; errors {errors}; "
        f"load average {load_average()}: {verdict}"
    )
    report["memory"] = {"samples": samples, "answered": answered, "errors": errors, "growth_mb": growth}
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    return 0 if verdict == "PASS" else 1


def profile(portal: Target, accounts: list, args, run_dir: Path) -> int:
    """py-spy on one worker while one connection sends a scenario's requests (--profile NAME)."""
    rng = random.Random(args.seed)
    requests = scenario_requests(args.profile, accounts, rng, uuid.uuid4().hex[:8])
    script = run_dir / "profile.lua"
    wrk_script(portal, requests, "prof", script)
    workers = worker_pids(portal.process.popen.pid)
    out = Path(args.profile_output or f"profile-{args.profile}.txt").resolve()
    spies = [
        subprocess.Popen(
            [
                str(BIN / "py-spy"),
                "record",
                "-p",
                str(pid),
                "-d",
                str(int(args.duration)),
                "-r",
                "200",
                "-f",
                "raw",
                "-o",
                f"{out}.{pid}",
                "--nonblocking",
                # --gil: only the thread holding the GIL, i.e. where the CPU goes, not waits.
                *(["--gil"] if args.profile_gil else []),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for pid in workers
    ]
    time.sleep(1)
    print(run_wrk(portal, script, args.connections, args.duration - 2, portal.cpu_s))
    for spy in spies:
        spy.wait(timeout=120)
    print(f"py-spy raw stacks in {out}.<pid>")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of wrk per scenario")
    parser.add_argument("--workers", type=int, help="WEB_CONCURRENCY (default: config/gunicorn.py's)")
    parser.add_argument("--threads", type=int, help="GUNICORN_THREADS (default: config/gunicorn.py's)")
    parser.add_argument("--env", action="append", default=[], help="NAME=value for the web process")
    parser.add_argument("--only", nargs="*", help="scenario names")
    parser.add_argument("--peer", action="store_true", help="also scim2-server, in the same run")
    parser.add_argument("--peer-accounts", type=int, default=10_000)
    parser.add_argument("--database")
    parser.add_argument(
        "--keep-database", action="store_true", help="keep (and next time reuse) the seeded database"
    )
    parser.add_argument("--keep-going", action="store_true", help="run the load even when a plan is wrong")
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/8"))
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--json")
    parser.add_argument(
        "--memory-requests",
        type=int,
        help="instead of the table: this many mixed requests, worker RSS sampled (recycling off)",
    )
    parser.add_argument("--profile", help="py-spy the workers during this scenario instead of the table")
    parser.add_argument("--profile-output")
    parser.add_argument("--profile-gil", action="store_true", help="py-spy --gil: CPU only")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        return run(args)
    except KeyboardInterrupt:
        print("interrupted; cleaned up", file=sys.stderr)
        return 2
    except Exception as exc:  # set-up failures
        print(f"benchmark set-up failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
