"""
Prefix search of the provisioning log (userName/displayName any case, externalId as sent).
PostgreSQL answers `LIKE 'abc%'` from a btree index only with the pattern operator classes under
a non-C collation, so these two indexes are PostgreSQL-only raw SQL (Django's OpClass would break
SQLite, the embedded default, where the search is not index-backed). Built CONCURRENTLY: the
table can hold millions of events.
"""

from django.db import migrations


INDEXES = (
    (
        "event_org_identity_prefix",
        "(organization_id, upper(identity::text) text_pattern_ops)",
    ),
    (
        "event_org_external_id_prefix",
        "(organization_id, external_id varchar_pattern_ops)",
    ),
)
TABLE = "provisioning_logs_provisioningevent"


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, columns in INDEXES:
        schema_editor.execute(f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON {TABLE} {columns}")


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _columns in INDEXES:
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("provisioning_logs", "0011_event_client_address"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="provisioningevent",
            options={
                "ordering": ["-created_at", "-id"],
                "verbose_name": "provisioning event",
                "verbose_name_plural": "provisioning logs",
            },
        ),
        migrations.RunPython(create_indexes, drop_indexes, elidable=False),
    ]
