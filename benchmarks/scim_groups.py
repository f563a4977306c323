"""
SCIM /Groups load benchmark: Entra-shaped membership PATCHes and reads against one group of
100,000 members, on a real gunicorn server and a throw-away PostgreSQL database.

    .venv/bin/python benchmarks/scim_groups.py                     # 100,000-member group
    .venv/bin/python benchmarks/scim_groups.py --members 10000     # a smaller big group
    .venv/bin/python benchmarks/scim_groups.py --json groups.json

Steps: create database wa_bench_<random> -> manage.py migrate -> bulk-seed N accounts in one big
group, a 10-member group, ~1,000 small groups and spare accounts for the adds (Django set up in this
process) -> ANALYZE -> start gunicorn (4 sync workers) -> warm up -> drive each scenario with
concurrent keep-alive clients -> check the membership rows -> print a table and PASS/FAIL lines ->
stop gunicorn, drop the database (also on failure or Ctrl-C). Only 127.0.0.1 is contacted. See
benchmarks/README.md.

Exit status: 0 when every request succeeded (targets are reported, not enforced), 1 when a request
failed (non-2xx, transport error, unexpected body, missing X-Query-Count) or the membership rows
do not match the successful PATCHes, 2 when set-up failed.
"""

import argparse
import collections
import http.client
import json
import os
import random
import secrets
import signal
import sys
import tempfile
import threading
import time
import uuid
from contextlib import suppress
from pathlib import Path
from urllib.parse import quote_plus

from common import (
    HOST,
    PG_PORT,
    REQUEST_TIMEOUT_S,
    SCIM,
    RequestSpec,
    ScenarioResult,
    analyze,
    body_json,
    clean_up,
    create_database,
    fmt,
    interrupt,
    load_average,
    migrate,
    print_scenarios,
    print_targets,
    proc_status_kb,
    record,
    run_load,
    run_reported,
    seed_accounts,
    send,
    server_env,
    server_times_ms,
    setup_django,
    start_server,
    stop_server,
    summarize,
    wait_until_ready,
    worker_hwm_reset,
    worker_pids,
)


SINGLE_PATCH_P99_TARGET_MS = 25.0
BULK_ADD_P99_TARGET_MS = 1000.0
GET_MEMBERS_RSS_TARGET_MB = 50.0
SMALL_GROUP_SIZE = 10  # the (h) group, and each of the ~1,000 small groups
# Reported, not a target: a membership PATCH should not need more statements than this.
MAX_QUERIES = 10

PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SUCCESS = tuple(range(200, 300))  # any 2xx is a success; group PATCH should answer 204

SCENARIOS = [
    ("add_one", "(a) PATCH Add 1 member, big group"),
    ("add_one_1client", "(a1) same Add, 1 client (no queueing)"),
    ("remove_legacy", "(b) PATCH Remove 1 member (value list)"),
    ("remove_filter", '(c) PATCH remove members[value eq "<id>"]'),
    ("add_bulk", "(d) PATCH Add 1,000 members, big group"),
    ("add_bulk_1client", "(d1) same 1,000-member Add, 1 client"),
    ("get_excluded", "(e) GET /Groups/{id}?excludedAttributes=members"),
    ("match", "(f) GET /Groups?filter=displayName eq (match)"),
    ("get_members", "(g) GET /Groups/{id} with members, 1 client"),
    ("add_one_small", "(h) PATCH Add 1 member, 10-member group"),
]
# Reads first, so that (g) sees exactly N members; (a) and (h) back to back for comparison.
RUN_ORDER = [
    "get_excluded",
    "match",
    "get_members",
    "add_one",
    "add_one_small",
    "add_one_1client",
    "remove_legacy",
    "remove_filter",
    "add_bulk",
    "add_bulk_1client",
]
SINGLE_PATCH_SCENARIOS = ("add_one", "remove_legacy", "remove_filter", "add_one_1client")
BULK_SCENARIOS = ("add_bulk", "add_bulk_1client")
ADD_SCENARIOS = ("add_one", "add_one_small", "add_one_1client", *BULK_SCENARIOS)
PATCH_SCENARIOS = (*ADD_SCENARIOS, "remove_legacy", "remove_filter")
UNLOADED = ("add_one_1client", "add_bulk_1client")  # one client: the request's cost without queueing


