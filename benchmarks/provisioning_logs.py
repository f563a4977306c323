"""
Provisioning log benchmark: what logging costs a SCIM request, and how the admin's event list
behaves with a million events. Prints figures, no PASS/FAIL.

    .venv/bin/python benchmarks/provisioning_logs.py            # full sizes (about 7 min)
    .venv/bin/python benchmarks/provisioning_logs.py --quick    # smaller sizes (about 2 min)
    .venv/bin/python benchmarks/provisioning_logs.py --skip-overhead   # only the 1M-event list page

Steps: create database wa_bench_<random> -> migrate -> seed one organization, a SCIM token and N
accounts -> (1) start two gunicorn servers on that database, PROVISIONING_LOG_ENABLED=false and
=true, and send the same shuffled SCIM mix (userName match, POST, PATCH, disable PATCH, GET by id)
to each, alternating round by round; then time record_request itself in-process -> (3) the
workers' peak RSS of each server -> (2) COPY 1,000,000 ProvisioningEvent rows spread over 30 days,
ANALYZE, sign in over HTTP as an organization admin and time the admin changelist of provisioning
events (unfiltered, status=Failure, a date range, a search by identity, page 50), then rerun each
page in-process to list its slowest SQL statements (EXPLAIN ANALYZE of the slow ones) -> stop the
servers, drop the database (also on failure or Ctrl-C). Only 127.0.0.1 is contacted. See
benchmarks/README.md.

Exit status: 0 when every request succeeded, 1 when a request failed (a SCIM request with an
unexpected answer, an admin page that did not answer 200), 2 when set-up failed. An admin page
that cannot be reached at all is reported as NOT MEASURED.
"""

import argparse
import http.client
import json
import os
import random
import re
import secrets
import signal
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import quote_plus, urlencode

from common import (
    HOST,
    PG_PORT,
    SCIM,
    ScenarioResult,
    analyze,
    clean_up,
    create_database,
    fmt,
    interrupt,
    load_average,
    memory_report,
    migrate,
    percentile,
    run_load,
    run_reported,
    seed_accounts,
    server_env,
    server_times_ms,
    setup_django,
    start_server,
    stop_server,
    wait_until_ready,
    worker_pids,
)
from scim_groups import LockWaitSampler
from scim_users import build_requests


KINDS = [
    ("match", 'GET /Users?filter=userName eq "…" (Entra match)'),
    ("create", "POST /Users (Entra body)"),
    ("patch", "PATCH emails[work].value + familyName"),
    ("disable", 'PATCH active "False"'),
    ("get", "GET /Users/{id}"),
]
CONFIGS = ("off", "on")
CHANGELIST = "/admin/provisioning_logs/provisioningevent/"
DAYS = 30
CYCLE_EVERY_S = 40 * 60  # Entra's incremental cycle interval
COPY_BATCH = 100_000
ADMIN_TIMEOUT_S = 300


# Seeding (Django in this process) --------------------------------------------------------------


def seed_base(env: dict, accounts: int, batch_size: int) -> dict:
    """The organization, a secret token (its connection) and N accounts, then ANALYZE."""
    setup_django(env)

    from django.db import connection

    from accounts.connections.services import scim_token_create
    from accounts.services import organization_create

    organization = organization_create(slug="bench", name="Benchmark Org")
    issued = scim_token_create(organization=organization, label="bench")
    seeded = seed_accounts(organization, accounts, batch_size)
    analyze()
    connection.close()
    return {"token": issued.secret, "organization_id": organization.pk, "accounts": seeded}


def refresh_token_last_used() -> None:
    """Keep authentication's 5-minutely last_used_at write (2 statements) out of the next run."""
    from django.db import connection
    from django.utils import timezone

    from accounts.connections.models import ScimSecretToken

    ScimSecretToken.objects.update(last_used_at=timezone.now())
    connection.close()


def event_count() -> int:
    from django.db import connection

    from provisioning_logs.models import ProvisioningEvent

    count = ProvisioningEvent.objects.count()
    connection.close()
    return count


# Part 1: logging overhead ----------------------------------------------------------------------


