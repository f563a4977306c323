"""
Audit API benchmark: /api/v1/events/ pages with 1,000,000 provisioning events. Prints figures,
no PASS/FAIL except the target line (p99 < 100 ms for every page of up to 100 events).

    .venv/bin/python benchmarks/api_events.py              # 1,000,000 events (about 4 min)
    .venv/bin/python benchmarks/api_events.py --quick      # 100,000 events (about 1 min)

Steps: create database wa_bench_<random> -> migrate -> seed one organization, a SCIM token and N
accounts, then COPY the events exactly as benchmarks/provisioning_logs.py does (its seeding is
reused: 2 organizations, 5 connections, 30 days, 90 % of the events the first organization's,
6 % failures), ANALYZE -> an API client per organization (api_client_create) -> start gunicorn
(-w 4) on a free 127.0.0.1 port -> a client-credentials token from /o/token/ -> time each page
with one client, one request at a time (`--requests` each, after a warm-up): client-observed and
gunicorn's own time, p50 and p99 -> stop the server, drop the database (also on failure or
Ctrl-C). Only 127.0.0.1 is contacted. See benchmarks/README.md.
"""

import argparse
import base64
import http.client
import importlib.util
import json
import os
import random
import secrets
import signal
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode, urlsplit


BENCHMARKS = Path(__file__).resolve().parent
PROJECT = BENCHMARKS.parent
# The project before benchmarks/: Django's `import provisioning_logs` must find the app, not the
# benchmark of that name, which is loaded below under another name for its seeding.
sys.path[:] = [str(PROJECT), *[p for p in sys.path if p != str(PROJECT)]]
if str(BENCHMARKS) not in sys.path:
    sys.path.append(str(BENCHMARKS))

from common import (  # noqa: E402
    HOST,
    clean_up,
    create_database,
    fmt,
    interrupt,
    load_average,
    migrate,
    percentile,
    run_reported,
    server_env,
    server_times_ms,
    start_server,
    stop_server,
    wait_until_ready,
)


TARGET_P99_MS = 100
WORKERS = 4


