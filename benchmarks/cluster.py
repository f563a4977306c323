"""
Scale-out benchmark (issue 11): an Entra-shaped initial provisioning cycle through HAProxy, with 1
and then 2 web nodes started from the Procfile's web command (tests/cluster.py: production
settings, one PostgreSQL database, Redis, a Celery worker and beat, an SMTP sink).

The cycle (tests/entra_load.py, bodies of docs/entra-scim.md): the credential probe; per user
`GET /Users?filter=userName eq "…"` (200, empty) then `POST /Users`; per group the displayName match,
`POST /Groups` and `PATCH Add members` in chunks; attribute updates (legacy multi-op PATCH); disables
(`Replace active "False"`). Prints, per node count and phase: requests, requests/s, client p50/p99,
errors; then checks the database holds exactly what was sent.

    .venv/bin/python benchmarks/cluster.py                 # 2,000 users, 1 then 2 nodes
    .venv/bin/python benchmarks/cluster.py --users 5000 --nodes 2 --json out.json

PostgreSQL from DATABASE_URL's server (a throw-away database beside it, dropped after); only
127.0.0.1 is contacted. CLUSTER_PORTS=8600-8699 keeps the ports in a range. Exit status 1 when a
request failed (after the client's retries) or the database does not match.
"""

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path


sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.cluster import Cluster, throwaway_database  # noqa: E402
from tests.entra_load import (  # noqa: E402
    disable_user,
    entra_users,
    in_parallel,
    probe,
    provision_group,
    provision_user,
    update_user,
)