def overhead_pools(seeded: list, args, rng: random.Random) -> dict:
    """
    A distinct account for every disable of every round and configuration (an account disabled
    twice would be a "no change needed" request); the PATCHes of a round come from the remaining
    accounts, distinct within the round (an account may be patched again in a later round).
    """
    runs = args.rounds * len(CONFIGS)
    shuffled = rng.sample(seeded, len(seeded))
    needed = runs * args.requests
    disable = shuffled[: min(needed, len(shuffled) - args.requests)]
    rest = shuffled[len(disable) :]
    if len(disable) < needed:
        print(
            f"NOTE: {len(seeded):,} accounts are too few for {needed:,} distinct disables: "
            "some disables repeat an account (answered as no change needed)",
            flush=True,
        )
        disable = (disable * (needed // max(1, len(disable)) + 1))[:needed]
    return {"disable": disable, "patch_from": rest}


def mixed_specs(index: int, seeded: list, pools: dict, args, rng: random.Random) -> tuple[list, list]:
    """One run's shuffled mix: args.requests of every kind. Returns (kinds, specs)."""
    count = args.requests
    patch_from = pools["patch_from"]
    round_pools = {
        "disable": pools["disable"][index * count : (index + 1) * count],
        "patch": rng.sample(patch_from, min(count, len(patch_from))),
    }
    while len(round_pools["patch"]) < count:  # tiny --accounts only
        round_pools["patch"].append(rng.choice(patch_from))
    pairs = []
    for kind, _label in KINDS:
        pairs += [(kind, spec) for spec in build_requests(kind, count, seeded, rng, round_pools)]
    rng.shuffle(pairs)
    return [kind for kind, _ in pairs], [spec for _, spec in pairs]


def kind_stats(samples: list, server_times: dict) -> dict:
    latencies = sorted(s.latency_ms for s in samples)
    in_server = sorted(server_times[s.request_id] for s in samples if s.request_id in server_times)
    queries = [s.queries for s in samples if s.queries is not None]

    def rounded(value):
        return None if value is None else round(value, 2)

    return {
        "requests": len(samples),
        "p50_ms": rounded(percentile(latencies, 50)),
        "p99_ms": rounded(percentile(latencies, 99)),
        "server_p50_ms": rounded(percentile(in_server, 50)),
        "server_p99_ms": rounded(percentile(in_server, 99)),
        "mean_queries": round(sum(queries) / len(queries), 2) if queries else None,
        "min_queries": min(queries) if queries else None,
        "max_queries": max(queries) if queries else None,
    }


def run_overhead(servers: dict, token: str, seeded: list, args, db_name: str) -> list[dict]:
    """Alternate the configurations round by round (off/on, then on/off, …) to cancel drift."""
    rng = random.Random(args.seed)
    pools = overhead_pools(seeded, args, rng)
    runs, index = [], 0
    for round_number in range(1, args.rounds + 1):
        order = CONFIGS if round_number % 2 else tuple(reversed(CONFIGS))
        for config in order:
            kinds, specs = mixed_specs(index, seeded, pools, args, rng)
            index += 1
            refresh_token_last_used()
            before = event_count()
            print(f"round {round_number}, logging {config}: {len(specs):,} requests ...", flush=True)
            with LockWaitSampler(db_name) as sampler:
                result = run_load(servers[config].port, token, specs, args.concurrency, args.max_seconds)
            runs.append(
                {
                    "round": round_number,
                    "config": config,
                    "kinds": kinds,
                    "specs": specs,
                    "result": result,
                    "lock_waiters": sampler.mean,
                    "events_written": event_count() - before,
                }
            )
    return runs


def overhead_report(runs: list[dict], server_times: dict) -> dict:
    report = {"runs": [], "configs": {}}
    pooled = {config: {kind: [] for kind, _ in KINDS} for config in CONFIGS}
    per_round = {config: {kind: [] for kind, _ in KINDS} for config in CONFIGS}
    for run in runs:
        result: ScenarioResult = run["result"]
        by_kind = {kind: [] for kind, _ in KINDS}
        errors = {kind: 0 for kind, _ in KINDS}
        # run_load keeps the samples in spec order and drops only an unsent tail (time limit), so
        # sample i belongs to spec i.
        for i, sample in enumerate(result.samples):
            kind = run["kinds"][i]
            by_kind[kind].append(sample)
            if sample.status not in run["specs"][i].expect:
                errors[kind] += 1
        times = server_times[run["config"]]
        for kind, samples in by_kind.items():
            pooled[run["config"]][kind] += samples
            per_round[run["config"]][kind].append(kind_stats(samples, times))
        report["runs"].append(
            {
                "round": run["round"],
                "config": run["config"],
                "requests": len(result.samples),
                "planned": len(run["specs"]),
                "errors": result.error_count,
                "error_reasons": result.error_reasons,
                "errors_by_kind": errors,
                "requests_per_s": round(len(result.samples) / result.wall_s, 1) if result.wall_s else None,
                "lock_waiters": run["lock_waiters"],
                "events_written": run["events_written"],
                "failures": result.failures,
            }
        )
    for config in CONFIGS:
        rates = [r["requests_per_s"] for r in report["runs"] if r["config"] == config and r["requests_per_s"]]
        report["configs"][config] = {
            "requests_per_s_mean": round(sum(rates) / len(rates), 1) if rates else None,
            "requests_per_s_min": min(rates) if rates else None,
            "requests_per_s_max": max(rates) if rates else None,
            "kinds": {
                kind: {
                    **kind_stats(samples, server_times[config]),
                    "rounds": per_round[config][kind],
                }
                for kind, samples in pooled[config].items()
            },
        }
    return report


def diff(a, b):
    return None if a is None or b is None else round(b - a, 2)


def spread(rounds: list[dict], key: str) -> str:
    values = [r[key] for r in rounds if r[key] is not None]
    if not values:
        return "-"
    return f"{min(values):.1f}-{max(values):.1f}"


def print_overhead(report: dict, args) -> None:
    print()
    print(
        f"(1) Logging overhead per SCIM request: N={args.accounts:,} accounts, {args.concurrency} clients, "
        f"gunicorn {args.workers} sync workers per server, {args.rounds} rounds x {args.requests:,} requests "
        f"per kind per configuration (shuffled mix of {len(KINDS) * args.requests:,} per round)"
    )
    header = (
        f"{'round':>5} {'logging':>7} {'reqs':>6} {'errs':>4} {'req/s':>6} {'lockw':>5} "
        f"{'events written':>14}"
    )
    print(header)
    print("-" * len(header))
    for run in report["runs"]:
        print(
            f"{run['round']:>5} {run['config']:>7} {run['requests']:>6} {run['errors']:>4} "
            f"{fmt(run['requests_per_s']):>6} {fmt(run['lock_waiters']):>5} {run['events_written']:>14,}"
        )
    off, on = report["configs"]["off"], report["configs"]["on"]
    print(
        f"throughput (mix), mean of rounds [min-max]: logging off {fmt(off['requests_per_s_mean'])} "
        f"[{fmt(off['requests_per_s_min'])}-{fmt(off['requests_per_s_max'])}] req/s, logging on "
        f"{fmt(on['requests_per_s_mean'])} [{fmt(on['requests_per_s_min'])}-{fmt(on['requests_per_s_max'])}] "
        f"req/s ({fmt(diff(off['requests_per_s_mean'], on['requests_per_s_mean']))} req/s)"
    )
    print()
    print("all rounds pooled; ms; q = mean X-Query-Count (SQL statements per request)")
    header = (
        f"{'kind':<42} | {'off p50':>7} {'p99':>6} {'srv50':>6} {'q':>4} | {'on p50':>7} {'p99':>6} "
        f"{'srv50':>6} {'q':>4} | {'+p50':>6} {'+p99':>6} {'+srv50':>6} {'+q':>4}"
    )
    print(header)
    print("-" * len(header))
    for kind, label in KINDS:
        a, b = off["kinds"][kind], on["kinds"][kind]
        print(
            f"{label:<42} | {fmt(a['p50_ms']):>7} {fmt(a['p99_ms']):>6} {fmt(a['server_p50_ms']):>6} "
            f"{fmt(a['mean_queries']):>4} | {fmt(b['p50_ms']):>7} {fmt(b['p99_ms']):>6} "
            f"{fmt(b['server_p50_ms']):>6} {fmt(b['mean_queries']):>4} | "
            f"{fmt(diff(a['p50_ms'], b['p50_ms'])):>6} {fmt(diff(a['p99_ms'], b['p99_ms'])):>6} "
            f"{fmt(diff(a['server_p50_ms'], b['server_p50_ms'])):>6} "
            f"{fmt(diff(a['mean_queries'], b['mean_queries'])):>4}"
        )
    print()
    print("run-to-run spread: min-max of the per-round figures (ms)")
    header = (
        f"{'kind':<42} | {'off p50':>9} {'off p99':>9} {'off srv50':>9} | {'on p50':>9} {'on p99':>9} "
        f"{'on srv50':>9}"
    )
    print(header)
    print("-" * len(header))
    for kind, label in KINDS:
        a, b = off["kinds"][kind]["rounds"], on["kinds"][kind]["rounds"]
        print(
            f"{label:<42} | {spread(a, 'p50_ms'):>9} {spread(a, 'p99_ms'):>9} "
            f"{spread(a, 'server_p50_ms'):>9} | "
            f"{spread(b, 'p50_ms'):>9} {spread(b, 'p99_ms'):>9} {spread(b, 'server_p50_ms'):>9}"
        )
    print(
        "p50/p99: client-observed; srv50: gunicorn's own request time (p50); lockw: mean PostgreSQL "
        "backends waiting for a lock (sampled every 20 ms)"
    )


def print_memory(memory: dict, workers: int) -> None:
    print()
    print("(3) gunicorn peak RSS (VmHWM) after the SCIM runs")
    for config in CONFIGS:
        m = memory.get(config)
        if not m:
            continue
        peaks = ", ".join(f"{kb / 1024:.1f}" for kb in m["worker_peak_rss_kb"].values())
        restarts = m["workers_seen"] > workers
        print(
            f"  logging {config:>3}: workers [{peaks}] MB, max {fmt(m['max_worker_peak_rss_mb'])} MB, "
            f"sum {fmt(m['sum_worker_peak_rss_mb'])} MB; master {m['master_peak_rss_mb']} MB"
            + (f"; {m['workers_seen']} worker pids seen (restarts!)" if restarts else "")
        )


def print_failures(report: dict) -> None:
    for run in report["runs"]:
        if run["errors"]:
            print(
                f"\nERRORS in round {run['round']}, logging {run['config']}: {run['errors']} "
                f"{run['error_reasons']} by kind {run['errors_by_kind']}; first examples:"
            )
            for example in run["failures"]:
                print(json.dumps(example, indent=2))


# Part 2: a million events ----------------------------------------------------------------------


GROUP_NAMES = ["Sales", "Retail", "Finance", "Engineering", "Support", "Marketing", "Legal", "Operations"]
FAILURES = [
    (409, "uniqueness", "userName '{identity}' is already taken in this organization."),
    (400, "invalidValue", "emails: two values are marked primary."),
    (400, "invalidPath", "The path 'urn:ietf:params:scim:schemas:extension:Custom:attr' is not supported."),
    (404, "", "No User with this id."),
    (400, "invalidFilter", "The filter could not be parsed."),
]
# (action, weight) for Entra-shaped traffic: mostly lookups and updates.
ACTIONS = [
    ("Lookup", 40),
    ("Update", 24),
    ("Other", 12),
    ("Create", 10),
    ("Disable", 7),
    ("Enable", 2),
    ("Delete", 2),
    ("Skip", 3),  # a PATCH that changed nothing: action Other, status Skipped
]


def event_columns(model) -> list[str]:
    return [f.column for f in model._meta.concrete_fields if not f.primary_key]


def make_uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def seed_connections(organization_a) -> dict:
    """Org A: its bench connection and two more; org B (another organization): two connections."""
    from accounts.connections.services import connection_get_or_create
    from accounts.services import organization_create

    organization_b = organization_create(slug="fabrikam", name="Fabrikam")
    a = list(organization_a.connections.order_by("pk"))
    a += [
        connection_get_or_create(organization=organization_a, name="Entra ID (EU tenant)"),
        connection_get_or_create(organization=organization_a, name="Entra ID (test tenant)"),
    ]
    b = [
        connection_get_or_create(organization=organization_b, name="Entra ID"),
        connection_get_or_create(organization=organization_b, name="Entra ID (staging)"),
    ]
    # (connection, organization, weight, credential label): 90 % of the events are org A's.
    weights_a, weights_b = [55, 30, 5], [7, 3]
    credentials = ["secret token bench", "OAuth access token", "secret token test"]
    return {
        "organization_b": organization_b,
        "connections": [
            (connection, organization_a, w, credentials[i % len(credentials)])
            for i, (connection, w) in enumerate(zip(a, weights_a, strict=False))
        ]
        + [
            (connection, organization_b, w, "OAuth access token")
            for connection, w in zip(b, weights_b, strict=True)
        ],
    }


def seed_cycles(connections: list, start, end) -> dict:
    """A cycle every 40 minutes for every connection over the period: (connection pk, slot) -> id."""
    from provisioning_logs.models import CycleKind, ProvisioningCycle

    slots = int((end - start).total_seconds() // CYCLE_EVERY_S) + 1
    rows = []
    for connection, organization, _weight, _credential in connections:
        for slot in range(slots):
            started = start + timedelta(seconds=slot * CYCLE_EVERY_S)
            rows.append(
                ProvisioningCycle(
                    organization=organization,
                    connection=connection,
                    kind=CycleKind.INITIAL if slot == 0 else CycleKind.INCREMENTAL,
                    started_at=started,
                    last_event_at=started,
                    expected_objects=None if slot == 0 else 10_000,
                )
            )
    created = ProvisioningCycle.objects.bulk_create(rows, batch_size=5000)
    return {
        (c.connection_id, int((c.started_at - start).total_seconds() // CYCLE_EVERY_S)): c.pk for c in created
    }


class EventFactory:
    """Realistic event rows: Entra's requests, identities of real (org A) or made-up (org B) users."""

    def __init__(self, rng: random.Random, columns: list[str], accounts_a: list, extra_defaults: dict):
        self.rng = rng
        self.columns = columns
        self.extra_defaults = extra_defaults
        self.users = {"a": accounts_a, "b": self._made_up_users(2000)}
        self.groups = {"a": self._groups(200), "b": self._groups(50)}
        self.actions = [a for a, _ in ACTIONS]
        self.action_weights = [w for _, w in ACTIONS]

    def _made_up_users(self, count: int) -> list:
        users = []
        for i in range(count):
            given, family = (
                self.rng.choice(["Ana", "Bo", "Chen", "Dara", "Eli"]),
                self.rng.choice(["Ito", "Kay"]),
            )
            users.append(
                (make_uuid(self.rng), f"{given}.{family}{i:05d}@Fabrikam.example", str(make_uuid(self.rng)))
            )
        return users

    def _groups(self, count: int) -> list:
        return [
            (make_uuid(self.rng), f"{self.rng.choice(GROUP_NAMES)} Team {i:03d}", str(make_uuid(self.rng)))
            for i in range(count)
        ]

    def row(
        self, created_at, org_key: str, organization_id, connection_id, cycle_id, credential: str
    ) -> tuple:
        rng = self.rng
        action = rng.choices(self.actions, self.action_weights)[0]
        is_group = action != "Other" and rng.random() < 0.1
        resource_type = "Group" if is_group else "User"
        resource_id, identity, external_id = rng.choice(
            self.groups[org_key] if is_group else self.users[org_key]
        )
        collection = "Groups" if is_group else "Users"
        status, http_status, scim_type, detail = "Success", 200, "", ""
        modified, body, skipped = [], "", False
        if action == "Lookup":
            attribute = "displayName" if is_group else "userName"
            method = "GET"
            path = f"{SCIM}/{collection}?" + ("excludedAttributes=members&" if is_group else "")
            path += "filter=" + quote_plus(f'{attribute} eq "{identity}"')
            resource_id, external_id = None, ""
        elif action == "Create":
            method, path, http_status = "POST", f"{SCIM}/{collection}", 201
            body = json.dumps(
                {
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "externalId": external_id,
                    "userName": identity,
                    "active": True,
                    "emails": [{"primary": True, "type": "work", "value": identity.lower()}],
                    "name": {"givenName": identity.split(".")[0], "familyName": "Vance"},
                }
            )
            modified = [
                {"name": n, "old": None, "new": v} for n, v in (("userName", identity), ("active", True))
            ]
        elif action in ("Update", "Disable", "Enable", "Skip"):
            method, path, http_status = "PATCH", f"{SCIM}/{collection}/{resource_id}", 200
            if action == "Update":
                modified = [{"name": "name.familyName", "old": "Vance", "new": f"Vance-{rng.randint(1, 99)}"}]
                op = {"op": "Replace", "path": "name.familyName", "value": modified[0]["new"]}
            elif action == "Skip":
                action, skipped = "Other", True
                op = {"op": "Replace", "path": "department", "value": "Retail"}
            else:
                modified = [{"name": "active", "old": action == "Disable", "new": action == "Enable"}]
                op = {"op": "Replace", "path": "active", "value": "False" if action == "Disable" else "True"}
            body = json.dumps(
                {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [op]}
            )
        elif action == "Delete":
            method, path, http_status = "DELETE", f"{SCIM}/{collection}/{resource_id}", 204
        else:  # Other: discovery, no resource
            method = "GET"
            path = f"{SCIM}/" + rng.choice(["ServiceProviderConfig", "Schemas", "ResourceTypes"])
            resource_type, resource_id, identity, external_id = "", None, "", ""
        if skipped:
            status, detail = "Skipped", "No change needed: the resource already had these values."
        elif action != "Other" and rng.random() < 0.06:
            http_status, scim_type, detail = rng.choice(FAILURES)
            detail = detail.format(identity=identity)
            status, modified = "Failure", []
        values = {
            "organization_id": organization_id,
            "connection_id": connection_id,
            "cycle_id": cycle_id,
            "created_at": created_at,
            "duration_ms": int(rng.lognormvariate(2.2, 0.6)),
            "request_id": str(make_uuid(rng)),
            "credential": credential,
            "method": method,
            "path": path,
            "resource_type": resource_type,
            "action": action,
            "status": status,
            "http_status": http_status,
            "resource_id": resource_id,
            "external_id": external_id or "",
            "identity": identity or "",
            "scim_type": scim_type,
            "detail": detail,
            "modified_properties": json.dumps(modified),
            "request_body": body,
        }
        return tuple(values[c] if c in values else self.extra_defaults[c] for c in self.columns)


def extra_column_defaults(model, known: set) -> dict:
    """Columns another change may have added since: their model default (COPY would leave them NULL)."""
    from django.db.models import JSONField

    extras = {}
    for f in model._meta.concrete_fields:
        if f.primary_key or f.column in known:
            continue
        value = f.get_default()
        extras[f.column] = json.dumps(value) if isinstance(f, JSONField) else value
    return extras


KNOWN_COLUMNS = {
    "organization_id",
    "connection_id",
    "cycle_id",
    "created_at",
    "duration_ms",
    "request_id",
    "credential",
    "method",
    "path",
    "resource_type",
    "action",
    "status",
    "http_status",
    "resource_id",
    "external_id",
    "identity",
    "scim_type",
    "detail",
    "modified_properties",
    "request_body",
}


def seed_events(db_name: str, organization_id, events: int, rng: random.Random) -> dict:
    """COPY `events` rows in time order (as a log grows), then cycle counts, cycle objects, ANALYZE."""
    import psycopg
    from django.db import connection as django_connection
    from django.utils import timezone

    from accounts.models import Organization, WorkAccount
    from provisioning_logs.models import CycleObject, ProvisioningCycle, ProvisioningEvent

    timings = {}
    started = time.perf_counter()
    organization_a = Organization.objects.get(pk=organization_id)
    seeded = seed_connections(organization_a)
    connections = seeded["connections"]
    end = timezone.now() - timedelta(minutes=30)
    start = end - timedelta(days=DAYS)
    cycles = seed_cycles(connections, start, end)
    accounts_a = list(
        WorkAccount.objects.filter(organization_id=organization_id).values_list(
            "id", "user_name", "external_id"
        )
    )
    columns = event_columns(ProvisioningEvent)
    factory = EventFactory(rng, columns, accounts_a, extra_column_defaults(ProvisioningEvent, KNOWN_COLUMNS))
    django_connection.close()
    timings["connections_cycles_s"] = round(time.perf_counter() - started, 1)

    table = ProvisioningEvent._meta.db_table
    weights = [w for _c, _o, w, _l in connections]
    span_s = (end - start).total_seconds()
    dsn = f"host={HOST} port={PG_PORT} user=postgres dbname={db_name}"
    quoted = ", ".join(f'"{c}"' for c in columns)
    started = time.perf_counter()
    offsets = sorted(rng.random() * span_s for _ in range(events))
    with psycopg.connect(dsn) as conn:
        for batch_start in range(0, events, COPY_BATCH):
            with conn.cursor() as cursor, cursor.copy(f'COPY "{table}" ({quoted}) FROM STDIN') as copy:
                for offset in offsets[batch_start : batch_start + COPY_BATCH]:
                    connection, organization, _w, credential = rng.choices(connections, weights)[0]
                    org_key = "a" if organization.pk == organization_id else "b"
                    slot = int(offset // CYCLE_EVERY_S)
                    copy.write_row(
                        factory.row(
                            start + timedelta(seconds=offset),
                            org_key,
                            organization.pk,
                            connection.pk,
                            cycles.get((connection.pk, slot)),
                            credential,
                        )
                    )
            conn.commit()
            done = min(events, batch_start + COPY_BATCH)
            if done % (3 * COPY_BATCH) == 0 and done < events:
                print(
                    f"  copied {done:,} / {events:,} events ({time.perf_counter() - started:.1f}s)",
                    flush=True,
                )
        timings["copy_s"] = round(time.perf_counter() - started, 1)

        started = time.perf_counter()
        cycle_table = ProvisioningCycle._meta.db_table
        counts = ", ".join(
            f"count_{value.lower()} = s.count_{value.lower()}"
            for value in ("Create", "Update", "Disable", "Enable", "Delete", "Lookup", "Other")
            + ("Success", "Failure", "Skipped")
        )
        selects = ", ".join(
            f"count(*) FILTER (WHERE action = '{v}') AS count_{v.lower()}"
            for v in ("Create", "Update", "Disable", "Enable", "Delete", "Lookup", "Other")
        )
        selects += ", " + ", ".join(
            f"count(*) FILTER (WHERE status = '{v}') AS count_{v.lower()}"
            for v in ("Success", "Failure", "Skipped")
        )
        conn.execute(
            f'UPDATE "{cycle_table}" c SET last_event_at = s.last_event_at, {counts} '
            f'FROM (SELECT cycle_id, max(created_at) AS last_event_at, {selects} FROM "{table}" '
            f"WHERE cycle_id IS NOT NULL GROUP BY cycle_id) s WHERE c.id = s.cycle_id"
        )
        conn.execute(
            f'INSERT INTO "{CycleObject._meta.db_table}" (cycle_id, object_key) '
            f"SELECT DISTINCT cycle_id, left(resource_type || ':' || lower(coalesce(resource_id::text, "
            f"nullif(external_id, ''), identity)), 300) FROM \"{table}\" "
            f"WHERE cycle_id IS NOT NULL AND resource_type IN ('User', 'Group') "
            f"AND coalesce(resource_id::text, nullif(external_id, ''), nullif(identity, '')) IS NOT NULL "
            f"ON CONFLICT DO NOTHING"
        )
        conn.commit()
        timings["cycle_counts_objects_s"] = round(time.perf_counter() - started, 1)
        started = time.perf_counter()
        # VACUUM as well: a table that grew over 30 days has been autovacuumed (visibility map set,
        # hint bits written); a fresh COPY has not, and autovacuum would run during the timing.
        conn.autocommit = True
        conn.execute("VACUUM (ANALYZE)")
        conn.autocommit = False
        timings["analyze_s"] = round(time.perf_counter() - started, 1)
        sizes = conn.execute(
            "SELECT count(*), pg_size_pretty(pg_table_size(%s::regclass)), "
            "pg_size_pretty(pg_indexes_size(%s::regclass)) FROM " + f'"{table}"',
            (table, table),
        ).fetchone()
        by_org = conn.execute(
            "SELECT organization_id = %s, count(*), count(*) FILTER (WHERE status = 'Failure') "
            f'FROM "{table}" GROUP BY 1',
            (organization_id,),
        ).fetchall()
        cycles_total = conn.execute(f'SELECT count(*) FROM "{cycle_table}"').fetchone()[0]
        objects_total = conn.execute(f'SELECT count(*) FROM "{CycleObject._meta.db_table}"').fetchone()[0]
    per_org = {("a" if mine else "b"): {"events": n, "failures": f} for mine, n, f in by_org}
    return {
        "timings": timings,
        "rows": sizes[0],
        "table_size": sizes[1],
        "indexes_size": sizes[2],
        "per_organization": per_org,
        "connections": len(connections),
        "cycles": cycles_total,
        "cycle_objects": objects_total,
        "period": (start.isoformat(timespec="minutes"), end.isoformat(timespec="minutes")),
        "organization_b_id": seeded["organization_b"].pk,
    }


def create_admin(organization_id) -> tuple[str, str]:
    from django.db import connection

    from accounts.models import Organization
    from accounts.services import admin_create

    email = "bench.admin@contoso.example"
    password = "Bench-" + secrets.token_urlsafe(18)
    admin_create(organization=Organization.objects.get(pk=organization_id), email=email, password=password)
    connection.close()
    return email, password


# Admin over HTTP -------------------------------------------------------------------------------


_CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


class Browser:
    """A minimal cookie-keeping HTTP client for the portal (one connection per request)."""

    def __init__(self, port: int):
        self.port = port
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, form: dict | None = None) -> dict:
        headers = {"Accept": "text/html"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn = http.client.HTTPConnection(HOST, self.port, timeout=ADMIN_TIMEOUT_S)
        started = time.perf_counter()
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            payload = response.read()
        finally:
            conn.close()
        elapsed_ms = (time.perf_counter() - started) * 1000
        for header in response.headers.get_all("Set-Cookie") or []:
            jar = SimpleCookie()
            jar.load(header)
            for name, morsel in jar.items():
                if morsel.value and morsel["max-age"] != "0":
                    self.cookies[name] = morsel.value
                else:
                    self.cookies.pop(name, None)
        queries = response.headers.get("X-Query-Count")
        return {
            "status": response.status,
            "location": response.headers.get("Location", ""),
            "body": payload.decode(errors="replace"),
            "ms": elapsed_ms,
            "queries": int(queries) if queries and queries.isdigit() else None,
        }

    def form_post(self, page: str, fields: dict) -> dict:
        shown = self.request("GET", page)
        match = _CSRF_INPUT.search(shown["body"])
        if shown["status"] != 200 or not match:
            raise RuntimeError(f"GET {page}: HTTP {shown['status']}, no CSRF token in the form")
        return self.request("POST", page.split("?")[0], {**fields, "csrfmiddlewaretoken": match.group(1)})

    def sign_in(self, username: str, password: str) -> None:
        step1 = self.form_post("/signin/?next=/admin/", {"username": username, "next": "/admin/"})
        if step1["status"] != 302 or "/signin/password/" not in step1["location"]:
            raise RuntimeError(f"sign-in username step: HTTP {step1['status']} {step1['location']}")
        step2 = self.form_post(step1["location"], {"password": password, "next": "/admin/"})
        if step2["status"] != 302 or not step2["location"].startswith("/admin/"):
            raise RuntimeError(f"sign-in password step: HTTP {step2['status']} {step2['location']}")


def admin_pages(identity: str, now) -> list[tuple[str, str, str]]:
    """
    (key, label, query string) of the changelist pages to time, with the admin's parameter names
    (provisioning_logs/admin/: list_filter "status", TimeRangeFilter since/until, search q, page p).
    """
    since, until = (now - timedelta(days=10)).date(), (now - timedelta(days=4)).date()
    return [
        ("first", "first page, unfiltered", ""),
        ("failures", "status = Failure", urlencode({"status__exact": "Failure"})),
        (
            "range",
            f"date range since {since} until {until} (7 days)",
            urlencode({"since": since, "until": until}),
        ),
        ("search", f"search identity {identity}", urlencode({"q": identity})),
        ("page50", "page 50, unfiltered", urlencode({"p": 50})),
    ]


_RESULT_ROW = re.compile(r"<tr[ >]")


def rows_shown(body: str) -> int | None:
    start = body.find('id="result_list"')
    if start < 0:
        return None
    table = body[start : body.find("</table>", start)]
    return max(0, len(_RESULT_ROW.findall(table)) - 1)  # minus the header row


_PAGE_SUMMARY = re.compile(r'id="page-summary">(.*?)</span>', re.S)
_RESULT_COUNT = re.compile(r"([\d,]+)\s+results?\b")


def result_count(body: str) -> str | None:
    """What the page says about the number of events ("Events 1–100 of more than 1,100")."""
    match = _PAGE_SUMMARY.search(body) or _RESULT_COUNT.search(body)
    return " ".join(re.sub(r"<[^>]+>", "", match.group(1)).split()) if match else None


def time_admin_pages(port: int, username: str, password: str, pages: list, args, workers: int) -> dict:
    browser = Browser(port)
    browser.sign_in(username, password)
    probe = browser.request("GET", CHANGELIST)
    if probe["status"] != 200:
        return {"available": False, "status": probe["status"], "location": probe["location"]}
    results = {}
    for key, label, query in pages:
        path = CHANGELIST + (f"?{query}" if query else "")
        for _ in range(workers):  # unmeasured: every worker renders the page once
            browser.request("GET", path)
        samples = []
        print(f"timing admin changelist: {label} ...", flush=True)
        for _ in range(args.page_requests):
            samples.append(browser.request("GET", path))
        ok = [s for s in samples if s["status"] == 200]
        latencies = sorted(s["ms"] for s in ok)
        queries = [s["queries"] for s in ok if s["queries"] is not None]
        last = ok[-1]["body"] if ok else ""
        results[key] = {
            "label": label,
            "path": path,
            "requests": len(samples),
            "errors": len(samples) - len(ok),
            "statuses": sorted({s["status"] for s in samples}),
            "location": next((s["location"] for s in samples if s["location"]), ""),
            "p50_ms": round(percentile(latencies, 50), 1) if latencies else None,
            "p99_ms": round(percentile(latencies, 99), 1) if latencies else None,
            "max_ms": round(latencies[-1], 1) if latencies else None,
            "mean_queries": round(sum(queries) / len(queries), 1) if queries else None,
            "max_queries": max(queries) if queries else None,
            "rows_shown": rows_shown(last),
            "result_count": result_count(last),
            "kb": round(len(last.encode()) / 1024, 1) if last else None,
        }
    return {"available": True, "pages": results}


# In-process diagnosis --------------------------------------------------------------------------


def logging_statements(token: str, organization_id, accounts: list, rng: random.Random, timed: int) -> dict:
    """
    What record_request (everything logging adds to a SCIM request) runs and costs, in-process
    through django.test.Client with logging on, per kind: one unmeasured request (the first one in
    a process also looks up the connection's current cycle), one with its statements captured,
    then `timed` requests timing record_request itself (wall clock, and the part spent in
    statements; the rest is COMMIT and Python).
    """
    from django.db import connection
    from django.test import Client, override_settings
    from django.test.utils import CaptureQueriesContext

    import scim.views.base as scim_base
    from accounts.models import WorkAccount

    per_kind = timed + 2
    active = list(
        WorkAccount.objects.filter(organization_id=organization_id, is_active=True)
        .order_by("-user_name")
        .values_list("id", "user_name")[: 2 * per_kind]
    )
    active = [(str(pk), name) for pk, name in active]
    pools = {"patch": active[:per_kind], "disable": active[per_kind:]}
    client = Client(HTTP_HOST=HOST)
    original = scim_base.record_request
    marks = {}

    def time_statements(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            marks["sql_s"] += time.perf_counter() - started

    def recorded(request, response):
        marks["start"], marks["sql_s"] = len(connection.queries_log), 0.0
        started = time.perf_counter()
        try:
            with connection.execute_wrapper(time_statements):
                original(request, response)
        finally:
            marks["end"], marks["wall_s"] = len(connection.queries_log), time.perf_counter() - started

    def send(spec):
        return client.generic(
            spec.method,
            spec.path,
            data=spec.body or b"",
            content_type="application/scim+json",
            headers={"Authorization": f"Bearer {token}"},
        )

    found = {}
    scim_base.record_request = recorded
    try:
        with override_settings(PROVISIONING_LOG_ENABLED=True):
            for kind, _label in KINDS:
                specs = build_requests(kind, per_kind, accounts, rng, pools)
                send(specs[0])
                with CaptureQueriesContext(connection) as captured:
                    response = send(specs[1])
                start = marks["start"] - captured.initial_queries
                end = marks["end"] - captured.initial_queries
                statements = [
                    {"ms": round(float(q["time"]) * 1000, 2), "sql": q["sql"]}
                    for q in captured.captured_queries
                ]
                walls, sqls, requests = [], [], []
                for spec in specs[2:]:
                    started = time.perf_counter()
                    send(spec)
                    requests.append((time.perf_counter() - started) * 1000)
                    walls.append(marks["wall_s"] * 1000)
                    sqls.append(marks["sql_s"] * 1000)
                walls, sqls, requests = sorted(walls), sorted(sqls), sorted(requests)
                found[kind] = {
                    "status": response.status_code,
                    "statements": len(statements),
                    "logging": statements[start:end],
                    "timed": len(walls),
                    "record_p50_ms": round(percentile(walls, 50), 2) if walls else None,
                    "record_p99_ms": round(percentile(walls, 99), 2) if walls else None,
                    "record_sql_p50_ms": round(percentile(sqls, 50), 2) if sqls else None,
                    "request_p50_ms": round(percentile(requests, 50), 2) if requests else None,
                }
    finally:
        scim_base.record_request = original
        connection.close()
    return found


def print_logging_statements(found: dict) -> None:
    if not found:
        return
    print()
    print(
        "record_request in-process (django.test.Client, logging on): its statements, and its own time "
        "over the timed requests"
    )
    header = (
        f"{'kind':<48} {'HTTP':>4} {'stmts':>9} {'n':>4} {'rec p50':>7} {'rec p99':>7} {'in SQL':>6} "
        f"{'req p50':>7}"
    )
    print(header)
    print("-" * len(header))
    for kind, label in KINDS:
        f = found.get(kind)
        if f:
            counted = sum(1 for q in f["logging"] if q["sql"] not in ("BEGIN", "COMMIT"))
            statements = f"{counted} of {f['statements']}"
            print(
                f"{label:<48} {f['status']:>4} {statements:>9} {f['timed']:>4} "
                f"{fmt(f['record_p50_ms']):>7} {fmt(f['record_p99_ms']):>7} {fmt(f['record_sql_p50_ms']):>6} "
                f"{fmt(f['request_p50_ms']):>7}"
            )
    print(
        "stmts: statements record_request runs (without BEGIN/COMMIT) of all the request ran; rec: "
        "record_request wall ms; in SQL: p50 of its time inside statements (the rest is COMMIT and "
        "Python); req: whole request in-process"
    )
    example = found.get("patch") or next(iter(found.values()))
    print("the PATCH's logging statements (ms as Django's debug cursor rounds them):")
    for statement in example["logging"]:
        sql = " ".join(statement["sql"].split())
        print(f"  {statement['ms']:6.1f} ms  {sql[:150]}{'…' if len(sql) > 150 else ''}")


def slowest_statements(username: str, pages: list, top: int, explain_ms: float) -> dict:
    """Each page once through django.test.Client: its statements by time, EXPLAIN of slow ones."""
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_HOST=HOST)
    client.force_login(get_user_model().objects.get(user_name=username))
    found = {}
    for key, _label, query in pages:
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            try:
                status = client.get(CHANGELIST + (f"?{query}" if query else "")).status_code
            except Exception as exc:  # the page is someone else's work in progress: report, go on
                found[key] = {"error": f"{type(exc).__name__}: {exc}"}
                continue
            total_ms = (time.perf_counter() - started) * 1000
        statements = sorted(
            ({"ms": float(q["time"]) * 1000, "sql": q["sql"]} for q in captured.captured_queries),
            key=lambda q: -q["ms"],
        )
        for statement in statements[:top]:
            sql = statement["sql"]
            if statement["ms"] >= explain_ms and sql.lstrip().upper().startswith("SELECT"):
                with transaction.atomic(), connection.cursor() as cursor:
                    cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
                    statement["plan"] = [row[0] for row in cursor.fetchall()]
                    transaction.set_rollback(True)
        found[key] = {
            "status": status,
            "total_ms": round(total_ms, 1),
            "statements": len(statements),
            "sql_ms": round(sum(s["ms"] for s in statements), 1),
            "top": statements[:top],
        }
    connection.close()
    return found


def print_list_page(seeding: dict, admin: dict, diagnosis: dict, args) -> None:
    print()
    per_org = seeding["per_organization"]
    print(
        f"(2) Admin changelist {CHANGELIST} with {seeding['rows']:,} events ({seeding['table_size']} table, "
        f"{seeding['indexes_size']} indexes; period {seeding['period'][0]} .. {seeding['period'][1]}): "
        f"signed-in admin's organization {per_org.get('a', {}).get('events', 0):,} events "
        f"({per_org.get('a', {}).get('failures', 0):,} failures), other organization "
        f"{per_org.get('b', {}).get('events', 0):,}; {seeding['connections']} connections, "
        f"{seeding['cycles']:,} cycles, {seeding['cycle_objects']:,} cycle objects"
    )
    t = seeding["timings"]
    print(
        f"seeding: connections+cycles {t['connections_cycles_s']}s, COPY {t['copy_s']}s, "
        f"cycle counts+objects {t['cycle_counts_objects_s']}s, ANALYZE {t['analyze_s']}s"
    )
    if not admin.get("available"):
        reason = admin.get("error") or f"GET {CHANGELIST} answered HTTP {admin.get('status')} "
        print(f"NOT MEASURED: {reason} {admin.get('location', '')}")
        if admin.get("log_tail"):
            print("server log tail:\n" + admin["log_tail"])
        return
    header = (
        f"{'page':<58} {'reqs':>4} {'errs':>4} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7} {'q':>5} "
        f"{'rows':>4} {'results':>9} {'KB':>6}"
    )
    print(header)
    print("-" * len(header))
    for page in admin["pages"].values():
        print(
            f"{page['label'][:58]:<58} {page['requests']:>4} {page['errors']:>4} {fmt(page['p50_ms']):>7} "
            f"{fmt(page['p99_ms']):>7} {fmt(page['max_ms']):>7} {fmt(page['mean_queries']):>5} "
            f"{fmt(page['rows_shown']):>4} {fmt(page['result_count']):>9} {fmt(page['kb']):>6}"
        )
        if page["errors"]:
            print(f"    statuses {page['statuses']} {page['location']}")
    print(
        f"{args.page_requests} sequential requests per page (1 client) after one unmeasured request "
        "per worker; q: X-Query-Count; rows: table rows on the page; results: the count the page shows"
    )
    if not diagnosis:
        return
    print()
    print("slowest SQL statements per page (in-process, django.test.Client, one request each):")
    for key, found in diagnosis.items():
        if "error" in found:
            print(f"  {key}: {found['error']}")
            continue
        print(
            f"  {key}: HTTP {found['status']}, {found['total_ms']} ms in-process, {found['statements']} "
            f"statements, {found['sql_ms']} ms in SQL"
        )
        for statement in found["top"]:
            sql = " ".join(statement["sql"].split())
            print(f"    {statement['ms']:8.1f} ms  {sql[:220]}{'…' if len(sql) > 220 else ''}")
            for line in statement.get("plan", [])[: args.plan_lines]:
                print(f"               | {line}")


# Orchestration ---------------------------------------------------------------------------------


def stop_all(servers: dict) -> None:
    for server in servers.values():
        stop_server(server)


def run_once(args) -> dict:
    rng = random.Random(args.seed)
    db_name = f"wa_bench_{secrets.token_hex(4)}"
    env = server_env(db_name)
    servers: dict = {}
    created = False
    report: dict = {"database": db_name, "cpus": os.cpu_count(), "args": vars(args)}
    tmp = Path(tempfile.gettempdir())
    try:
        print(f"creating database {db_name} ...", flush=True)
        create_database(db_name)
        created = True
        started = time.perf_counter()
        migrate(env)
        print(
            f"migrated in {time.perf_counter() - started:.1f}s; seeding {args.accounts:,} accounts ...",
            flush=True,
        )
        started = time.perf_counter()
        base = seed_base(env, args.accounts, args.batch_size)
        report["seed_s"] = round(time.perf_counter() - started, 1)
        token, accounts = base["token"], base["accounts"]
        report["load_average"] = {"start": load_average()}

        if not args.skip_overhead:
            for config in CONFIGS:
                server_env_ = dict(env, PROVISIONING_LOG_ENABLED="true" if config == "on" else "false")
                servers[config] = start_server(
                    server_env_,
                    args.workers,
                    tmp / f"{db_name}-{config}.log",
                    tmp / f"{db_name}-{config}-access.log",
                )
            seen = {config: set() for config in CONFIGS}
            for config, server in servers.items():
                wait_until_ready(server, token, args.workers)
                seen[config].update(worker_pids(server.process.pid))
                # Warm-up, not measured: imports, DB connections, the first cycle of the "on" server.
                warm_rng = random.Random(0)
                warm = build_requests("match", 8 * args.workers, accounts, warm_rng, {})
                warm += build_requests("get", 8 * args.workers, accounts, warm_rng, {})
                run_load(server.port, token, warm, args.concurrency, args.max_seconds)
            print(
                f"both servers up (logging off on :{servers['off'].port}, on on :{servers['on'].port})",
                flush=True,
            )
            runs = run_overhead(servers, token, accounts, args, db_name)
            for config, server in servers.items():
                seen[config].update(worker_pids(server.process.pid))
                if server.process.poll() is not None:
                    raise RuntimeError(f"gunicorn (logging {config}) died:\n{server.log_tail()}")
            report["memory"] = {
                config: memory_report(servers[config].process.pid, seen[config]) for config in CONFIGS
            }
            stop_all(servers)  # flushes the access logs
            times = {config: server_times_ms(server.access_log_path) for config, server in servers.items()}
            report["overhead"] = overhead_report(runs, times)
            report["load_average"]["after_overhead"] = load_average()
            report["logging_statements"] = logging_statements(
                token,
                base["organization_id"],
                accounts,
                random.Random(args.seed + 1),
                args.inprocess_requests,
            )
            print_overhead(report["overhead"], args)
            print_logging_statements(report["logging_statements"])
            print_memory(report["memory"], args.workers)
            print_failures(report["overhead"])
            print(flush=True)

        if not args.skip_list:
            print(f"seeding {args.events:,} provisioning events ...", flush=True)
            from django.utils import timezone

            report["seeding"] = seed_events(db_name, base["organization_id"], args.events, rng)
            username, password = create_admin(base["organization_id"])
            servers["admin"] = start_server(
                env, args.workers, tmp / f"{db_name}-admin.log", tmp / f"{db_name}-admin-access.log"
            )
            wait_until_ready(servers["admin"], token, args.workers)
            pages = admin_pages(accounts[len(accounts) // 3][1], timezone.now())
            try:
                report["admin"] = time_admin_pages(
                    servers["admin"].port, username, password, pages, args, args.workers
                )
            except (RuntimeError, OSError, http.client.HTTPException) as exc:
                # The admin pages are someone else's work in progress: report, do not lose part 1.
                report["admin"] = {"available": False, "error": f"{type(exc).__name__}: {exc}"}
            if not report["admin"].get("available"):
                report["admin"]["log_tail"] = servers["admin"].log_tail(30)
            report["diagnosis"] = (
                slowest_statements(username, pages, args.top_statements, args.explain_ms)
                if report["admin"].get("available")
                else {}
            )
            report["load_average"]["after_list"] = load_average()
            print_list_page(report["seeding"], report["admin"], report["diagnosis"], args)
        print()
        print(
            f"machine: {os.cpu_count()} CPUs; load average {report['load_average']['start']} at start, "
            f"{load_average()} at the end"
        )
        return report
    finally:
        for server in servers.values():
            stop_server(server)
            for path in (server.log_path, server.access_log_path):
                path.unlink(missing_ok=True)
        clean_up(None, db_name, created)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--quick", action="store_true", help="smaller sizes (2,000 accounts, 100,000 events, …)"
    )
    parser.add_argument("--accounts", type=int, help="work accounts to seed (default 10000)")
    parser.add_argument(
        "--requests", type=int, help="requests per kind per round and configuration (default 300)"
    )
    parser.add_argument("--rounds", type=int, help="rounds per configuration, alternating (default 4)")
    parser.add_argument("--events", type=int, help="provisioning events to bulk-load (default 1000000)")
    parser.add_argument("--page-requests", type=int, help="timed requests per admin page (default 20)")
    parser.add_argument("--concurrency", type=int, default=2, help="SCIM client threads (default 2)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers per server (default 4)")
    parser.add_argument(
        "--max-seconds", type=float, default=240, help="time limit per SCIM run (default 240)"
    )
    parser.add_argument("--batch-size", type=int, default=5000, help="bulk_create batch for accounts")
    parser.add_argument(
        "--inprocess-requests",
        type=int,
        help="in-process requests per kind timing record_request (default 200)",
    )
    parser.add_argument("--skip-overhead", action="store_true", help="skip part 1 (logging overhead)")
    parser.add_argument("--skip-list", action="store_true", help="skip part 2 (1M-event admin list)")
    parser.add_argument("--top-statements", type=int, default=3, help="slowest statements shown per page")
    parser.add_argument(
        "--explain-ms", type=float, default=20, help="EXPLAIN ANALYZE statements over this (ms)"
    )
    parser.add_argument("--plan-lines", type=int, default=12, help="plan lines shown per statement")
    parser.add_argument("--seed", type=int, default=1, help="random seed")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args(argv)
    sizes = (
        {
            "accounts": 2000,
            "requests": 150,
            "rounds": 2,
            "events": 100_000,
            "page_requests": 5,
            "inprocess_requests": 30,
        }
        if args.quick
        else {
            "accounts": 10_000,
            "requests": 300,
            "rounds": 4,
            "events": 1_000_000,
            "page_requests": 20,
            "inprocess_requests": 200,
        }
    )
    for name, value in sizes.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    if min(args.accounts, args.requests, args.rounds, args.events, args.page_requests, args.workers) < 1:
        parser.error("sizes must be positive")

    # This file has the name of the Django app it measures: the project directory must come before
    # benchmarks/ on sys.path, or Django's `import provisioning_logs` would find this script.
    project = str(Path(__file__).resolve().parent.parent)
    sys.path[:] = [project] + [entry for entry in sys.path if entry != project]

    # Ctrl-C and SIGTERM both unwind through run_once's cleanup (stop servers, drop database).
    signal.signal(signal.SIGTERM, interrupt)
    report = run_reported(run_once, args)
    if report is None:
        return 2
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2, default=str))
    failed = sum(r["errors"] for r in report.get("overhead", {}).get("runs", []))
    failed += sum(p["errors"] for p in report.get("admin", {}).get("pages", {}).values())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