# Seeding (Django in this process) --------------------------------------------------------------


def seed(env: dict, args) -> dict:
    """
    Bulk-insert an organization, a token, N + spare accounts, the big group (the first N accounts),
    the 10-member group and the small groups; return what the scenarios need.
    """
    setup_django(env)

    from django.db import connection
    from django.utils import timezone

    from accounts.connections.services import scim_token_create
    from accounts.models import GroupMembership, WorkGroup
    from accounts.services import organization_create

    rng = random.Random(args.seed)
    organization = organization_create(slug="bench", name="Benchmark Org")
    secret = scim_token_create(organization=organization, label="bench").secret
    accounts = seed_accounts(organization, args.members + spare_layout(args)["total"], args.batch_size)
    ids = [account_id for account_id, _user_name in accounts]
    members, spare_ids = ids[: args.members], ids[args.members :]

    now = timezone.now()

    def group(name: str) -> WorkGroup:
        return WorkGroup(
            id=uuid.uuid4(),
            organization=organization,
            display_name=name,
            external_id=str(uuid.uuid4()),
            created_at=now,
            updated_at=now,
        )

    big = group(f"Contoso All Staff {args.members}")
    ten = group(f"Contoso Ten Members {SMALL_GROUP_SIZE}")
    small = [group(f"Contoso Team {i:04d}") for i in range(args.small_groups)]
    WorkGroup.objects.bulk_create([big, ten, *small], batch_size=args.batch_size)

    started = time.perf_counter()
    pool = members or ids
    rows = [(big.id, pk) for pk in members]
    rows += [(ten.id, pk) for pk in rng.sample(pool, min(SMALL_GROUP_SIZE, len(pool)))]
    for g in small:
        rows += [(g.id, pk) for pk in rng.sample(pool, min(SMALL_GROUP_SIZE, len(pool)))]
    table = GroupMembership._meta.db_table
    for start in range(0, len(rows), args.batch_size):
        batch = [
            GroupMembership(group_id=g, account_id=pk, created_at=now)
            for g, pk in rows[start : start + args.batch_size]
        ]
        GroupMembership.objects.bulk_create(batch)  # one transaction per batch
        if start == 0:
            analyze(table)  # keep the deferred foreign-key checks index lookups (see seed_accounts)
        done = min(len(rows), start + args.batch_size)
        if done % (10 * args.batch_size) == 0 and done < len(rows):
            print(
                f"  memberships {done:,} / {len(rows):,} ({time.perf_counter() - started:.1f}s)", flush=True
            )
    analyze()
    connection.close()
    return {
        "token": secret,
        "organization_id": organization.pk,
        "big": {"id": str(big.id), "name": big.display_name},
        "ten": {"id": str(ten.id), "name": ten.display_name},
        "small": [{"id": str(g.id), "name": g.display_name} for g in small],
        "members": members,
        "spare": spare_ids,
        "membership_rows": len(rows),
    }


def refresh_token_last_used() -> None:
    """
    Authentication writes the token's last_used_at once every 5 minutes (2 more statements).
    Setting it now keeps that write out of the next scenario (each lasts at most --max-seconds),
    so per-request query counts are comparable between scenarios.
    """
    from django.db import connection
    from django.utils import timezone

    from accounts.connections.models import ScimSecretToken

    ScimSecretToken.objects.update(last_used_at=timezone.now())
    connection.close()


def membership_counts(group_ids: list[str]) -> dict[str, int]:
    from django.db import connection
    from django.db.models import Count

    from accounts.models import GroupMembership

    rows = GroupMembership.objects.filter(group_id__in=group_ids).values("group_id").annotate(n=Count("id"))
    counts = {str(row["group_id"]): row["n"] for row in rows}
    connection.close()
    return {g: counts.get(g, 0) for g in group_ids}


# Requests --------------------------------------------------------------------------------------


def patch_body(*operations: dict) -> bytes:
    return body_json({"schemas": [PATCH_SCHEMA], "Operations": list(operations)})


def members_value(ids) -> list[dict]:
    return [{"value": pk} for pk in ids]


