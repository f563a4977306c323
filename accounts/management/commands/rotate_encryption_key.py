from django.core.management.base import BaseCommand, CommandError

from accounts.models import ActivityAction
from accounts.services.activity import admin_activity_record
from accounts.sso.services import sso_keys_reencrypt


class Command(BaseCommand):
    help = (
        "Re-encrypt the secrets stored encrypted (SAML service-provider private keys) under the first "
        "of FIELD_ENCRYPTION_KEYS (or SECRET_KEY); afterwards the old key can be dropped."
    )

    def handle(self, *args, **options):
        done, undecryptable = sso_keys_reencrypt()
        admin_activity_record(
            action=ActivityAction.KEY_ROTATED,
            summary=f"Re-encrypted {done} service-provider private key(s) under the current key.",
            command="rotate_encryption_key",
        )
        self.stdout.write(f"Re-encrypted {done} service-provider private key(s) under the current key.")
        if undecryptable:
            raise CommandError(
                "No configured key decrypts the service-provider private key of "
                f"{', '.join(undecryptable)}: add the key it was encrypted with to FIELD_ENCRYPTION_KEYS."
            )
