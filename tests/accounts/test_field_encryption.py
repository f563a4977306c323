"""
The SAML service-provider private key is encrypted at rest (Fernet, keys from FIELD_ENCRYPTION_KEYS
or SECRET_KEY): the database holds no PEM, the portal reads it back, a data migration encrypted the
keys stored before, and `manage.py rotate_encryption_key` re-encrypts under a new key.
"""

import io

import pytest
from django.core.management import CommandError, call_command
from django.db import connection as database
from django.db.migrations.executor import MigrationExecutor

from accounts.encryption import UndecryptableSecret, decrypt_text, encrypt_text
from accounts.models import SsoConfiguration
from accounts.sso.services import sso_configuration_save


pytestmark = pytest.mark.django_db
OLD_KEY = "old-field-encryption-key-0123456789-abcdefghijklmnopqrstuvwxyz"
NEW_KEY = "new-field-encryption-key-9876543210-zyxwvutsrqponmlkjihgfedcba"


def stored_key(configuration) -> str:
    """The column as the database holds it."""
    with database.cursor() as cursor:
        cursor.execute(
            "SELECT sp_private_key FROM accounts_ssoconfiguration WHERE id = %s", [configuration.pk]
        )
        return cursor.fetchone()[0]


@pytest.fixture
def configured(organization) -> SsoConfiguration:
    return sso_configuration_save(
        configuration=SsoConfiguration(
            organization=organization,
            idp_entity_id="https://idp.example/",
            idp_sso_url="https://idp.example/sso",
            idp_certificate="-",
        )
    )


def reload(configuration) -> SsoConfiguration:
    return SsoConfiguration.objects.get(pk=configuration.pk)


def test_the_private_key_is_stored_encrypted_and_read_back_in_the_clear(configured):
    stored = stored_key(configured)
    assert "PRIVATE KEY" not in stored
    assert stored.startswith("gAAAAA")  # a Fernet token
    assert reload(configured).sp_private_key.startswith("-----BEGIN PRIVATE KEY-----")


def test_two_saves_store_different_tokens_of_the_same_key(configured):
    first = stored_key(configured)
    sso_configuration_save(configuration=reload(configured))
    assert stored_key(configured) != first
    assert decrypt_text(stored_key(configured)) == decrypt_text(first)


def test_without_field_encryption_keys_the_key_derives_from_secret_key(settings):
    settings.FIELD_ENCRYPTION_KEYS = []
    token = encrypt_text("secret")
    settings.SECRET_KEY = NEW_KEY
    settings.SECRET_KEY_FALLBACKS = [OLD_KEY]
    with pytest.raises(UndecryptableSecret):
        decrypt_text(token)


def test_a_key_that_no_configured_key_opens_is_a_clear_error(settings, configured):
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY]
    with pytest.raises(UndecryptableSecret, match="keep the old key among them"):
        reload(configured)


def test_rotation_re_encrypts_under_the_new_key(settings, configured):
    settings.FIELD_ENCRYPTION_KEYS = [OLD_KEY]
    sso_configuration_save(configuration=configured)
    pem = configured.sp_private_key
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]
    out = io.StringIO()
    call_command("rotate_encryption_key", stdout=out)
    assert out.getvalue() == "Re-encrypted 1 service-provider private key(s) under the current key.\n"
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY]
    assert reload(configured).sp_private_key == pem


def test_rotation_names_the_organizations_whose_key_no_configured_key_opens(settings, configured):
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY]
    with pytest.raises(CommandError, match="private key of contoso: add the key"):
        call_command("rotate_encryption_key", stdout=io.StringIO())


@pytest.mark.django_db(transaction=True)
def test_the_migration_encrypts_keys_stored_in_plain_text(organization):
    executor = MigrationExecutor(database)
    executor.migrate([("accounts", "0005_provisioning_connections")])
    old_apps = executor.loader.project_state([("accounts", "0005_provisioning_connections")]).apps
    pem = "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n"
    old_model = old_apps.get_model("accounts", "SsoConfiguration")
    created = old_model.objects.create(
        organization_id=organization.pk,
        idp_entity_id="https://idp.example/",
        idp_sso_url="https://idp.example/sso",
        idp_certificate="-",
        sp_private_key=pem,
        sp_certificate="-",
    )
    executor = MigrationExecutor(database)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
    assert stored_key(created).startswith("gAAAAA")
    assert SsoConfiguration.objects.get(pk=created.pk).sp_private_key == pem
