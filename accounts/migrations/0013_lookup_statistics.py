"""
Statistics for Entra's match and Test Connection (`userName eq "…"`, issue 15).

The filter compares upper(user_name), which only the partial unique index
account_username_ci_unique_per_org covers, and PostgreSQL's planner ignores the statistics of
partial indexes: it guessed 0.5 % of the table (5,000 rows at 1,000,000 accounts) and walked
account_org_created for `ORDER BY date_joined, id LIMIT …`, filtering away every row (2–9 s).
Extended statistics on the expression (PostgreSQL 14+) give it the real distribution, so it takes
the unique index and sorts the one row. PostgreSQL only; ANALYZE fills them in (autovacuum does).
"""

from django.db import migrations


STATISTICS = "account_user_name_upper_stats"
TABLE = "accounts_workaccount"


def create_statistics(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"CREATE STATISTICS IF NOT EXISTS {STATISTICS} ON (upper(user_name::text)) FROM {TABLE}")
    schema_editor.execute(f"ANALYZE {TABLE}")


def drop_statistics(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP STATISTICS IF EXISTS {STATISTICS}")


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0012_list_order_indexes"),
    ]

    operations = [
        migrations.RunPython(create_statistics, drop_statistics, elidable=False),
    ]