def percentile(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def run_cycle(cluster: Cluster, args, label: str) -> dict:
    tenant = cluster.organization(f"bench-{label}")
    client = tenant.client()
    users = entra_users(f"bench-{label}", args.users)
    phases, failures = [], []

    def phase(name: str, work):
        before = len(client.answers)
        started = time.monotonic()
        outcomes = work()
        wall = time.monotonic() - started
        answers = client.answers[before:]
        latencies = [answer.seconds * 1000 for answer in answers]
        retried = sum(1 for answer in answers if answer.status in (0, 429, 502, 503, 504))
        failed = [outcome for outcome in outcomes if not outcome.ok]
        failures.extend(failed)
        phases.append(
            {
                "phase": name,
                "requests": len(answers),
                "seconds": round(wall, 2),
                "rps": round(len(answers) / wall, 1) if wall else 0.0,
                "p50_ms": round(percentile(latencies, 0.50), 1),
                "p99_ms": round(percentile(latencies, 0.99), 1),
                "retried": retried,
                "errors": len(failed),
            }
        )
        print(
            f"  {name:<9} {len(answers):>6} req {wall:7.1f} s {phases[-1]['rps']:>7.1f} req/s "
            f"p50 {phases[-1]['p50_ms']:>6.1f} ms p99 {phases[-1]['p99_ms']:>7.1f} ms "
            f"retried {retried:>3} errors {len(failed)}",
            flush=True,
        )
        return outcomes

    # Unmeasured: every gunicorn process opens its database and Redis connections.
    warm = tenant.client()
    in_parallel(range(4 * args.web_workers * int(label)), lambda _: probe(warm), args.concurrency)
    started = time.monotonic()
    phase("probe", lambda: [probe(client)])
    created = phase(
        "users", lambda: in_parallel(users, lambda user: provision_user(client, user), args.concurrency)
    )
    ids = [outcome.resource_id for outcome in created]
    per_group = min(args.members, len(ids))
    phase(
        "groups",
        lambda: in_parallel(
            list(range(args.groups)),
            lambda index: provision_group(
                client,
                f"Bench {label} group {index}",
                [ids[(index * per_group + offset) % len(ids)] for offset in range(per_group)],
            ),
            args.concurrency,
        ),
    )
    phase(
        "updates",
        lambda: in_parallel(
            list(range(min(args.updates, len(ids)))),
            lambda index: update_user(
                client, ids[index], "Updated", users[index].user_name.replace("@", ".new@")
            ),
            args.concurrency,
        ),
    )
    phase(
        "disables",
        lambda: in_parallel(
            ids[-args.disables :] if args.disables else [],
            lambda rid: disable_user(client, rid),
            args.concurrency,
        ),
    )
    wall = time.monotonic() - started
    latencies = [answer.seconds * 1000 for answer in client.answers]
    requests = len(client.answers) + len(warm.answers)
    [[accounts, inactive]] = cluster.sql(
        "SELECT count(*), count(*) FILTER (WHERE NOT is_active) FROM accounts_workaccount "
        "WHERE organization_id = %s",
        tenant.id,
    )

    def cycles_and_counted():
        [[cycles, counted]] = cluster.sql(
            "SELECT count(*), coalesce(sum(count_success + count_failure), 0) "
            "FROM provisioning_logs_provisioningcycle WHERE connection_id = %s",
            tenant.connection_id,
        )
        return cycles, counted

    # Events are recorded once each answer is sent: give the last ones a moment.
    deadline = time.monotonic() + 30
    while not args.log_off and cycles_and_counted()[1] < requests and time.monotonic() < deadline:
        time.sleep(0.2)
    cycles, counted = cycles_and_counted()
    # Every request (the warm-up's too) counted, in the connection's one cycle (none: log off).
    logged = (0, 0) if args.log_off else (1, requests)
    consistent = (accounts, inactive, cycles, counted) == (
        args.users,
        min(args.disables, args.users),
        *logged,
    )
    total = {
        "nodes": label,
        "requests": len(client.answers),
        "seconds": round(wall, 1),
        "rps": round(len(client.answers) / wall, 1),
        "p50_ms": round(percentile(latencies, 0.50), 1),
        "p99_ms": round(percentile(latencies, 0.99), 1),
        "errors": len(failures),
        "accounts": accounts,
        "inactive": inactive,
        "cycles": cycles,
        "counted": counted,
        "consistent": consistent,
        "phases": phases,
    }
    print(
        f"  {'total':<9} {total['requests']:>6} req {wall:7.1f} s {total['rps']:>7.1f} req/s "
        f"p50 {total['p50_ms']:>6.1f} ms p99 {total['p99_ms']:>7.1f} ms errors {len(failures)}; "
        f"database: {accounts} accounts, {inactive} inactive, {cycles} cycle(s) counting {counted} requests "
        f"{'OK' if consistent else 'MISMATCH'}",
        flush=True,
    )
    return total


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--groups", type=int, default=20)
    parser.add_argument("--members", type=int, default=100, help="members per group (PATCH chunks of 50)")
    parser.add_argument("--updates", type=int, default=500)
    parser.add_argument("--disables", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=8, help="client threads (keep-alive connections)")
    parser.add_argument("--nodes", default="1,2", help="node counts to run, in order")
    parser.add_argument(
        "--web-workers", type=int, default=2, help="gunicorn processes per node (WEB_CONCURRENCY)"
    )
    parser.add_argument(
        "--rate-limit",
        type=int,
        default=0,
        help="SCIM_RATE_LIMIT (0: off, to measure capacity; production: 100)",
    )
    parser.add_argument(
        "--log-off",
        action="store_true",
        help="PROVISIONING_LOG_ENABLED=false: what the nodes do without the per-organization event log",
    )
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        url = "postgres://postgres@127.0.0.1:5432/work_accounts"
    results = []
    print(
        f"Entra initial cycle: {args.users} users, {args.groups} groups x {args.members} members, "
        f"{args.updates} updates, {args.disables} disables; {args.concurrency} client threads; "
        f"{args.web_workers} gunicorn processes per node; SCIM_RATE_LIMIT={args.rate_limit}; "
        f"provisioning log {'off' if args.log_off else 'on'}; "
        f"{os.cpu_count()} CPUs, load {load_average()}",
        flush=True,
    )
    with throwaway_database(url) as database_url:
        for nodes in (int(part) for part in args.nodes.split(",")):
            workdir = Path(tempfile.mkdtemp(prefix=f"wa-bench-cluster-{nodes}-"))
            print(
                f"\n{nodes} web node(s) behind HAProxy (logs in {workdir}), load {load_average()}", flush=True
            )
            with Cluster(
                database_url=database_url,
                workdir=workdir,
                nodes=nodes,
                web_workers=args.web_workers,
                env={
                    "SCIM_RATE_LIMIT": args.rate_limit,
                    "DJANGO_LOG_LEVEL": "WARNING",
                    "PROVISIONING_LOG_ENABLED": "false" if args.log_off else "true",
                },
            ) as cluster:
                results.append(run_cycle(cluster, args, str(nodes)))
            left = cluster.leftovers()
            if left:
                print(f"  processes left over: {left}", flush=True)
    if len(results) > 1:
        first, last = results[0], results[-1]
        print(
            f"\n{last['nodes']} nodes vs {first['nodes']}: {last['rps']} vs {first['rps']} req/s "
            f"({last['rps'] / first['rps']:.2f}x), p99 {last['p99_ms']} vs {first['p99_ms']} ms",
            flush=True,
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0 if all(result["errors"] == 0 and result["consistent"] for result in results) else 1


if __name__ == "__main__":
    sys.exit(main())