def check_group_without_members(group_id: str):
    def check(payload: bytes) -> str | None:
        try:
            document = json.loads(payload)
        except ValueError:
            return "unparsable Group"
        if not isinstance(document, dict) or document.get("id") != group_id:
            return "wrong or missing id"
        if "members" in document:
            return "members returned despite excludedAttributes=members"
        return None

    return check


def check_match(name: str):
    def check(payload: bytes) -> str | None:
        try:
            resources = json.loads(payload).get("Resources") or []
        except (ValueError, AttributeError):
            return "unparsable ListResponse"
        if len(resources) != 1 or resources[0].get("displayName") != name:
            return "wrong group returned"
        if "members" in resources[0]:
            return "members returned despite excludedAttributes=members"
        return None

    return check


def group_path(group_id: str, query: str = "") -> str:
    return f"{SCIM}/Groups/{group_id}" + (f"?{query}" if query else "")


def request_count(key: str, args) -> int:
    return {
        "add_bulk": args.bulk_requests,
        "add_one_1client": args.unloaded_requests,
        "add_bulk_1client": args.unloaded_bulk_requests,
        "get_members": args.get_requests,
    }.get(key, args.requests)


def spare_layout(args) -> dict:
    """Which spare accounts (in no group) each add scenario uses, so that every add inserts a row."""
    layout, start = {}, 0
    for key in ADD_SCENARIOS:
        size = request_count(key, args) * (args.bulk_size if key in BULK_SCENARIOS else 1)
        layout[key] = (start, start + max(0, size))
        start += max(0, size)
    layout["total"] = start
    return layout


def build_requests(key: str, count: int, seeded: dict, args, rng: random.Random) -> list[RequestSpec]:
    big, ten = seeded["big"]["id"], seeded["ten"]["id"]
    if key in ADD_SCENARIOS:  # each request adds different accounts, as Entra does
        first, last = spare_layout(args)[key]
        ids = seeded["spare"][first:last]
        per_request = args.bulk_size if key in BULK_SCENARIOS else 1
        group_id = ten if key == "add_one_small" else big
        return [
            RequestSpec(
                "PATCH",
                group_path(group_id),
                patch_body(
                    {"op": "Add", "path": "members", "value": members_value(ids[i : i + per_request])}
                ),
                expect=SUCCESS,
            )
            for i in range(0, min(len(ids), count * per_request), per_request)
        ]
    if key in ("remove_legacy", "remove_filter"):
        victims = seeded["removals"][key]
        if key == "remove_legacy":  # Entra without the aadOptscim062020 flag (entra-scim.md §1.13)
            operations = [{"op": "Remove", "path": "members", "value": members_value([pk])} for pk in victims]
        else:  # with the flag
            operations = [{"op": "remove", "path": f'members[value eq "{pk}"]'} for pk in victims]
        return [
            RequestSpec("PATCH", group_path(big), patch_body(op), expect=SUCCESS) for op in operations[:count]
        ]
    if key == "get_excluded":
        return [
            RequestSpec(
                "GET", group_path(big, "excludedAttributes=members"), check=check_group_without_members(big)
            )
            for _ in range(count)
        ]
    if key == "match":
        # Mostly the big group (the one this benchmark is about), else any other group.
        groups = [seeded["big"], seeded["ten"], *seeded["small"]]
        specs = []
        for i in range(count):
            name = seeded["big"]["name"] if i % 4 == 0 else rng.choice(groups)["name"]
            # Entra's encoding: spaces as "+", quotes as %22 (entra-scim.md §1.2).
            path = f"{SCIM}/Groups?excludedAttributes=members&filter=" + quote_plus(
                f'displayName eq "{name}"'
            )
            specs.append(RequestSpec("GET", path, total_results=1, check=check_match(name)))
        return specs
    raise ValueError(key)


# (g): the whole member list, one request at a time, with the serving worker's memory -----------


