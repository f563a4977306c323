"""
Cursor paging (RFC 9865) against startIndex paging at 1,000,000 accounts, through a real gunicorn
server on PostgreSQL.

    .venv/bin/python benchmarks/cursor_paging.py --database wa_cursor --port 12701
    .venv/bin/python benchmarks/cursor_paging.py --accounts 100000 --samples 20

Steps: manage.py migrate the given database -> seed one organization of N accounts with one
INSERT … SELECT generate_series (reused when the organization already has N: seeding a million
rows takes minutes) -> VACUUM ANALYZE -> start gunicorn (1 sync worker) -> time, one request at a
time: the first cursor page, page 9,000 by cursor (its cursor issued for the row page 8,999 ends
at, as a walk would have been given it), a walk of the first --walk pages by nextCursor, and
startIndex=900001 (the same page by index) -> print p50/p99 and the EXPLAIN ANALYZE of both page
queries. `--drop` deletes the seeded organization at the end. Only 127.0.0.1 is contacted.

Accounts are created in batches of 100 sharing a timestamp (as a bulk import writes them), so
the (date_joined, id) keyset is also measured where the first key ties.
"""

import argparse
import http.client
import json
import sys
import tempfile
import time
import uuid
from pathlib import Path

from common import (
    HOST,
    PG_PORT,
    SCIM,
    load_average,
    migrate,
    percentile,
    server_times_ms,
    setup_django,
    start_server,
    stop_server,
    wait_until_ready,
)


SLUG = "cursor-bench"
PAGE = 100
DEEP_PAGE = 9_000
TIES = 100  # accounts per shared date_joined


def bench_env(database: str) -> dict:
    from common import server_env

    return server_env(database)


def seed(accounts: int) -> tuple[object, str]:
    """The benchmark organization with `accounts` live accounts, and a SCIM token for it."""
    from django.db import connection, transaction

    from accounts.connections.services import scim_token_create
    from accounts.models import Organization, WorkAccount
    from accounts.services import organization_create

    organization = Organization.objects.filter(slug=SLUG).first()
    if organization is not None and WorkAccount.objects.filter(organization=organization).count() != accounts:
        delete(organization)
        organization = None
    if organization is None:
        organization = organization_create(slug=SLUG, name="Cursor benchmark")
        started = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                f"""
                INSERT INTO {WorkAccount._meta.db_table} (
                    id, organization_id, role, user_name, external_id, is_active, display_name,
                    name_given_name, name_family_name, roles, date_joined, updated_at, version,
                    security_stamp, password, is_superuser
                )
                SELECT gen_random_uuid(), %s, 'member', 'user' || lpad(n::text, 7, '0') || '@contoso.example',
                       gen_random_uuid()::text, true, 'User ' || n, 'User', 'N' || n, '[]'::jsonb,
                       timestamptz '2024-01-01' + (n / %s) * interval '1 second',
                       timestamptz '2024-01-01' + (n / %s) * interval '1 second',
                       1, gen_random_uuid(), '!', false
                FROM generate_series(0, %s - 1) AS n
                """,
                [organization.pk, TIES, TIES, accounts],
            )
        print(f"seeded {accounts:,} accounts in {time.perf_counter() - started:.0f}s", flush=True)
        with connection.cursor() as cursor:
            cursor.execute(f"VACUUM ANALYZE {WorkAccount._meta.db_table}")
    token = scim_token_create(organization=organization, label=f"bench-{uuid.uuid4().hex[:6]}").secret
    return organization, token


def delete(organization) -> None:
    from django.db import connection

    from accounts.models import WorkAccount

    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {WorkAccount._meta.db_table} WHERE organization_id = %s", [organization.pk]
        )
    organization.delete()


def page_queryset(organization, position=None):
    """The query the cursor page runs (scim.views.listing._cursor_page), for EXPLAIN."""
    from accounts.models import WorkAccount
    from accounts.selectors import live_accounts_scope
    from scim.sorting import Sort
    from scim.users.filters import USER_DEFAULT_SORT, USER_SORT_KEYS

    sort = Sort(USER_SORT_KEYS[USER_DEFAULT_SORT])
    queryset = sort.annotate(WorkAccount.objects.filter(**live_accounts_scope(organization=organization)))
    queryset = queryset.order_by(*sort.ordering())
    if position is not None:
        queryset = queryset.filter(sort.after(*position, reverse=False, inclusive=False))
    return queryset


def deep_cursor(organization, total: int) -> tuple[str, str]:
    """nextCursor of page DEEP_PAGE - 1, and the id page DEEP_PAGE must start with."""
    from scim import cursors
    from scim.sorting import SORT_VALUE, Sort
    from scim.users.filters import USER_DEFAULT_SORT, USER_SORT_KEYS

    before = (DEEP_PAGE - 1) * PAGE
    rows = list(page_queryset(organization)[before - 1 : before + 1])
    sort = Sort(USER_SORT_KEYS[USER_DEFAULT_SORT])
    query = cursors.query_fingerprint("User", organization.pk, "", sort.fingerprint)
    position = cursors.Position(True, getattr(rows[0], SORT_VALUE), rows[0].pk)
    return cursors.issue(position, query=query, count=PAGE, total=total, kind="dateTime"), str(rows[1].pk)


def explain(queryset) -> str:
    return queryset.explain(analyze=True, buffers=True)


class Client:
    def __init__(self, port: int, token: str):
        self.conn = http.client.HTTPConnection(HOST, port, timeout=60)
        self.token = token

    def get(self, path: str) -> tuple[float, str, dict]:
        request_id = uuid.uuid4().hex
        headers = {"Authorization": f"Bearer {self.token}", "client-request-id": request_id}
        started = time.perf_counter()
        self.conn.request("GET", SCIM + path, headers=headers)
        response = self.conn.getresponse()
        payload = response.read()
        elapsed = (time.perf_counter() - started) * 1000
        if response.status != 200:
            raise RuntimeError(f"GET {path}: HTTP {response.status}: {payload[:500]!r}")
        return elapsed, request_id, json.loads(payload)


