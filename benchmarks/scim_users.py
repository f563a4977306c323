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
import json
import math
import os
import random
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import quote_plus

from common import (
    SCIM,
    RequestSpec,
    analyze,
    body_json,
    clean_up,
    create_database,
    fmt,
    interrupt,
    load_average,
    memory_report,
    migrate,
    print_scenarios,
    print_targets,
    run_load,
    run_reported,
    seed_accounts,
    server_env,
    server_times_ms,
    setup_django,
    start_server,
    stop_server,
    summarize,
    wait_until_ready,
    worker_pids,
)


MAX_QUERIES = 6
MATCH_P99_TARGET_MS = 20.0
# --compare / --baseline: the larger run's match p99 may be at most this many times the smaller's.
SCALING_FACTOR_LIMIT = 2.0

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


# Seeding (Django in this process) --------------------------------------------------------------


def seed(env: dict, accounts: int, batch_size: int) -> dict:
    """Bulk-insert the organization, a token and N accounts; return what the scenarios need."""
    setup_django(env)

    from django.db import connection

    from accounts.connections.services import scim_token_create
    from accounts.services import organization_create

    organization = organization_create(slug="bench", name="Benchmark Org")
    secret = scim_token_create(organization=organization, label="bench").secret
    seeded = seed_accounts(organization, accounts, batch_size)
    analyze()
    connection.close()
    return {"token": secret, "accounts": seeded}


# Load ------------------------------------------------------------------------------------------


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


# Reporting -------------------------------------------------------------------------------------


def print_table(report: dict) -> None:
    print()
    print(
        f"SCIM /Users benchmark: N={report['accounts']:,} accounts, concurrency={report['concurrency']}, "
        f"gunicorn workers={report['workers']} (sync, 1 thread), {report['requests']} requests/scenario"
    )
    print_scenarios(report, SCENARIOS, 45)
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
        run_load(server.port, token, warm, args.concurrency, args.max_seconds, MAX_QUERIES)

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
            result = run_load(server.port, token, specs, concurrency, args.max_seconds, MAX_QUERIES)
            raw[key] = (result, concurrency)
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
        clean_up(server, db_name, created)


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
    signal.signal(signal.SIGTERM, interrupt)

    if args.compare:
        return run_compare(args)

    report = run_reported(run_once, args)
    if report is None:
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