def run_get_members(port: int, master_pid: int, token: str, seeded: dict, args, peaks: dict) -> tuple:
    """
    Before each request, reset every worker's VmHWM to its current RSS (clear_refs); afterwards
    the serving worker's VmHWM minus that baseline is the memory the request needed.
    """
    path = group_path(seeded["big"]["id"])
    expected = set(seeded["members"])
    result = ScenarioResult(samples=[None] * args.get_requests)
    details = []
    deadline = time.monotonic() + args.max_seconds
    conn = http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT_S)
    for index in range(args.get_requests):
        if time.monotonic() > deadline:
            break
        returned = {}

        def check(payload: bytes, returned=returned) -> str | None:
            try:
                values = [member["value"] for member in json.loads(payload)["members"]]
            except (ValueError, KeyError, TypeError):
                return "unparsable Group or members"
            returned["count"] = len(values)
            if len(values) != len(expected) or set(values) != expected:
                distinct = len(set(values))
                return f"{len(values)} members returned ({distinct} distinct), expected the {len(expected)}"
            return None

        spec = RequestSpec("GET", path, check=check)
        pids = worker_pids(master_pid)
        baseline, reset_ok = {}, True
        for pid in pids:
            note_peak(peaks, pid)  # keep the run's overall peak before resetting it
            reset_ok = worker_hwm_reset(pid) and reset_ok
            baseline[pid] = proc_status_kb(pid, "VmHWM") or 0
        answer = send(conn, token, spec)
        growth = {pid: (proc_status_kb(pid, "VmHWM") or 0) - baseline[pid] for pid in pids}
        served = max(growth, key=growth.get) if growth else None
        record(result, index, spec, answer, None)  # checks the status and the member list
        details.append(
            {
                "latency_ms": round(answer.latency_ms, 1),
                "status": answer.status,
                "bytes": len(answer.payload),
                "members": returned.get("count"),
                "worker_pid": served,
                "worker_rss_before_mb": round(baseline[served] / 1024, 1) if served else None,
                "worker_peak_mb": round((baseline[served] + growth[served]) / 1024, 1) if served else None,
                "rss_growth_mb": round(growth[served] / 1024, 1) if served else None,
                "hwm_reset": reset_ok,
                "queries": answer.queries,
                "request_id": answer.request_id,
            }
        )
    conn.close()
    result.samples = [s for s in result.samples if s is not None]
    result.wall_s = sum(s.latency_ms for s in result.samples) / 1000
    return result, details


def note_peak(peaks: dict, pid: int) -> None:
    kb = proc_status_kb(pid, "VmHWM")
    if kb is not None:
        peaks[pid] = max(peaks.get(pid, 0), kb)


class LockWaitSampler:
    """
    Polls pg_stat_activity (every 20 ms, own connection) while a scenario runs: how many of the
    benchmark database's backends are waiting for a lock, e.g. for the group row that every
    membership PATCH locks (SELECT … FOR UPDATE) until it commits.
    """

    def __init__(self, db_name: str, interval_s: float = 0.02):
        self.db_name, self.interval_s = db_name, interval_s
        self.samples: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import psycopg

        dsn = f"host={HOST} port={PG_PORT} user=postgres dbname={self.db_name}"
        with psycopg.connect(dsn, autocommit=True) as conn:
            while not self._stop.is_set():
                row = conn.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND wait_event_type = 'Lock'",
                    (self.db_name,),
                ).fetchone()
                self.samples.append(row[0])
                self._stop.wait(self.interval_s)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=5)

    @property
    def mean(self) -> float | None:
        return round(sum(self.samples) / len(self.samples), 2) if self.samples else None


# In-process diagnosis --------------------------------------------------------------------------


