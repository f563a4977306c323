# Provisioning connections and their secret tokens move to the accounts app.
# Step 3 of 4: the provisioning log's foreign keys point at accounts' model. State only: the
# database constraints already reference the renamed table (scim 0005).

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0005_provisioning_connections"),
        ("provisioning_logs", "0004_event_search_indexes"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="connectionhealth",
                    name="connection",
                    field=models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="health",
                        to="accounts.provisioningconnection",
                    ),
                ),
                migrations.AlterField(
                    model_name="healthtransition",
                    name="connection",
                    field=models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="health_transitions",
                        to="accounts.provisioningconnection",
                    ),
                ),
                migrations.AlterField(
                    model_name="notificationsettings",
                    name="connection",
                    field=models.OneToOneField(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="notification_settings",
                        to="accounts.provisioningconnection",
                    ),
                ),
                migrations.AlterField(
                    model_name="outboxmessage",
                    name="connection",
                    field=models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="accounts.provisioningconnection",
                    ),
                ),
                migrations.AlterField(
                    model_name="provisioningcycle",
                    name="connection",
                    field=models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="cycles",
                        to="accounts.provisioningconnection",
                    ),
                ),
                migrations.AlterField(
                    model_name="provisioningevent",
                    name="connection",
                    field=models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="events",
                        to="accounts.provisioningconnection",
                    ),
                ),
                migrations.AlterField(
                    model_name="stageddeprovisioning",
                    name="connection",
                    field=models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="staged_deprovisionings",
                        to="accounts.provisioningconnection",
                    ),
                ),
            ],
            database_operations=[],
        ),
    ]
