"""
The audit API's throttle counts, when no Redis is configured: Django's database cache table
(what `manage.py createcachetable` makes), created here so that `migrate` is all a deployment runs.
"""

from django.core.management.commands.createcachetable import Command as CreateCacheTable
from django.db import migrations


TABLE = "api_throttle_cache"


def create_table(apps, schema_editor):
    command = CreateCacheTable()
    command.verbosity = 0
    command.create_table(schema_editor.connection.alias, TABLE, dry_run=False)


def drop_table(apps, schema_editor):
    schema_editor.execute(f"DROP TABLE IF EXISTS {schema_editor.quote_name(TABLE)}")


class Migration(migrations.Migration):
    dependencies = [
        ("provisioning_logs", "0006_api_clients"),
    ]

    operations = [
        migrations.RunPython(create_table, drop_table, elidable=False),
    ]
