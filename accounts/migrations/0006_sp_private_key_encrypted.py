"""The SAML service-provider private key is encrypted at rest (accounts.encryption)."""

from django.db import migrations

import accounts.fields


def encrypt_keys(apps, schema_editor):
    from accounts.encryption import encrypt_text

    # Still a plain TextField in this state: the value is read and written as it is stored.
    SsoConfiguration = apps.get_model("accounts", "SsoConfiguration")
    for configuration in SsoConfiguration.objects.exclude(sp_private_key=""):
        if configuration.sp_private_key.lstrip().startswith("-----BEGIN"):
            configuration.sp_private_key = encrypt_text(configuration.sp_private_key)
            configuration.save(update_fields=["sp_private_key"])


def decrypt_keys(apps, schema_editor):
    from accounts.encryption import decrypt_text

    SsoConfiguration = apps.get_model("accounts", "SsoConfiguration")
    for configuration in SsoConfiguration.objects.exclude(sp_private_key=""):
        if not configuration.sp_private_key.lstrip().startswith("-----BEGIN"):
            configuration.sp_private_key = decrypt_text(configuration.sp_private_key)
            configuration.save(update_fields=["sp_private_key"])


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0005_provisioning_connections"),
    ]

    operations = [
        migrations.RunPython(encrypt_keys, decrypt_keys),
        migrations.AlterField(
            model_name="ssoconfiguration",
            name="sp_private_key",
            field=accounts.fields.EncryptedTextField(editable=False),
        ),
    ]
