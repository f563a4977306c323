# Provisioning connections and their secret tokens move to the accounts app.
# Step 4 of 4: scim lets go of the models (state only; the tables belong to accounts now).

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("scim", "0005_connection_tables_for_accounts"),
        ("accounts", "0005_provisioning_connections"),
        ("provisioning_logs", "0005_connections_in_accounts"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(model_name="scimsecrettoken", name="connection"),
                migrations.DeleteModel(name="ProvisioningConnection"),
                migrations.DeleteModel(name="ScimSecretToken"),
            ],
            database_operations=[],
        ),
    ]
