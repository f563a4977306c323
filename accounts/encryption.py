"""
Secrets stored encrypted at rest (the SAML service-provider private key): Fernet (AES-128-CBC with
HMAC-SHA256) under keys derived from settings. FIELD_ENCRYPTION_KEYS lists the keys, the first
encrypting and every one decrypting, so a key is rotated by putting the new one first, running
`manage.py rotate_encryption_key`, then dropping the old one. Without it the keys are derived from
SECRET_KEY and SECRET_KEY_FALLBACKS, which rotate the same way.
"""

import base64
import functools

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


_SALT = b"work-accounts field encryption"


class UndecryptableSecret(ImproperlyConfigured):
    """A stored secret no configured key opens: a key was dropped before rotating to the new one."""


def _fernet_key(secret: str) -> bytes:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=_SALT, info=b"fernet").derive(secret.encode())
    return base64.urlsafe_b64encode(derived)


def encryption_secrets() -> tuple[str, ...]:
    """The configured secrets, newest (encrypting) first."""
    explicit = tuple(key for key in getattr(settings, "FIELD_ENCRYPTION_KEYS", ()) if key)
    return explicit or (settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS)


@functools.lru_cache(maxsize=4)
def _cipher(secrets: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(_fernet_key(secret)) for secret in secrets])


def _current() -> MultiFernet:
    return _cipher(encryption_secrets())


def encrypt_text(text: str) -> str:
    return _current().encrypt(text.encode()).decode("ascii")


def decrypt_text(token: str) -> str:
    try:
        return _current().decrypt(token.encode("ascii")).decode()
    except (InvalidToken, UnicodeEncodeError):
        raise UndecryptableSecret(
            "A stored secret cannot be decrypted with FIELD_ENCRYPTION_KEYS (or SECRET_KEY and its "
            "fallbacks): keep the old key among them until `manage.py rotate_encryption_key` ran."
        ) from None


def reencrypt_text(token: str) -> str:
    """The same secret encrypted under the current (first) key."""
    try:
        return _current().rotate(token.encode("ascii")).decode("ascii")
    except (InvalidToken, UnicodeEncodeError):
        decrypt_text(token)  # raises UndecryptableSecret with the explanation
        raise
