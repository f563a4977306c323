"""
What the log flusher spends on the event of each kind of SCIM request (issue 15): the events of
real requests (Entra's POST /Users, its legacy multi-op PATCH, GET by id) captured in process,
then written by services.events_record in batches, as the flusher writes them.

    .venv/bin/python benchmarks/log_event_cpu.py --database wa_perf_load_10000
    .venv/bin/python benchmarks/log_event_cpu.py ... --instructions --requests 100   # callgrind
    .venv/bin/python benchmarks/log_event_cpu.py ... --profile create               # cProfile

A database scim_load.py seeded (`--keep-database`). CPU per event is this process's
time.process_time around the writes (PostgreSQL's excluded); --instructions counts instructions
instead (benchmarks/callgrind.py), the same figure on a busy host. The captured events are written
twice (a warm-up pass, then the measured one): the events table grows by 2 x --requests per kind.
"""

import argparse
import json
import sys
import time
import uuid
from pathlib import Path


PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(PROJECT_DIR), str(PROJECT_DIR / "benchmarks")]

import callgrind  # noqa: E402
import scim_writes_cpu  # noqa: E402
from scim_load import BALANCER_HEADERS, entra_create_body, entra_patch_body  # noqa: E402


KINDS = ("create", "patch", "get")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", required=True, help="a database scim_load.py seeded")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/8")
    parser.add_argument("--requests", type=int, default=400, help="requests (events) per kind")
    parser.add_argument("--batch", type=int, default=8, help="events per batch")
    parser.add_argument("--only", nargs="*", default=list(KINDS), choices=KINDS)
    parser.add_argument("--profile", choices=KINDS, help="cProfile this kind's writes")
    parser.add_argument("--instructions", action="store_true", help="instructions per event (callgrind)")
    args = parser.parse_args()
    if args.instructions:
        callgrind.run_under_callgrind()
        counter = callgrind.Counter()
    args.log = True
    scim_writes_cpu.configure(args)

    from django.test import Client
    from django.utils import timezone

    from accounts.connections.models import ScimSecretToken
    from accounts.connections.services import scim_token_create
    from accounts.models import Organization, WorkAccount
    from provisioning_logs import batching, services

    captured = []
    # The requests' events are kept here instead of queued for the flusher thread.
    batching.EventBatcher.submit = lambda self, record: captured.append((record, timezone.now()))

    organization = Organization.objects.get(slug="bench")
    ScimSecretToken.objects.filter(connection__organization=organization, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    token = scim_token_create(organization=organization, label="log-event-cpu").secret
    client = Client(headers={"Authorization": f"Bearer {token}", **BALANCER_HEADERS}, REMOTE_ADDR="127.0.0.1")
    ids = list(
        WorkAccount.objects.filter(organization=organization, deleted_at__isnull=True)
        .order_by("date_joined")
        .values_list("pk", flat=True)[: args.requests]
    )
    tag, run = uuid.uuid4().hex[:8], uuid.uuid4().int % 10**9 * 10**6

    def request(kind: str, i: int):
        if kind == "create":
            body = json.dumps(entra_create_body(f"{tag}-{i}"))
            return client.post("/scim/v2/Users", data=body, content_type="application/scim+json")
        if kind == "patch":
            body = json.dumps(entra_patch_body(run + i))
            return client.patch(f"/scim/v2/Users/{ids[i]}", data=body, content_type="application/scim+json")
        return client.get(f"/scim/v2/Users/{ids[i]}")

    for kind in args.only:
        captured.clear()
        for i in range(args.requests):
            response = request(kind, i)
            if response.status_code not in (200, 201):
                raise SystemExit(f"{kind}: HTTP {response.status_code}: {response.content[:400]!r}")
        batches = [captured[i : i + args.batch] for i in range(0, len(captured), args.batch)]

        def write(batches=batches):
            for batch in batches:
                services.events_record(batch)

        write()  # warm-up: compiled statements, the cycle
        if args.instructions:
            instructions = counter.count(kind, write)
            print(f"{kind:8s} {instructions / len(captured) / 1e6:.3f} M instructions per event")
            continue
        if args.profile == kind:
            import cProfile
            import pstats

            profiler = cProfile.Profile(time.process_time)
            profiler.runcall(write)
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(45)
            continue
        started = time.process_time()
        write()
        cpu = time.process_time() - started
        print(f"{kind:8s} {1000 * cpu / len(captured):.3f} ms CPU per event (batches of {args.batch})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
