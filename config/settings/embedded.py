"""
`make run`: the production server path (gunicorn with config/gunicorn.py, WhiteNoise, DEBUG off)
on the embedded defaults of base: SQLite, Celery tasks run eagerly, mail printed to the console.
It needs no variable: the secret key is generated once and kept in .embedded-secret-key (git-ignored;
EMBEDDED_SECRET_KEY_FILE names another file).
"""

import os
from pathlib import Path

from django.core.management.utils import get_random_secret_key

from config.env import env_list, env_str

from .base import *  # noqa: F403
from .base import BASE_DIR, STORAGES


DEBUG = False


def _embedded_secret_key() -> str:
    path = Path(env_str("EMBEDDED_SECRET_KEY_FILE", "") or BASE_DIR / ".embedded-secret-key")
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    key = get_random_secret_key()
    # O_EXCL: when several processes start at once, one key wins and the others read it.
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(descriptor, "w") as file:
        file.write(key + "\n")
    return key


SECRET_KEY = env_str("DJANGO_SECRET_KEY", "") or _embedded_secret_key()
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"}}
# The demo's address as `make run` serves it (HOST/PORT there set it), so SCIM meta.location and
# the URLs create_entra_client prints carry the port.
PORTAL_BASE_URL = env_str("PORTAL_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