def explain_single_add(seeded: dict) -> str:
    """
    EXPLAIN (ANALYZE, BUFFERS) of every statement a single-member add to the big group runs, by
    calling the same service in this process inside a transaction that is rolled back.
    """
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from accounts.models import Organization
    from accounts.services.groups import MembershipUpdate, group_update

    class Rollback(Exception):
        pass

    organization = Organization.objects.get(pk=seeded["organization_id"])
    # A member removed by (b) (else a spare account): the add inserts a row, as (a) does.
    account_id = uuid.UUID((seeded["removals"]["remove_legacy"] or seeded["spare"])[0])
    lines = []
    try:
        # First capture the statements (rolled back), then run each under EXPLAIN ANALYZE, in order,
        # in a second rolled-back transaction, so each sees the state it saw in the first.
        with suppress(Rollback), transaction.atomic():
            with CaptureQueriesContext(connection) as captured:
                group_update(
                    organization=organization,
                    group_id=uuid.UUID(seeded["big"]["id"]),
                    membership=MembershipUpdate(add=frozenset({account_id})),
                )
            raise Rollback
        with suppress(Rollback), transaction.atomic(), connection.cursor() as cursor:
            for query in captured.captured_queries:
                sql = query["sql"]
                if sql.upper().startswith(("SAVEPOINT", "RELEASE")):
                    continue
                lines.append(f"-- {float(query['time']) * 1000:.2f} ms in the capture run: {sql}")
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
                lines += ["   " + row[0] for row in cursor.fetchall()]
            raise Rollback
    finally:
        connection.close()
    return "\n".join(lines)


# Reporting -------------------------------------------------------------------------------------


def query_distribution(result: ScenarioResult) -> dict[int, int]:
    return dict(
        sorted(collections.Counter(s.queries for s in result.samples if s.queries is not None).items())
    )


def print_table(report: dict) -> None:
    print()
    print(
        f"SCIM /Groups benchmark: big group N={report['members']:,} members "
        f"({report['accounts']:,} accounts, {report['groups']:,} groups, {report['membership_rows']:,} "
        f"membership rows), concurrency={report['concurrency']}, gunicorn workers={report['workers']} "
        f"(sync, 1 thread)"
    )
    print_scenarios(report, SCENARIOS, 49, lock_waiters=True)
    print(
        "p50/p99/max: client-observed latency (includes waiting for a free worker and for the group's "
        "row lock); srv p50/p99: gunicorn's own request time; lockw: mean number of PostgreSQL backends "
        "waiting for a lock (sampled every 20 ms).\n"
        "(g) max q/mean q: only statements before the first byte; the member pages are read while "
        "the body streams, after X-Query-Count was sent."
    )
    for detail in report["get_members"]:
        print(
            f"(g) {detail['latency_ms']} ms, HTTP {detail['status']}, {detail['bytes'] / 1e6:.1f} MB, "
            f"{fmt(detail['members'])} members; worker {fmt(detail['worker_pid'])} RSS "
            f"{fmt(detail['worker_rss_before_mb'])} -> peak {fmt(detail['worker_peak_mb'])} MB "
            f"(+{fmt(detail['rss_growth_mb'])} MB)" + ("" if detail["hwm_reset"] else " [VmHWM reset failed]")
        )
    for key in ("add_one", "add_one_small"):
        s = report["scenarios"].get(key)
        if s:
            print(f"{dict(SCENARIOS)[key][:3]} statements per request: {s['query_distribution']}")
    counts = report["membership_check"]
    print(
        f"membership rows after the run: big group {counts['big']['actual']:,} "
        f"(expected {counts['big']['expected']:,}), 10-member group {counts['ten']['actual']:,} "
        f"(expected {counts['ten']['expected']:,})"
    )
    memory = report["memory"]
    peaks = ", ".join(f"{kb / 1024:.1f}" for kb in memory["worker_peak_rss_kb"].values())
    restarts = memory["workers_seen"] > report["workers"]
    print(
        f"gunicorn peak RSS (VmHWM, whole run): workers [{peaks}] MB, max "
        f"{fmt(memory['max_worker_peak_rss_mb'])} MB; master {memory['master_peak_rss_mb']} MB"
        + (f"; {memory['workers_seen']} worker pids seen (restarts!)" if restarts else "")
    )
    not_204 = {key: n for key, n in report["patch_not_204"].items() if n}
    if not_204:
        print(f"NOTE: PATCH answered 2xx but not 204 (Entra expects 204 without members): {not_204}")


def print_problems(report: dict) -> None:
    for key, label in SCENARIOS:
        s = report["scenarios"].get(key)
        if not s:
            continue
        if s["errors"]:
            print(f"\nERRORS in {label}: {s['errors']} {s['error_reasons']}; first examples:")
            for example in s["failures"]:
                print(json.dumps(example, indent=2)[:4000])
        if s["query_overruns"]:
            print(f"\nMORE THAN {MAX_QUERIES} QUERIES in {label}; first examples:")
            for example in s["query_overruns"]:
                print(json.dumps(example, indent=2)[:4000])