def timed(client: Client, path: str, samples: int, check=None) -> tuple[list[float], list[str]]:
    latencies, request_ids = [], []
    for _ in range(samples):
        elapsed, request_id, body = client.get(path)
        if check is not None:
            check(body)
        latencies.append(elapsed)
        request_ids.append(request_id)
    return latencies, request_ids


def line(label: str, latencies: list[float], request_ids: list[str], server: dict) -> str:
    values = sorted(latencies)
    srv = sorted(server[r] for r in request_ids if r in server)
    text = f"{label:<52} n={len(values):>4}  p50 {percentile(values, 50):7.1f} ms"
    text += f"  p99 {percentile(values, 99):7.1f} ms"
    if srv:
        text += f"   srv p50 {percentile(srv, 50):7.1f} ms  p99 {percentile(srv, 99):7.1f} ms"
    return text


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", default="wa_cursor", help="an existing PostgreSQL database of yours")
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=50, help="requests per measured page")
    parser.add_argument("--walk", type=int, default=200, help="pages walked by nextCursor from the first")
    parser.add_argument(
        "--port", type=int, default=None, help="gunicorn's 127.0.0.1 port (default: a free one)"
    )
    parser.add_argument("--drop", action="store_true", help="delete the seeded organization at the end")
    args = parser.parse_args()
    if args.accounts < DEEP_PAGE * PAGE + PAGE:
        parser.error(f"--accounts must be at least {DEEP_PAGE * PAGE + PAGE:,} for page {DEEP_PAGE:,}")

    env = bench_env(args.database)
    print(f"PostgreSQL {HOST}:{PG_PORT}/{args.database}; load average {load_average()}", flush=True)
    migrate(env)
    setup_django(env)
    from django.db import connection

    organization, token = seed(args.accounts)
    connection.close()
    logs = Path(tempfile.mkdtemp(prefix="cursor-bench-"))
    server = start_server(env, 1, logs / "server.log", logs / "access.log", port=args.port)
    try:
        wait_until_ready(server, token, 1)
        client = Client(server.port, token)
        first = f"/Users?cursor=&count={PAGE}&attributes=userName"
        total = client.get(first)[2]["totalResults"]
        cursor, expected_first = deep_cursor(organization, total)
        deep = f"/Users?cursor={cursor}&count={PAGE}&attributes=userName"
        index = f"/Users?startIndex={(DEEP_PAGE - 1) * PAGE + 1}&count={PAGE}&attributes=userName"

        def deep_is_right(body):
            if body["Resources"][0]["id"] != expected_first or len(body["Resources"]) != PAGE:
                raise RuntimeError(
                    f"page {DEEP_PAGE:,} by cursor does not start at row {(DEEP_PAGE - 1) * PAGE + 1:,}"
                )

        def index_is_right(body):
            if body["Resources"][0]["id"] != expected_first:
                raise RuntimeError(f"startIndex page {DEEP_PAGE:,} differs from the cursor page")

        client.get(deep)  # warm-up of the worker and the plan
        results = {
            "first": timed(client, first, args.samples),
            "deep": timed(client, deep, args.samples, deep_is_right),
            "index_first": timed(
                client, f"/Users?startIndex=1&count={PAGE}&attributes=userName", args.samples
            ),
            "index_deep": timed(client, index, max(5, args.samples // 5), index_is_right),
        }
        walk_latencies, walk_ids, next_cursor = [], [], ""
        for _ in range(args.walk):
            elapsed, request_id, body = client.get(
                f"/Users?cursor={next_cursor}&count={PAGE}&attributes=userName"
            )
            walk_latencies.append(elapsed)
            walk_ids.append(request_id)
            next_cursor = body["nextCursor"]
        time.sleep(1)  # gunicorn writes its access log lines after the responses
        server_times = server_times_ms(server.access_log_path)

        print()
        print(
            f"SCIM /Users paging at {args.accounts:,} accounts (1 gunicorn worker, 1 client, {PAGE} per page)"
        )
        print(line("cursor page 1 (empty cursor, counts the total)", *results["first"], server_times))
        print(line(f"cursor page {DEEP_PAGE:,}", *results["deep"], server_times))
        print(line(f"cursor walk, pages 1–{args.walk} by nextCursor", walk_latencies, walk_ids, server_times))
        print(line("startIndex=1", *results["index_first"], server_times))
        print(
            line(
                f"startIndex={(DEEP_PAGE - 1) * PAGE + 1:,} (page {DEEP_PAGE:,} by index)",
                *results["index_deep"],
                server_times,
            )
        )
        print(f"load average {load_average()}")

        rows = list(page_queryset(organization)[(DEEP_PAGE - 1) * PAGE - 1 : (DEEP_PAGE - 1) * PAGE])
        from scim.sorting import SORT_VALUE

        position = (getattr(rows[0], SORT_VALUE), rows[0].pk)
        print(f"\nEXPLAIN ANALYZE, page {DEEP_PAGE:,} by cursor:")
        print(explain(page_queryset(organization, position)[: PAGE + 1]))
        print(f"\nEXPLAIN ANALYZE, page {DEEP_PAGE:,} by startIndex:")
        offset = (DEEP_PAGE - 1) * PAGE
        print(explain(page_queryset(organization)[offset : offset + PAGE]))
    finally:
        stop_server(server)
        if args.drop:
            delete(organization)
        connection.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
