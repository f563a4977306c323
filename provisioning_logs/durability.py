"""
Commits that must survive a database crash. The provisioning log's own transaction commits without
waiting for the disk (services._commit_without_waiting_for_disk); a state change or a promised
mail written in it makes the whole transaction wait again.
"""

from django.db import connection as database


def commit_durably() -> None:
    """
    PostgreSQL: this transaction's COMMIT waits for the WAL flush again. The setting in force at
    COMMIT decides (PostgreSQL docs, synchronous_commit), so this may come anywhere in it.
    """
    if database.vendor == "postgresql" and database.in_atomic_block:
        with database.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO ON")