def targets(report: dict) -> list[dict]:
    lines = []
    labels = dict(SCENARIOS)
    scenarios = report["scenarios"]
    n = f"{report['members']:,}"

    def failed_note(s):
        return f"; {s['errors']} failed requests" if s["errors"] else ""

    for key in SINGLE_PATCH_SCENARIOS:
        s = scenarios.get(key)
        if s and s["p99_ms"] is not None:
            lines.append(
                {
                    "name": f"{labels[key]} p99 < {SINGLE_PATCH_P99_TARGET_MS:g} ms at {n} members",
                    "ok": s["p99_ms"] < SINGLE_PATCH_P99_TARGET_MS and not s["errors"],
                    "detail": f"p99 {s['p99_ms']} ms (server-side {fmt(s['server_p99_ms'])} ms), "
                    f"concurrency {s['concurrency']}" + failed_note(s),
                }
            )
    for key in BULK_SCENARIOS:
        s = scenarios.get(key)
        if not s or s["p99_ms"] is None:
            continue
        lines.append(
            {
                "name": f"{labels[key]} p99 < {BULK_ADD_P99_TARGET_MS / 1000:g} s",
                "ok": s["p99_ms"] < BULK_ADD_P99_TARGET_MS and not s["errors"],
                "detail": f"p99 {s['p99_ms']} ms (server-side {fmt(s['server_p99_ms'])} ms), "
                f"p50 {s['p50_ms']} ms, concurrency {s['concurrency']}" + failed_note(s),
            }
        )
    a, h = scenarios.get("add_one"), scenarios.get("add_one_small")
    if a and h:
        same = bool(a["query_distribution"]) and set(a["query_distribution"]) == set(h["query_distribution"])
        lines.append(
            {
                "name": f"SQL statements per single-member add equal: 10-member (h) vs {n}-member (a) group",
                "ok": same and not a["errors"] and not h["errors"] and not a["requests_without_query_count"],
                "detail": f"(a) {a['query_distribution']}, (h) {h['query_distribution']} "
                "(statements: requests)" + failed_note(a) + failed_note(h),
            }
        )
    g = report["get_members"]
    if g:
        growths = [d["rss_growth_mb"] for d in g if d["rss_growth_mb"] is not None]
        worst = max(growths) if growths else None
        complete = all(d["members"] == report["members"] for d in g)
        lines.append(
            {
                "name": f"{labels['get_members']}: worker RSS growth <= {GET_MEMBERS_RSS_TARGET_MB:g} MB",
                "ok": worst is not None
                and worst <= GET_MEMBERS_RSS_TARGET_MB
                and all(d["hwm_reset"] for d in g),
                "detail": f"max +{fmt(worst)} MB over {len(g)} requests "
                f"({', '.join(f'+{x}' for x in growths)}); "
                f"{max(d['latency_ms'] for d in g)} ms, {max(d['bytes'] for d in g) / 1e6:.1f} MB max",
            }
        )
        lines.append(
            {
                "name": f"{labels['get_members']}: returns exactly the {n} members",
                "ok": complete,
                "detail": "members returned: " + ", ".join(fmt(d["members"]) for d in g),
            }
        )
    counts = report["membership_check"]
    lines.append(
        {
            "name": "membership rows after the run match the successful PATCHes",
            "ok": all(c["actual"] == c["expected"] for c in counts.values()),
            "detail": ", ".join(
                f"{k} {c['actual']:,} (expected {c['expected']:,})" for k, c in counts.items()
            ),
        }
    )
    return lines


# Orchestration ---------------------------------------------------------------------------------


