# Provisioning connections and their secret tokens move to the accounts app (accounts/connections/).
# Step 1 of 4: their tables get the accounts names, rows and foreign keys kept (a rename).

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("scim", "0004_connection_oauth_last_used"),
    ]

    operations = [
        migrations.AlterModelTable(name="provisioningconnection", table="accounts_provisioningconnection"),
        migrations.AlterModelTable(name="scimsecrettoken", table="accounts_scimsecrettoken"),
    ]
