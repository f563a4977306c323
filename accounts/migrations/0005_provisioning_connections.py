# Provisioning connections and their secret tokens move here from the scim app.
# Step 2 of 4: accounts takes the models over in the migration state only; the tables were renamed
# by scim 0005, so the database keeps every row, token digest and OAuth client link. The content
# types follow, so admin permissions and the admin's change history stay attached.

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


MOVED = ("provisioningconnection", "scimsecrettoken")


def move_content_types(apps, schema_editor, source="scim", target="accounts"):
    content_type = apps.get_model("contenttypes", "ContentType")
    for model in MOVED:
        if not content_type.objects.filter(app_label=target, model=model).exists():
            content_type.objects.filter(app_label=source, model=model).update(app_label=target)


def move_content_types_back(apps, schema_editor):
    move_content_types(apps, schema_editor, source="accounts", target="scim")


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_sso"),
        ("scim", "0005_connection_tables_for_accounts"),
        ("contenttypes", "0002_remove_content_type_name"),
        migrations.swappable_dependency(settings.OAUTH2_PROVIDER_APPLICATION_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="ProvisioningConnection",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("name", models.CharField(max_length=100)),
                        ("enabled", models.BooleanField(default=True)),
                        ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                        ("oauth_last_used_at", models.DateTimeField(blank=True, editable=False, null=True)),
                        (
                            "application",
                            models.OneToOneField(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="provisioning_connection",
                                to=settings.OAUTH2_PROVIDER_APPLICATION_MODEL,
                            ),
                        ),
                        (
                            "organization",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="connections",
                                to="accounts.organization",
                            ),
                        ),
                    ],
                    options={"ordering": ["organization", "name"]},
                ),
                migrations.CreateModel(
                    name="ScimSecretToken",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("label", models.CharField(max_length=100)),
                        ("digest", models.CharField(max_length=64, unique=True)),
                        (
                            "prefix",
                            models.CharField(
                                help_text="The first characters, to recognise a token.", max_length=16
                            ),
                        ),
                        ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                        (
                            "expires_at",
                            models.DateTimeField(blank=True, help_text="Empty: never expires.", null=True),
                        ),
                        ("revoked_at", models.DateTimeField(blank=True, null=True)),
                        ("last_used_at", models.DateTimeField(blank=True, null=True)),
                        (
                            "connection",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="tokens",
                                to="accounts.provisioningconnection",
                            ),
                        ),
                    ],
                    options={"ordering": ["-created_at"]},
                ),
                migrations.AddConstraint(
                    model_name="provisioningconnection",
                    constraint=models.UniqueConstraint(
                        fields=("organization", "name"), name="connection_name_unique_per_org"
                    ),
                ),
                migrations.AddConstraint(
                    model_name="scimsecrettoken",
                    constraint=models.UniqueConstraint(
                        condition=models.Q(("revoked_at__isnull", True)),
                        fields=("connection", "label"),
                        name="token_label_unique_while_active",
                    ),
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(move_content_types, move_content_types_back, elidable=False),
    ]
