"""
Production settings: everything of base, with every deployment variable required and transport
security on. The entry points (manage.py, config/wsgi.py, asgi.py, celery.py) default to this module,
so a process started without DJANGO_SETTINGS_MODULE refuses to start rather than run insecurely.

Required: DJANGO_SECRET_KEY, DJANGO_ALLOWED_HOSTS, DATABASE_URL, REDIS_URL (the Celery broker; beat
and the worker need it) and PORTAL_BASE_URL (SCIM meta.location and the SAML addresses come from it,
never from the Host header). README "Deploying" lists every variable.
"""

import os

from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_int, env_list, env_str

from .base import *  # noqa: F403
from .base import SILENCED_SYSTEM_CHECKS, STORAGES


# Each one missing (or empty) stops start-up with "Set the environment variable NAME."
for _required in (
    "DJANGO_SECRET_KEY",
    "DJANGO_ALLOWED_HOSTS",
    "DATABASE_URL",
    "REDIS_URL",
    "PORTAL_BASE_URL",
):
    if not os.environ.get(_required, "").strip():
        raise ImproperlyConfigured(f"Set the environment variable {_required}.")

DEBUG = False
SECRET_KEY = env_str("DJANGO_SECRET_KEY")
if SECRET_KEY.startswith("insecure-") or len(SECRET_KEY) < 50:
    raise ImproperlyConfigured("DJANGO_SECRET_KEY must be a random value of at least 50 characters.")
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", [])
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured("Set DJANGO_ALLOWED_HOSTS to the portal's host names.")
PORTAL_BASE_URL = env_str("PORTAL_BASE_URL").rstrip("/")
if not PORTAL_BASE_URL.startswith(("https://", "http://")):
    raise ImproperlyConfigured(
        "PORTAL_BASE_URL must be the portal's public URL, e.g. https://portal.example.com."
    )

# Compressed files with content-hashed names, served by WhiteNoise with far-future cache headers.
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"}}

# TLS ends at the load balancer; it says so in X-Forwarded-Proto, believed from TRUSTED_PROXIES only
# (config.proxies). /healthz and /readyz answer before the redirect, so plain-HTTP probes work.
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
# HSTS preload is a one-way decision for the whole domain (every subdomain, in every browser's
# built-in list, for months after asking to leave it), so it is off unless asked for; hence the
# deploy check's security.W021 ("not preloaded") is silenced.
SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", False)
SILENCED_SYSTEM_CHECKS = [*SILENCED_SYSTEM_CHECKS, "security.W021"]
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
