"""
A group's members read as one snapshot (issue 12, "Delivery promise"): the member list of a
group GET is streamed in keyset pages, one query each, after the response has started; without a
common snapshot a membership change committed between two pages shows a list that never existed
(a member twice, or missing, across pages).

On PostgreSQL the pages run in one REPEATABLE READ, READ ONLY transaction: every page sees the
database as of the first one. It is opened by the stream itself and closed as soon as the last
page is read (before the closing bracket is sent), so it holds no lock and blocks no writer.
SQLite (the embedded development set-up) keeps the plain keyset pages: its transactions take the
write lock (transaction_mode IMMEDIATE), which a slow client would then hold.
"""

from django.db import connection, transaction

from accounts.selectors import group_member_pages


# Members per page query: with display joined in, pages of 2,500 keep a 100,000-member GET's
# worker growth at +4.4 MB (5,000: +8.4 MB) for the same 1.0-1.1 s (benchmarks/scim_groups.py).
MEMBER_PAGE_SIZE = 2500


def member_pages(*, group_id):
    """The member ids of a group in pages, all from one snapshot where the database has them."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        # Inside a transaction already (a test's), its snapshot is the one there is.
        yield from group_member_pages(group_id=group_id, page_size=MEMBER_PAGE_SIZE)
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield from group_member_pages(group_id=group_id, page_size=MEMBER_PAGE_SIZE)
