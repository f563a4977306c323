"""
In-process CPU per SCIM request (issue 15): POST /Users (Entra's create body), Entra's legacy
multi-op PATCH and, with --only, Entra's reads (test_connection, match, get) through
django.test.Client
scim_load.py seeded (`--keep-database`). No HTTP server, no load generator: time.process_time
around N requests is the server's CPU for them (PostgreSQL's excluded), steadier on a shared
machine than the workers' /proc counters under wrk.

    .venv/bin/python benchmarks/scim_writes_cpu.py --database wa_writes_perf --requests 500
    .venv/bin/python benchmarks/scim_writes_cpu.py ... --statements      # and print each SQL statement
    .venv/bin/python benchmarks/scim_writes_cpu.py ... --profile patch   # cProfile, top 40 by tottime
    .venv/bin/python benchmarks/scim_writes_cpu.py ... --instructions --requests 100   # callgrind

--instructions counts the instructions per request under valgrind's callgrind (benchmarks/
callgrind.py) instead of timing them: the same figure whatever else the machine is doing, for
an A/B of two trees on a busy host (about 50 times slower, so fewer --requests).

The provisioning log is off unless --log (PROVISIONING_LOG_ENABLED; batched as in production: the
flusher thread's CPU is this process's too, and what it holds is written before the clock stops).
"""

import argparse
import os
import sys
import time
import uuid
from pathlib import Path


PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(PROJECT_DIR), str(PROJECT_DIR / "benchmarks")]

from scim_load import (  # noqa: E402
    BALANCER_HEADERS,
    HOST,
    PG_PORT,
    PUBLIC_HOST,
    entra_create_body,
    entra_patch_body,
)