def run_once(args) -> dict:
    rng = random.Random(args.seed)
    db_name = f"wa_bench_{secrets.token_hex(4)}"
    env = server_env(db_name)
    server = None
    created = False
    try:
        print(f"creating database {db_name} ...", flush=True)
        create_database(db_name)
        created = True
        started = time.perf_counter()
        migrate(env)
        migrate_s = time.perf_counter() - started
        print(f"migrated in {migrate_s:.1f}s; seeding {args.members:,}-member group ...", flush=True)
        started = time.perf_counter()
        seeded = seed(env, args)
        seed_s = time.perf_counter() - started
        print(f"seeded in {seed_s:.1f}s; starting gunicorn ...", flush=True)
        token = seeded["token"]
        victims = rng.sample(seeded["members"], min(len(seeded["members"]), 2 * args.requests))
        seeded["removals"] = {
            "remove_legacy": victims[: args.requests],
            "remove_filter": victims[args.requests : 2 * args.requests],
        }

        tmp = Path(tempfile.gettempdir())
        started = time.perf_counter()
        server = start_server(
            env, args.workers, tmp / f"{db_name}-gunicorn.log", tmp / f"{db_name}-access.log"
        )
        wait_until_ready(server, token, args.workers)
        server_start_s = time.perf_counter() - started
        master = server.process.pid
        seen_workers = set(worker_pids(master))
        peaks: dict[int, int] = {}

        # Warm-up (not measured): every worker imports lazily-loaded code, opens its DB connection
        # and streams a (small) member list once; the token's last_used_at write happens here.
        ten = seeded["ten"]["id"]
        warm = [RequestSpec("GET", group_path(ten)) for _ in range(8 * args.workers)]
        warm += build_requests("match", 8 * args.workers, seeded, args, random.Random(0))
        warm += [
            RequestSpec(
                "PATCH",
                group_path(ten),
                patch_body({"op": "Remove", "path": "members", "value": members_value([str(uuid.uuid4())])}),
                expect=SUCCESS,
            )
            for _ in range(8 * args.workers)
        ]
        run_load(server.port, token, warm, args.concurrency, args.max_seconds)

        load_before = load_average()
        raw, get_details, lock_waits = {}, [], {}
        labels = dict(SCENARIOS)
        for key in RUN_ORDER:
            if request_count(key, args) <= 0:
                continue
            refresh_token_last_used()
            print(f"running {labels[key]} ...", flush=True)
            with LockWaitSampler(db_name) as sampler:
                if key == "get_members":
                    result, get_details = run_get_members(server.port, master, token, seeded, args, peaks)
                    concurrency = 1
                else:
                    specs = build_requests(key, request_count(key, args), seeded, args, rng)
                    concurrency = 1 if key in UNLOADED else args.concurrency
                    result = run_load(server.port, token, specs, concurrency, args.max_seconds, MAX_QUERIES)
            raw[key] = (result, concurrency)
            lock_waits[key] = sampler.mean
            seen_workers.update(worker_pids(master))

        for pid in worker_pids(master):
            note_peak(peaks, pid)
        seen_workers.update(peaks)
        load_after = load_average()
        if server.process.poll() is not None:
            raise RuntimeError(f"gunicorn died during the run:\n{server.log_tail()}")

        ok = {key: sum(200 <= s.status < 300 for s in result.samples) for key, (result, _c) in raw.items()}
        actual = membership_counts([seeded["big"]["id"], ten])
        expected_big = (
            args.members
            + ok.get("add_one", 0)
            + ok.get("add_one_1client", 0)
            + (ok.get("add_bulk", 0) + ok.get("add_bulk_1client", 0)) * args.bulk_size
            - ok.get("remove_legacy", 0)
            - ok.get("remove_filter", 0)
        )
        membership_check = {
            "big": {"actual": actual[seeded["big"]["id"]], "expected": expected_big},
            "ten": {"actual": actual[ten], "expected": SMALL_GROUP_SIZE + ok.get("add_one_small", 0)},
        }

        current = worker_pids(master)
        worker_peaks = {pid: peaks[pid] for pid in current if pid in peaks}
        memory = {
            "worker_peak_rss_kb": worker_peaks,
            "max_worker_peak_rss_mb": round(max(worker_peaks.values()) / 1024, 1) if worker_peaks else None,
            "master_peak_rss_mb": round((proc_status_kb(master, "VmHWM") or 0) / 1024, 1),
            "workers_seen": len(seen_workers),
        }
        stop_server(server)  # flushes the access log
        times = server_times_ms(server.access_log_path)
        scenarios = {}
        for key, (result, concurrency) in raw.items():
            scenarios[key] = summarize(result, times, concurrency)
            scenarios[key]["query_distribution"] = query_distribution(result)
            scenarios[key]["mean_lock_waiters"] = lock_waits.get(key)
        report = {
            "members": args.members,
            "accounts": args.members + len(seeded["spare"]),
            "groups": 2 + len(seeded["small"]),
            "membership_rows": seeded["membership_rows"],
            "concurrency": args.concurrency,
            "workers": args.workers,
            "requests": args.requests,
            "database": db_name,
            "migrate_s": round(migrate_s, 2),
            "seed_s": round(seed_s, 2),
            "server_start_s": round(server_start_s, 2),
            "cpus": os.cpu_count(),
            "load_average": {"before": load_before, "after": load_after},
            "scenarios": scenarios,
            "get_members": get_details,
            "membership_check": membership_check,
            "patch_not_204": {
                key: sum(200 <= s.status < 300 and s.status != 204 for s in raw[key][0].samples)
                for key in PATCH_SCENARIOS
                if key in raw
            },
            "memory": memory,
            "server_log_tail": server.log_tail(20),
        }
        lines = targets(report)
        report["targets"] = lines
        single_slow = any(not line["ok"] and "p99 <" in line["name"] for line in lines)
        if args.explain or single_slow:
            report["explain"] = explain_single_add(seeded)
        return report
    finally:
        clean_up(server, db_name, created)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--members",
        type=int,
        default=100_000,
        help="members of the big group (default 100000); spare accounts for the adds come on top",
    )
    parser.add_argument(
        "--small-groups",
        type=int,
        default=1000,
        help=f"extra groups of {SMALL_GROUP_SIZE} members (default 1000)",
    )
    parser.add_argument("--concurrency", type=int, default=4, help="client threads (default 4)")
    parser.add_argument(
        "--requests", type=int, default=300, help="requests per scenario (a)-(c), (e), (f), (h) (default 300)"
    )
    parser.add_argument("--bulk-requests", type=int, default=20, help="(d) requests (default 20; 0 skips)")
    parser.add_argument("--bulk-size", type=int, default=1000, help="(d) members per request (default 1000)")
    parser.add_argument("--get-requests", type=int, default=3, help="(g) requests (default 3; 0 skips)")
    parser.add_argument(
        "--unloaded-requests", type=int, default=100, help="(a1) requests, 1 client (default 100; 0 skips)"
    )
    parser.add_argument(
        "--unloaded-bulk-requests", type=int, default=5, help="(d1) requests, 1 client (default 5; 0 skips)"
    )
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers (default 4)")
    parser.add_argument(
        "--max-seconds", type=float, default=120, help="time limit per scenario (default 120)"
    )
    parser.add_argument("--batch-size", type=int, default=5000, help="bulk_create batch (default 5000)")
    parser.add_argument("--seed", type=int, default=1, help="random seed for seeding and request selection")
    parser.add_argument(
        "--explain",
        action="store_true",
        help="print EXPLAIN ANALYZE of a single-member add (automatic when a PATCH p99 target fails)",
    )
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args(argv)
    if min(args.members, args.requests, args.concurrency, args.workers, args.bulk_size) < 1:
        parser.error("--members, --requests, --concurrency, --workers and --bulk-size must be positive")
    if 2 * args.requests > args.members:
        parser.error("--members must be at least twice --requests (distinct members to remove)")

    # Ctrl-C and SIGTERM both unwind through run_once's cleanup (stop server, drop database).
    signal.signal(signal.SIGTERM, interrupt)

    report = run_reported(run_once, args)
    if report is None:
        return 2

    print_table(report)
    print_problems(report)
    print_targets(report["targets"])
    if report.get("explain"):
        print(
            "\nEXPLAIN (ANALYZE, BUFFERS) of a single-member add to the big group (in-process, rolled back):"
        )
        print(report["explain"])
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2, default=str))
    errors = sum(s["errors"] for s in report["scenarios"].values())
    consistent = all(c["actual"] == c["expected"] for c in report["membership_check"].values())
    return 1 if errors or not consistent else 0


if __name__ == "__main__":
    sys.exit(main())
