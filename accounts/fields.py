"""Model fields of the accounts domain."""

from django.db import models

from accounts.encryption import decrypt_text, encrypt_text


class EncryptedTextField(models.TextField):
    """Text stored Fernet-encrypted (accounts.encryption) and read back in the clear; not searchable."""

    def from_db_value(self, value, expression, connection):
        return decrypt_text(value) if value else value

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        return encrypt_text(value) if value else value