def configure(args) -> None:
    os.environ.update(
        DJANGO_SETTINGS_MODULE="config.settings.production",
        DJANGO_SECRET_KEY="bench-" + "k" * 30 + "-a-production-like-random-secret-value",
        DJANGO_ALLOWED_HOSTS=f"{PUBLIC_HOST},{HOST},testserver",
        DATABASE_URL=f"postgres://postgres@{HOST}:{PG_PORT}/{args.database}",
        REDIS_URL=args.redis_url,
        PORTAL_BASE_URL=f"https://{PUBLIC_HOST}",
        TRUSTED_PROXIES="127.0.0.0/8",
        SCIM_RATE_LIMIT="1000000",
        SCIM_RATE_BURST="1000000",
        PROVISIONING_LOG_ENABLED="true" if args.log else "false",
    )
    import django

    django.setup()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", required=True, help="a database scim_load.py seeded")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/8")
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--only", nargs="*", default=["create", "patch"])
    parser.add_argument("--log", action="store_true", help="provisioning log on")
    parser.add_argument("--statements", action="store_true", help="print one request's SQL")
    parser.add_argument("--profile", help="cProfile this scenario")
    parser.add_argument("--profile-output", help="and write its pstats file here")
    parser.add_argument("--instructions", action="store_true", help="instructions per request (callgrind)")
    args = parser.parse_args()
    if args.instructions:
        import callgrind

        callgrind.run_under_callgrind()
        counter = callgrind.Counter()
    configure(args)

    import json

    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from accounts.connections.models import ScimSecretToken
    from accounts.connections.services import scim_token_create
    from accounts.models import Organization, WorkAccount, WorkAccountValue
    from provisioning_logs.batching import event_flush

    organization = Organization.objects.get(slug="bench")
    # scim_load.py leaves its token live after each run, and a connection holds two at most.
    ScimSecretToken.objects.filter(connection__organization=organization, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    token = scim_token_create(organization=organization, label="in-process").secret
    ids = list(
        WorkAccount.objects.filter(
            organization=organization, deleted_at__isnull=True, last_login__isnull=True
        )
        .order_by("date_joined")
        .values_list("pk", flat=True)[: args.requests]
    )
    client = Client(
        headers={"Authorization": f"Bearer {token}", **BALANCER_HEADERS},
        REMOTE_ADDR="127.0.0.1",
    )
    tag = uuid.uuid4().hex[:8]
    # New values in every run: a PATCH that changes nothing writes nothing.
    run = uuid.uuid4().int % 10**9 * 10**6

    seeded = list(
        WorkAccount.objects.filter(
            organization=organization, deleted_at__isnull=True, external_id__startswith="ext-"
        )
        .order_by("date_joined")
        .values_list("user_name", "external_id")[: args.requests]
    )
    # Work e-mails as they are now (the PATCH scenario replaces them).
    emails = list(
        WorkAccountValue.objects.filter(attribute="emails", type="work", account__organization=organization)
        .order_by("account__date_joined")
        .values_list("value", flat=True)[: args.requests]
    )
    names = [name for name, _ in seeded]
    external_ids = [external_id for _, external_id in seeded]
    reads = {
        "test_connection": lambda i: f'/scim/v2/Users?filter=userName+eq+"{uuid.uuid4()}"',
        "match": lambda i: f'/scim/v2/Users?filter=userName+eq+"{names[i % len(names)].upper()}"',
        "external_id": lambda i: (
            f'/scim/v2/Users?filter=externalId+eq+"{external_ids[i % len(external_ids)]}"'
        ),
        "email": lambda i: (
            f'/scim/v2/Users?filter=emails[type+eq+"work"].value+eq+"{emails[i % len(emails)]}"'
        ),
        "get": lambda i: f"/scim/v2/Users/{ids[i % len(ids)]}",
    }

    def request(name: str, i: int):
        if name in reads:
            response = client.get(reads[name](i))
            if response.status_code != 200:
                raise SystemExit(f"{name}: HTTP {response.status_code}: {response.content[:400]!r}")
            return response
        if name == "create":
            body, path, method = entra_create_body(f"{tag}-{i}"), "/scim/v2/Users", client.post
        else:
            path = f"/scim/v2/Users/{ids[i % len(ids)]}"
            body, method = entra_patch_body(run + i), client.patch
        response = method(path, data=json.dumps(body), content_type="application/scim+json")
        expected = 201 if name == "create" else 200
        if response.status_code != expected:
            raise SystemExit(f"{name}: HTTP {response.status_code}: {response.content[:400]!r}")
        return response

    for name in args.only:
        for i in range(20):  # warm-up: imports, compiled regexes, connection
            request(name, 10_000 + i)
        with CaptureQueriesContext(connection) as captured:
            request(name, 20_000)
        statements = len(captured.captured_queries)
        if args.statements:
            for query in captured.captured_queries:
                print(f"  {query['sql'][:300]}")
        if args.profile == name:
            import cProfile
            import pstats

            profiler = cProfile.Profile(time.process_time)  # CPU, not waits for PostgreSQL
            profiler.enable()
            for i in range(args.requests):
                request(name, i)
            profiler.disable()
            if args.profile_output:
                profiler.dump_stats(args.profile_output)
            pstats.Stats(profiler).sort_stats("tottime").print_stats(40)
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(60)
            continue

        def measured(name=name):
            for i in range(args.requests):
                request(name, i + (30_000 if name == "create" else 0))
            event_flush()

        if args.instructions:
            instructions = counter.count(name, measured) / args.requests
            print(f"{name:8} {instructions / 1e6:7.2f} M instructions/req  {statements} statements")
            continue
        started_cpu, started_wall = time.process_time(), time.perf_counter()
        measured()
        cpu = (time.process_time() - started_cpu) * 1000 / args.requests
        wall = (time.perf_counter() - started_wall) * 1000 / args.requests
        print(
            f"{name:8} {cpu:6.2f} ms CPU/req  {wall:6.2f} ms wall/req  "
            f"{statements} statements  (load {os.getloadavg()[0]:.2f})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
