"""
Keyset order for sortBy=meta.lastModified (RFC 7644 §3.4.2.3) under cursor paging (RFC 9865):
(organization, updated_at) gains the id that settles ties, so a page after (updated_at, id) is an
index range however many rows share a timestamp. The new index is built before the old one goes.
The other sortable orders already have theirs: account_org_created / group_org_created (meta.created),
account_org_external_id / group_org_external_id (externalId) and the unique upper(userName) /
upper(displayName) indexes.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0011_credential_rotation"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="workaccount",
            index=models.Index(fields=["organization", "updated_at", "id"], name="account_org_modified"),
        ),
        migrations.AddIndex(
            model_name="workgroup",
            index=models.Index(fields=["organization", "updated_at", "id"], name="group_org_modified"),
        ),
        migrations.RemoveIndex(model_name="workaccount", name="account_org_updated"),
        migrations.RemoveIndex(model_name="workgroup", name="group_org_updated"),
    ]
