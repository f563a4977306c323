"""
What writing provisioning events costs per event, by batch size (issue 15): the batched log's
flusher (services.events_record) against one event per transaction (event_record, what every
request did before), on a throwaway PostgreSQL database.

    .venv/bin/python benchmarks/log_batches.py                 # 1,024 events per batch size
    .venv/bin/python benchmarks/log_batches.py --events 4096 --sizes 1 8 64

Steps: create wa_bench_log_<random> and migrate it -> one organization and connection -> for each
batch size, Entra-shaped lookup events (each a new userName, as an initial cycle sends them)
written in batches of that size -> CPU (this process's time.process_time) and wall time per event,
and the statements per batch (counted by Django) -> drop the database. Only 127.0.0.1 is contacted.
"""

import argparse
import cProfile
import pstats
import sys
import time
import uuid

from common import create_database, drop_database, load_average, migrate, server_env, setup_django


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=1024, help="events per batch size")
    parser.add_argument("--sizes", type=int, nargs="*", default=[1, 2, 4, 8, 16, 64, 256])
    parser.add_argument("--profile", type=int, metavar="SIZE", help="cProfile the batches of this size")
    args = parser.parse_args()

    db_name = f"wa_bench_log_{uuid.uuid4().hex[:8]}"
    env = server_env(db_name)
    create_database(db_name)
    try:
        migrate(env)
        setup_django(env)
        return measure(args)
    finally:
        from django.db import connections

        connections.close_all()
        drop_database(db_name)


def measure(args) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from accounts.connections.services import connection_get_or_create
    from accounts.services import organization_create
    from provisioning_logs.models import Action
    from provisioning_logs.services import EventRecord, event_record, events_record

    organization = organization_create(slug="log-bench", name="Log benchmark")
    provisioning = connection_get_or_create(organization=organization)
    serial = iter(range(10**9))

    def lookup() -> EventRecord:
        name = f"user{next(serial):07d}@contoso.example"
        return EventRecord(
            organization=organization,
            connection=provisioning,
            method="GET",
            path=f'/scim/v2/Users?filter=userName+eq+"{name}"',
            http_status=200,
            duration_ms=3,
            request_id=str(uuid.uuid4()),
            client_address="127.0.0.1",
            credential="secret token entra",
            resource_type="User",
            action=Action.LOOKUP,
            identity=name,
            skipped=True,
        )

    events_record([(lookup(), timezone.now())])  # the cycle and the health row exist from here
    print(f"load average {load_average()}; {args.events:,} events per line\n")
    print(f"{'batch':>20} {'CPU ms/event':>13} {'wall ms/event':>14} {'statements/batch':>17}")
    rows = [
        ("one per transaction", lambda batch: [event_record(record, now=now) for record, now in batch], 1)
    ]
    rows += [(str(size), events_record, size) for size in args.sizes]
    for label, write, size in rows:
        batches = [
            [(lookup(), timezone.now()) for _ in range(size)] for _ in range(max(1, args.events // size))
        ]
        with CaptureQueriesContext(connection) as queries:
            write(batches[0])
        statements = len([q for q in queries.captured_queries if q["sql"] not in ("BEGIN", "COMMIT")])
        profiler = cProfile.Profile() if args.profile == size and write is events_record else None
        cpu, wall = time.process_time(), time.perf_counter()
        if profiler:
            profiler.enable()
        for batch in batches[1:]:
            write(batch)
        if profiler:
            profiler.disable()
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
        events = size * (len(batches) - 1)
        cpu_ms = (time.process_time() - cpu) * 1000 / events
        wall_ms = (time.perf_counter() - wall) * 1000 / events
        print(f"{label:>20} {cpu_ms:>13.3f} {wall_ms:>14.3f} {statements:>17}", flush=True)
    print(f"\nload average {load_average()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
