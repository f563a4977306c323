"""
The group page's member list at 100,000 members: one page of members by keyset (first, middle and
last page) and the whole portal page of the group, on a throw-away PostgreSQL database.

    .venv/bin/python benchmarks/group_members.py                  # 100,000 members
    .venv/bin/python benchmarks/group_members.py --members 10000

Steps: create database wa_bench_<random> -> migrate -> bulk-seed N accounts, all in one group ->
ANALYZE -> time group_member_page() at the first, middle and last page, and GET of the group's
admin page (Django's test client, signed in as the organization's admin) -> print median and p95
in milliseconds and the query plan of a deep page -> drop the database (also on failure or Ctrl-C).
"""

import argparse
import secrets
import signal
import statistics
import sys
import time

from common import (
    analyze,
    clean_up,
    create_database,
    interrupt,
    migrate,
    seed_accounts,
    server_env,
    setup_django,
)


def timed(function, runs: int) -> tuple[float, float]:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        function()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, interrupt)
    db_name = f"wa_bench_{secrets.token_hex(4)}"
    created = False
    try:
        create_database(db_name)
        created = True
        env = server_env(db_name)
        migrate(env)
        setup_django(env)

        from django.db import connection
        from django.test import Client

        from accounts.models import GroupMembership, Organization, OrganizationRole, WorkAccount, WorkGroup
        from accounts.selectors import MEMBER_PAGE_SIZE, group_member_page

        organization = Organization.objects.create(slug="contoso", name="Contoso")
        print(f"seeding {args.members:,} accounts in one group …", flush=True)
        seeded = seed_accounts(organization, args.members, batch_size=5000)
        group = WorkGroup.objects.create(organization=organization, display_name="Everyone")
        ids = [account_id for account_id, _ in seeded]
        for start in range(0, len(ids), 10_000):
            GroupMembership.objects.bulk_create(
                [GroupMembership(group=group, account_id=pk) for pk in ids[start : start + 10_000]]
            )
        analyze(WorkAccount._meta.db_table, GroupMembership._meta.db_table)
        admin = WorkAccount.objects.create_user(
            "admin@contoso.example",
            "a-long-enough-passphrase-42",
            organization=organization,
            role=OrganizationRole.ADMIN,
        )
        ordered = sorted(ids)
        middle, last = ordered[len(ordered) // 2], ordered[-MEMBER_PAGE_SIZE - 1]

        rows = []
        for label, after in (("first page", None), ("middle page", middle), ("last page", last)):
            median, p95 = timed(lambda after=after: group_member_page(group=group, after=after), args.runs)
            rows.append((f"member page ({label}, {MEMBER_PAGE_SIZE} members + count)", median, p95))

        client = Client()
        client.force_login(admin)
        url = f"/admin/accounts/workgroup/{group.pk}/change/"

        def get_page(query=""):
            response = client.get(url + query, HTTP_HOST="127.0.0.1")
            assert response.status_code == 200, response.status_code

        rows.append(("group admin page, first page", *timed(get_page, args.runs)))
        rows.append(
            ("group admin page, middle page", *timed(lambda: get_page(f"?after={middle}"), args.runs))
        )

        print(f"\n{args.members:,} members, {args.runs} runs each (ms)")
        print(f"{'':58} {'median':>8} {'p95':>8}")
        for label, median, p95 in rows:
            print(f"{label:58} {median:8.1f} {p95:8.1f}")

        members = GroupMembership.objects.filter(group=group, account_id__gt=middle).order_by("account_id")
        ids = members.values_list("account_id", flat=True)[: MEMBER_PAGE_SIZE + 1]
        sql, params = ids.query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
            print("\nplan of a middle page's ids:")
            for (line,) in cursor.fetchall():
                print("  " + line)
        return 0
    except KeyboardInterrupt:
        return 130
    finally:
        clean_up(None, db_name, created)


if __name__ == "__main__":
    sys.exit(main())