def _log_benchmark():
    spec = importlib.util.spec_from_file_location(
        "provisioning_logs_benchmark", BENCHMARKS / "provisioning_logs.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def create_api_clients(organization_ids: list[int]) -> list[tuple[str, str]]:
    from django.db import connection

    from accounts.models import Organization
    from provisioning_logs.api.clients import api_client_create

    issued = [
        api_client_create(organization=Organization.objects.get(pk=pk), name="Benchmark SIEM")
        for pk in organization_ids
    ]
    connection.close()
    return [(i.client.client_id, i.client_secret) for i in issued]


def bench_facts(organization_id: int) -> dict:
    """Values the filtered pages use: a user with events, a second connection, a request id."""
    from django.db import connection

    from accounts.connections.models import ProvisioningConnection
    from provisioning_logs.models import ProvisioningEvent

    events = ProvisioningEvent.objects.filter(organization_id=organization_id)
    identity = (
        events.filter(resource_type="User").exclude(identity="").values_list("identity", flat=True)[5000]
    )
    request_id = events.values_list("request_id", flat=True)[123_456 % max(1, events.count())]
    connections = list(
        ProvisioningConnection.objects.filter(organization_id=organization_id)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    connection.close()
    return {"identity": identity, "request_id": request_id, "connections": connections}


def token_of(port: int, client_id: str, secret: str) -> str:
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    credentials = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    conn.request(
        "POST",
        "/o/token/",
        body="grant_type=client_credentials",
        headers={
            "Authorization": f"Basic {credentials}",
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    response = conn.getresponse()
    body = json.loads(response.read())
    conn.close()
    if response.status != 200:
        raise RuntimeError(f"token request failed: {response.status} {body}")
    return body["access_token"]


def get(port: int, token: str, path: str) -> tuple[int, dict, float, str]:
    request_id = str(uuid.uuid4())
    started = time.perf_counter()
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    conn.request(
        "GET",
        path,
        headers={
            "Authorization": f"Bearer {token}",
            "Accept": "application/json",
            "client-request-id": request_id,
        },
    )
    response = conn.getresponse()
    payload = response.read()
    elapsed = (time.perf_counter() - started) * 1000
    conn.close()
    return response.status, (json.loads(payload) if payload else {}), elapsed, request_id


def local_path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def pages_to_time(port: int, token: str, facts: dict, now: datetime) -> list[tuple[str, str]]:
    since = (now - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    pages = [
        ("first page (newest 100)", "/api/v1/events/"),
        ("status=Failure", "/api/v1/events/?status=Failure"),
        ("identity=<userName>", "/api/v1/events/?" + urlencode({"identity": facts["identity"]})),
        ("request_id=<id>", "/api/v1/events/?" + urlencode({"request_id": facts["request_id"]})),
        (
            "connection=<2nd>&status=Failure",
            f"/api/v1/events/?connection={facts['connections'][1]}&status=Failure",
        ),
        ("http_status=409", "/api/v1/events/?http_status=409"),
        ("action=Delete&resource_type=Group", "/api/v1/events/?action=Delete&resource_type=Group"),
        ("export: order=oldest&since=-1 day", f"/api/v1/events/?order=oldest&since={since}"),
        ("page_size=1000", "/api/v1/events/?page_size=1000"),
    ]
    # The 50th page by cursor: a keyset page costs the same wherever it is.
    status, body, _, _ = get(port, token, "/api/v1/events/")
    for _ in range(49):
        status, body, _, _ = get(port, token, local_path(body["next"]))
    pages.append(("50th page (cursor)", local_path(body["next"])))
    return pages


def time_pages(port: int, token: str, pages: list, requests: int, warmup: int) -> dict:
    results = {}
    for label, path in pages:
        for _ in range(warmup):
            get(port, token, path)
        latencies, ids, errors, rows = [], [], 0, None
        for _ in range(requests):
            status, body, elapsed, request_id = get(port, token, path)
            if status != 200:
                errors += 1
                if errors == 1:
                    print(f"  {label}: HTTP {status} {json.dumps(body)[:200]}", flush=True)
                continue
            latencies.append(elapsed)
            ids.append(request_id)
            rows = len(body["results"])
        results[label] = {
            "path": path,
            "latencies": latencies,
            "request_ids": ids,
            "errors": errors,
            "rows": rows,
        }
    return results


def summary(results: dict, server_times: dict) -> dict:
    out = {}
    for label, result in results.items():
        latencies = sorted(result["latencies"])
        in_server = sorted(server_times[r] for r in result["request_ids"] if r in server_times)
        out[label] = {
            "path": result["path"],
            "rows": result["rows"],
            "requests": len(latencies),
            "errors": result["errors"],
            "p50_ms": round(percentile(latencies, 50), 1) if latencies else None,
            "p99_ms": round(percentile(latencies, 99), 1) if latencies else None,
            "server_p50_ms": round(percentile(in_server, 50), 1) if in_server else None,
            "server_p99_ms": round(percentile(in_server, 99), 1) if in_server else None,
        }
    return out


def run_once(args) -> dict:
    rng = random.Random(args.seed)
    logs = _log_benchmark()
    db_name = f"wa_bench_{secrets.token_hex(4)}"
    env = server_env(db_name)
    server = None
    created = False
    report: dict = {"database": db_name, "cpus": os.cpu_count(), "events": args.events}
    tmp = Path(tempfile.gettempdir())
    try:
        print(f"creating database {db_name} ...", flush=True)
        create_database(db_name)
        created = True
        migrate(env)
        base = logs.seed_base(env, args.accounts, 5000)
        print(f"seeding {args.events:,} provisioning events ...", flush=True)
        report["seeding"] = logs.seed_events(db_name, base["organization_id"], args.events, rng)
        clients = create_api_clients([base["organization_id"], report["seeding"]["organization_b_id"]])
        facts = bench_facts(base["organization_id"])
        # The throttle cache: Redis when given (as production runs), else the database table.
        # Every request of the benchmark comes from one client: no throttle may refuse them.
        server_env_ = dict(env, AUDIT_API_RATE="1000000/minute")
        if args.redis_url:
            server_env_["REDIS_URL"] = args.redis_url
        report["throttle_cache"] = "redis" if args.redis_url else "database"
        server = start_server(
            server_env_,
            WORKERS,
            tmp / f"{db_name}.log",
            tmp / f"{db_name}-access.log",
            production_config=True,
        )
        wait_until_ready(server, base["token"], WORKERS)
        token = token_of(server.port, *clients[0])
        other_token = token_of(server.port, *clients[1])
        report["load_average"] = {"before": load_average()}
        pages = pages_to_time(server.port, token, facts, datetime.now(UTC))
        results = time_pages(server.port, token, pages, args.requests, args.warmup)
        results.update(
            {
                f"other organization: {label}": result
                for label, result in time_pages(
                    server.port, other_token, [("first page", "/api/v1/events/")], args.requests, args.warmup
                ).items()
            }
        )
        report["load_average"]["after"] = load_average()
        stop_server(server)  # flushes the access log
        report["pages"] = summary(results, server_times_ms(server.access_log_path))
        print_report(report)
        return report
    finally:
        clean_up(server, db_name, created)


def print_report(report: dict) -> None:
    seeding = report["seeding"]
    print()
    print(
        f"{seeding['rows']:,} events ({seeding['table_size']} table, {seeding['indexes_size']} indexes), "
        f"{seeding['per_organization']['a']['events']:,} of them the timed organization's; "
        f"gunicorn -w {WORKERS}; throttle counts in the {report['throttle_cache']} cache; "
        "one client, one request at a time"
    )
    header = (
        f"{'page':<40} {'rows':>5} {'reqs':>5} {'errs':>4} "
        f"{'p50 ms':>7} {'p99 ms':>7} {'srv p50':>7} {'srv p99':>7}"
    )
    print(header)
    print("-" * len(header))
    for label, page in report["pages"].items():
        print(
            f"{label:<40} {fmt(page['rows']):>5} {page['requests']:>5} {page['errors']:>4} "
            f"{fmt(page['p50_ms']):>7} {fmt(page['p99_ms']):>7} {fmt(page['server_p50_ms']):>7} "
            f"{fmt(page['server_p99_ms']):>7}"
        )
    # The target is for pages of 100 (the default); page_size=1000 is shown for what it costs.
    worst = max((page["p99_ms"] or 0) for page in report["pages"].values() if (page["rows"] or 0) <= 100)
    print()
    print(
        f"{'PASS' if worst < TARGET_P99_MS else 'FAIL'}  "
        f"every page of up to 100 events p99 < {TARGET_P99_MS} ms "
        f"(worst {worst} ms); {report['cpus']} CPUs, "
        f"load average {report['load_average']['before']} before / {report['load_average']['after']} after"
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="100,000 events, 50 requests per page")
    parser.add_argument("--events", type=int, help="provisioning events to bulk-load (default 1000000)")
    parser.add_argument("--accounts", type=int, default=10_000, help="work accounts (default 10000)")
    parser.add_argument("--requests", type=int, help="timed requests per page (default 200)")
    parser.add_argument("--warmup", type=int, default=5, help="untimed requests per page first (default 5)")
    parser.add_argument(
        "--redis-url",
        help="a Redis for the server's throttle counts, as in production (default: the database cache)",
    )
    parser.add_argument("--seed", type=int, default=1, help="random seed")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args(argv)
    if args.events is None:
        args.events = 100_000 if args.quick else 1_000_000
    if args.requests is None:
        args.requests = 50 if args.quick else 200
    signal.signal(signal.SIGTERM, interrupt)
    report = run_reported(run_once, args)
    if report is None:
        return 2
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2, default=str))
    return 1 if any(page["errors"] for page in report["pages"].values()) else 0


if __name__ == "__main__":
    sys.exit(main())
