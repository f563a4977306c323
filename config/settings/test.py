"""Test settings: the base set-up with fast hashing and in-memory mail."""

from .base import *  # noqa: F403


PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
# Off for the suite: xdist workers share one Redis, where their connections' ids (and so their
# buckets) collide. tests/operations/test_rate_limit.py turns it on with its own key prefix.
SCIM_RATE_LIMIT = 0
# Off for the suite, so a request's statements do not depend on whether CI's REDIS_URL is set or an
# earlier request of the test kept its token: tests/accounts/test_token_cache.py turns it on, and
# the gunicorn-served tests run with the production default.
SCIM_TOKEN_CACHE_SECONDS = 0
# Tests run without collectstatic: WhiteNoise looks files up per request instead of listing a
# STATIC_ROOT that does not exist (which warns once per test client).
WHITENOISE_AUTOREFRESH = True
# Each request writes its event before the test reads it: a flusher thread would use its own
# database connection, outside the test's transaction. The batched path has its own tests
# (tests/provisioning_logs/test_batching.py, and through gunicorn test_batching_server.py).
PROVISIONING_LOG_BATCHED = False
