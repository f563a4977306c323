"""
Settings for every environment, driven by environment variables only.

The defaults are the embedded set-up: SQLite, Celery tasks run eagerly in-process, mail printed to
the console. Run with one of the modules beside this one: `production` (the entry points' default;
refuses to start without its variables), `embedded` (`make run`: the production server path on the
embedded defaults), `development` (`make dev`: runserver, DEBUG) or `test` (pytest).
"""

from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_int, env_list, env_str
from config.oauth import pkce_required
from config.proxies import parse_trusted_proxies


BASE_DIR = Path(__file__).resolve().parent.parent.parent

# GENERAL
# ------------------------------------------------------------------------------
DEBUG = env_bool("DJANGO_DEBUG", True)
# Development only; config.settings.production requires DJANGO_SECRET_KEY.
SECRET_KEY = env_str("DJANGO_SECRET_KEY", "insecure-development-key-do-not-use-in-production")
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])
TIME_ZONE = "UTC"
USE_TZ = True
USE_I18N = True
LANGUAGE_CODE = "en-us"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Public base URL of the portal, used for SCIM meta.location and the URLs printed for Entra.
# When empty, the request's own scheme and host are used.
PORTAL_BASE_URL = env_str("PORTAL_BASE_URL", "").rstrip("/")

# APPS
# ------------------------------------------------------------------------------
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "oauth2_provider",
    "django_scim",
    "csp",
    "accounts",
    "scim",
    "provisioning_logs",
]

MIDDLEWARE = [
    # First: drop X-Forwarded-* unless a trusted proxy sent them (TRUSTED_PROXIES below).
    "config.proxies.TrustedProxyMiddleware",
    # /healthz and /readyz, before host validation, the HTTPS redirect and sessions.
    "config.health.HealthCheckMiddleware",
    "config.middleware.RequestIdMiddleware",
    # Everything Django itself answers under /scim/v2/ (DisallowedHost, 404, 500…) as SCIM JSON.
    "scim.middleware.ScimBoundaryMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Static files from STATIC_ROOT (compressed, hashed names cached for a year where STORAGES
    # says so: production and embedded).
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Portal security headers (see BROWSER SECURITY HEADERS below).
    "django_permissions_policy.PermissionsPolicyMiddleware",
    # django-csp's, bypassed under /scim/v2/ (its answers carry no page policy: EXCLUDE_URL_PREFIXES).
    "scim.middleware.PortalContentSecurityPolicyMiddleware",
    # Sessions, request.user and messages: the portal's; bypassed under /scim/v2/ (bearer only).
    # CSRF stays Django's own (the deploy check requires it; the SCIM views are csrf_exempt).
    "scim.middleware.PortalSessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "scim.middleware.PortalAuthenticationMiddleware",
    "scim.middleware.PortalMessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

# Benchmarks: "true" counts every request's statements; "asked" only those of a request that sends
# `X-Query-Count: ?` (benchmarks/scim_load.py: its checked pass asks, wrk's load does not pay).
QUERY_COUNT_ASKED_ONLY = env_str("QUERY_COUNT_HEADER", "").strip().lower() == "asked"
if QUERY_COUNT_ASKED_ONLY or env_bool("QUERY_COUNT_HEADER", False):
    MIDDLEWARE.insert(1, "config.middleware.QueryCountHeaderMiddleware")

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# DATABASE
# ------------------------------------------------------------------------------
# Services own their transactions; ATOMIC_REQUESTS stays off because django-scim2 turns
# exceptions into responses, which would commit half-done work inside a request-wide atomic.
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", "") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Parameters bound by PostgreSQL, not quoted into the SQL text by psycopg, and statements a
    # connection runs again prepared once (psycopg's prepare_threshold): 5-15 % less CPU per SCIM
    # request (issue 15; benchmarks/README.md). DATABASE_SERVER_SIDE_BINDING=false for a pooler
    # in transaction mode (PgBouncer < 1.21), which cannot hold prepared statements.
    _server_side_binding = env_bool("DATABASE_SERVER_SIDE_BINDING", True)
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        server_side_binding=_server_side_binding,
        # Django turns psycopg's preparing off (None); 5 is psycopg's own default.
        prepare_threshold=env_int("DATABASE_PREPARE_THRESHOLD", 5) if _server_side_binding else None,
    )
    # Django's backend, with its per-request health check read off the socket (config.postgresql).
    DATABASES["default"]["ENGINE"] = "config.postgresql"
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Wait for the write lock instead of failing at once when requests overlap,
    # and take the write lock when a transaction starts (Django 5.1+), so read-modify-write
    # services such as PATCH cannot interleave.
    DATABASES["default"].setdefault("OPTIONS", {}).update({"timeout": 20, "transaction_mode": "IMMEDIATE"})

# AUTHENTICATION
# ------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.WorkAccount"
AUTHENTICATION_BACKENDS = ["accounts.backends.WorkAccountBackend"]
LOGIN_URL = "signin"
LOGIN_REDIRECT_URL = "admin:index"
# Sign-in throttling: failures per userName and per client address within one window.
SIGNIN_THROTTLE_WINDOW_SECONDS = env_int("SIGNIN_THROTTLE_WINDOW_SECONDS", 15 * 60)
SIGNIN_MAX_FAILURES_PER_USERNAME = env_int("SIGNIN_MAX_FAILURES_PER_USERNAME", 5)
SIGNIN_MAX_FAILURES_PER_ADDRESS = env_int("SIGNIN_MAX_FAILURES_PER_ADDRESS", 50)
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
]
# Every password (SCIM POST/PUT/PATCH, admin, commands) passes these, in accounts' services.
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "accounts.password_validation.UserAttributeSimilarityValidator",
        # WorkAccount's names for Django's default username/first_name/last_name/email.
        "OPTIONS": {
            "user_attributes": (
                "user_name",
                "display_name",
                "nick_name",
                "name_given_name",
                "name_family_name",
            )
        },
    },
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# userName is unique per organization, not globally; sign-in resolves it through
# accounts.backends.WorkAccountBackend, so Django's global-uniqueness warning does not apply.
SILENCED_SYSTEM_CHECKS = ["auth.W004"]

# OAUTH (django-oauth-toolkit): every RFC 9700 security-BCP behaviour switched on.
# ------------------------------------------------------------------------------
# Entra requires access tokens valid for 60 minutes to 6 hours (gallery requirements).
OAUTH_ACCESS_TOKEN_SECONDS = env_int("OAUTH_ACCESS_TOKEN_SECONDS", 3600)
if not 3600 <= OAUTH_ACCESS_TOKEN_SECONDS <= 21600:
    raise ImproperlyConfigured("OAUTH_ACCESS_TOKEN_SECONDS must be between 3600 and 21600 (1 to 6 hours).")
# Named explicitly so that migrations can refer to the (swappable) Application model.
OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth2_provider.Application"
OAUTH2_PROVIDER = {
    "SCOPES": {
        "scim": "Create, update and deactivate work accounts and groups",
        "audit:read": "Read the provisioning audit log: events, cycles and connection health",
    },
    "DEFAULT_SCOPES": ["scim"],
    # Per client: a provisioning connection gets exactly `scim`, an audit API client `audit:read`.
    "SCOPES_BACKEND_CLASS": "provisioning_logs.api.scopes.ProvisioningScopes",
    "ACCESS_TOKEN_EXPIRE_SECONDS": OAUTH_ACCESS_TOKEN_SECONDS,
    # Refresh tokens rotate on every use; an unused one dies this long after its access token.
    "REFRESH_TOKEN_EXPIRE_SECONDS": env_int("OAUTH_REFRESH_TOKEN_DAYS", 90) * 24 * 3600,
    "AUTHORIZATION_CODE_EXPIRE_SECONDS": 60,
    "REQUEST_APPROVAL_PROMPT": "force",
    "OAUTH2_VALIDATOR_CLASS": "accounts.connections.oauth.ProvisioningOAuth2Validator",
    "ROTATE_REFRESH_TOKEN": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "ALLOWED_REDIRECT_URI_SCHEMES": ["https"],
    "ALLOW_URI_WILDCARDS": False,
    # Required for every client except provisioning connections: Entra's legacy authorization
    # code flow sends no PKCE, and those clients are confidential (RFC 9700 §2.1.1).
    "PKCE_REQUIRED": pkce_required,
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "COMPLIANT_BCP_RFC9700_REFRESH_TOKEN": True,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_SCHEME": True,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_MATCHING": True,
    "COMPLIANT_BCP_RFC9700_PKCE_REQUIRED": True,
    # RFC 8414 metadata (accounts.connections.metadata) and RFC 9207's iss: the portal's public
    # URL when set, else the host the request came to. Only the grants and methods we accept.
    "OIDC_ISS_ENDPOINT": PORTAL_BASE_URL,
    "OAUTH2_GRANT_TYPES_SUPPORTED": ["authorization_code", "client_credentials", "refresh_token"],
    "OAUTH2_RESPONSE_TYPES_SUPPORTED": ["code"],
    "OAUTH2_TOKEN_ENDPOINT_AUTH_METHODS_SUPPORTED": [
        "client_secret_basic",
        "client_secret_post",
        "private_key_jwt",
    ],
}

# BROWSER SECURITY HEADERS (portal pages)
# ------------------------------------------------------------------------------
# A strict Content-Security-Policy (django-csp): our own scripts and styles only, no inline code
# (templates/ and static/portal/ keep to that), no framing, forms post back to us. The OAuth
# consent page alone may lead on to a client's https redirect URI (scim.authorize).
CONTENT_SECURITY_POLICY = {
    # SCIM answers are JSON for machines, not pages.
    "EXCLUDE_URL_PREFIXES": ["/scim/"],
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    },
}
# Powerful browser features the portal never uses are off for it and anything it embeds.
PERMISSIONS_POLICY = {
    feature: []
    for feature in (
        "accelerometer",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "hid",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "serial",
        "usb",
    )
}
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# BEHIND A PROXY
# ------------------------------------------------------------------------------
# Empty: no proxy; X-Forwarded-For/-Proto are ignored from everyone. A number: that many proxies
# (load balancers) in front of every node. Or their addresses/CIDR networks, comma-separated.
TRUSTED_PROXIES = parse_trusted_proxies(env_str("TRUSTED_PROXIES", ""))
# Believed only when a trusted proxy sent it: config.proxies drops it from anyone else.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# STATIC
# ------------------------------------------------------------------------------
STATIC_URL = "static/"
# Where collectstatic writes (the release step) and WhiteNoise reads.
STATIC_ROOT = Path(env_str("DJANGO_STATIC_ROOT", "") or BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Served by WhiteNoise (hashed names: a year, immutable; others: this many seconds).
WHITENOISE_MAX_AGE = env_int("WHITENOISE_MAX_AGE", 3600)

# CELERY
# ------------------------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL", "")
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
# Without a broker, tasks run in-process (the embedded default of `make run`).
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_TIME_LIMIT = 5 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 60
# With Redis down, publishing must fail fast (the outbox row stays pending and is re-queued),
# never hold up a SCIM request.
CELERY_TASK_PUBLISH_RETRY = False
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_BROKER_TRANSPORT_OPTIONS = {"socket_connect_timeout": 2, "socket_timeout": 5}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BEAT_SCHEDULE = {
    "delete-expired-provisioning-events": {
        "task": "provisioning_logs.delete_expired_events",
        "schedule": 6 * 3600,
    },
    "requeue-pending-outbox": {"task": "provisioning_logs.requeue_pending_outbox", "schedule": 60},
    "connection-health": {"task": "provisioning_logs.health_tick", "schedule": 300},
    # Hourly: a reminder goes out within the hour its threshold (14 or 3 days before) is reached.
    "credential-expiry-reminders": {
        "task": "provisioning_logs.credential_expiry_reminders",
        "schedule": 3600,
    },
}

# AUDIT API (Django REST framework, provisioning_logs/api/, served under /api/v1/)
# ------------------------------------------------------------------------------
# Requests per client (an API client, or a portal user's session) and period, for every worker:
# the throttle cache below is shared.
AUDIT_API_RATE = env_str("AUDIT_API_RATE", "600/minute")
AUDIT_API_PAGE_SIZE = env_int("AUDIT_API_PAGE_SIZE", 100)
AUDIT_API_MAX_PAGE_SIZE = env_int("AUDIT_API_MAX_PAGE_SIZE", 1000)
AUDIT_API_THROTTLE_CACHE = "api-throttle"
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    # Shared by every gunicorn worker and node: Redis when REDIS_URL is set, else a database table
    # (provisioning_logs migration 0006_api_throttle_cache creates it).
    AUDIT_API_THROTTLE_CACHE: (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL, "KEY_PREFIX": "api"}
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "api_throttle_cache"}
    ),
}
# FEDERATED CREDENTIALS (Workload Identity Federation, accounts/connections/federation)
# ------------------------------------------------------------------------------
# Client assertions (RFC 7523) at /o/token/: the clock skew allowed on exp/nbf/iat, and the longest
# lifetime (exp - iat) accepted. Entra's tokens live 60 to 90 minutes, so the default is 2 hours.
SCIM_ASSERTION_CLOCK_SKEW = env_int("SCIM_ASSERTION_CLOCK_SKEW", 60)
SCIM_ASSERTION_MAX_LIFETIME = env_int("SCIM_ASSERTION_MAX_LIFETIME", 7200)
# JWKS documents are cached for their Cache-Control max-age, within these bounds, in the cache every
# worker shares; an unknown kid refetches at most once per FEDERATION_JWKS_REFETCH_SECONDS.
FEDERATION_JWKS_CACHE = AUDIT_API_THROTTLE_CACHE
FEDERATION_JWKS_CACHE_MIN_SECONDS = env_int("FEDERATION_JWKS_CACHE_MIN_SECONDS", 300)
FEDERATION_JWKS_CACHE_MAX_SECONDS = env_int("FEDERATION_JWKS_CACHE_MAX_SECONDS", 86400)
FEDERATION_JWKS_REFETCH_SECONDS = env_int("FEDERATION_JWKS_REFETCH_SECONDS", 60)
FEDERATION_JWKS_TIMEOUT_SECONDS = env_int("FEDERATION_JWKS_TIMEOUT_SECONDS", 5)
# JWKS URLs must be https; tests serve their keys over plain http on 127.0.0.1.
FEDERATION_JWKS_ALLOW_HTTP = False
# An admin types the JWKS URL and the server fetches it: only addresses on the public internet are
# fetched (no loopback, private, link-local such as 169.254.169.254, or reserved ones), checked on
# the address actually connected to. An issuer on a private network needs this on.
FEDERATION_JWKS_ALLOW_PRIVATE_ADDRESSES = env_bool("FEDERATION_JWKS_ALLOW_PRIVATE_ADDRESSES", False)
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "provisioning_logs.api.authentication.AuditClientAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["provisioning_logs.api.permissions.AuditReader"],
    "DEFAULT_THROTTLE_CLASSES": ["provisioning_logs.api.throttling.AuditClientThrottle"],
    # The browsable API is offered only while DEBUG is on (decided per request).
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "provisioning_logs.api.negotiation.JsonOutsideDebug",
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_FILTER_BACKENDS": ["provisioning_logs.api.filters.StrictFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "provisioning_logs.api.exceptions.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Work Accounts provisioning audit API",
    "DESCRIPTION": (
        "Read-only: the provisioning log's events, cycles and connection health of one "
        "organization. Authenticate with an OAuth 2 client-credentials token of scope audit:read "
        "(an API client created by an organization admin) or a portal session."
    ),
    "VERSION": "1",
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["provisioning_logs.api.permissions.AuditReader"],
    "PREPROCESSING_HOOKS": ["provisioning_logs.api.schema.canonical_paths_only"],
    "COMPONENT_SPLIT_REQUEST": True,
    "OAUTH2_FLOWS": ["clientCredentials"],
    "OAUTH2_TOKEN_URL": "/o/token/",
    "OAUTH2_SCOPES": {"audit:read": "Read the provisioning audit log"},
    # Swagger UI's files come from drf-spectacular-sidecar (static files), never from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "SWAGGER_UI_SETTINGS": {"persistAuthorization": False, "displayRequestDuration": True},
}

# SINGLE SIGN-ON (SAML 2.0)
# ------------------------------------------------------------------------------
SSO_CLOCK_SKEW_SECONDS = env_int("SSO_CLOCK_SKEW_SECONDS", 120)

# SECRETS AT REST (accounts.encryption: the SAML service-provider private key)
# ------------------------------------------------------------------------------
# Comma-separated; the first encrypts, every one decrypts. Empty: keys derived from SECRET_KEY and
# SECRET_KEY_FALLBACKS. Rotate: put the new key first, `manage.py rotate_encryption_key`, drop the old.
FIELD_ENCRYPTION_KEYS = env_list("FIELD_ENCRYPTION_KEYS", [])
SECRET_KEY_FALLBACKS = env_list("DJANGO_SECRET_KEY_FALLBACKS", [])

# PROVISIONING LOGS
# ------------------------------------------------------------------------------
# A quiet gap longer than this ends a provisioning cycle (Entra runs one every ~40 minutes).
PROVISIONING_CYCLE_GAP_SECONDS = env_int("PROVISIONING_CYCLE_GAP_SECONDS", 10 * 60)
PROVISIONING_LOG_RETENTION_DAYS = env_int("PROVISIONING_LOG_RETENTION_DAYS", 30)
PROVISIONING_LOG_DELETE_BATCH = env_int("PROVISIONING_LOG_DELETE_BATCH", 5000)
# A cycle that looks up at least half the managed objects (and at least this many) is initial.
PROVISIONING_RESTART_MIN_LOOKUPS = env_int("PROVISIONING_RESTART_MIN_LOOKUPS", 10)
# Quarantine (Entra's published rules; smaller numbers suit small organizations).
QUARANTINE_MIN_FAILURES = env_int("QUARANTINE_MIN_FAILURES", 5000)
QUARANTINE_FAILURE_PERCENT = env_int("QUARANTINE_FAILURE_PERCENT", 40)
QUARANTINE_FAILURE_LIMIT = env_int("QUARANTINE_FAILURE_LIMIT", 40000)
QUARANTINE_ABSOLUTE_LIMIT = env_int("QUARANTINE_ABSOLUTE_LIMIT", 60000)
# Requests refused in a row before "Invalid credentials" / "SCIM compliance issue".
QUARANTINE_CREDENTIAL_FAILURES = env_int("QUARANTINE_CREDENTIAL_FAILURES", 3)
QUARANTINE_COMPLIANCE_FAILURES = env_int("QUARANTINE_COMPLIANCE_FAILURES", 3)
# Failures are counted over a window that restarts this often while healthy.
QUARANTINE_WINDOW_HOURS = env_int("QUARANTINE_WINDOW_HOURS", 24)
# Logging every SCIM request can be switched off (benchmarks compare the two).
PROVISIONING_LOG_ENABLED = env_bool("PROVISIONING_LOG_ENABLED", True)
# Events are written off the request path by one flusher thread per process, in batches
# (provisioning_logs.batching); false writes each in its request, as the test suite does.
PROVISIONING_LOG_BATCHED = env_bool("PROVISIONING_LOG_BATCHED", True)
# Events a process holds while the database is behind; beyond it a request writes its own.
PROVISIONING_LOG_MAX_QUEUED = env_int("PROVISIONING_LOG_MAX_QUEUED", 10000)
# Events per multi-row INSERT.
PROVISIONING_LOG_MAX_BATCH = env_int("PROVISIONING_LOG_MAX_BATCH", 500)
# How long the flusher waits after the first queued event to gather more (0: write at once, and
# under load a batch is what queued during the previous write). Events become visible this late.
PROVISIONING_LOG_LINGER_MS = env_int("PROVISIONING_LOG_LINGER_MS", 0)
# At shutdown, how long the flusher's batch in progress may take before the rest is written anyway.
PROVISIONING_LOG_CLOSE_TIMEOUT_SECONDS = env_int("PROVISIONING_LOG_CLOSE_TIMEOUT_SECONDS", 10)

# EMAIL
# ------------------------------------------------------------------------------
EMAIL_HOST = env_str("EMAIL_HOST", "")
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_PORT = env_int("EMAIL_PORT", 25)
    EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
    EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
    EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Work Accounts <no-reply@localhost>")

# SCIM
# ------------------------------------------------------------------------------
SCIM_SERVICE_PROVIDER = {
    # NETLOC is mandatory for django-scim2; locations come from BASE_LOCATION_GETTER instead.
    "NETLOC": "localhost",
    "AUTHENTICATION_SCHEMES": [
        {
            "type": "oauthbearertoken",
            "name": "OAuth Bearer Token",
            "description": "Authentication with a bearer token issued to a provisioning connection.",
            "primary": True,
        }
    ],
    "USER_MODEL_GETTER": "scim.hooks.user_model",
    "USER_ADAPTER": "scim.adapters.users.WorkAccountSCIMUser",
    "GROUP_MODEL": "accounts.models.WorkGroup",
    "GROUP_ADAPTER": "scim.adapters.groups.WorkGroupSCIMGroup",
    "USER_FILTER_PARSER": "scim.hooks.UserFilterQuery",
    "GROUP_FILTER_PARSER": "scim.hooks.GroupFilterQuery",
    "GET_EXTRA_MODEL_FILTER_KWARGS_GETTER": "scim.hooks.extra_filter_kwargs_getter",
    "GET_OBJECT_POST_PROCESSOR_GETTER": "scim.hooks.object_post_processor_getter",
    "GET_QUERYSET_POST_PROCESSOR_GETTER": "scim.hooks.queryset_post_processor_getter",
    "SERVICE_PROVIDER_CONFIG_MODEL": "scim.hooks.ServiceProviderConfig",
    "SCHEMAS_GETTER": "scim.hooks.schemas",
    "BASE_LOCATION_GETTER": "scim.locations.base_location",
    "AUTH_CHECK_MIDDLEWARE": "scim.auth.BearerTokenAuthCheck",
    "WWW_AUTHENTICATE_HEADER": 'Bearer realm="scim"',
    "EXPOSE_SCIM_EXCEPTIONS": False,
}
# Our own SCIM knobs, read through scim.conf.
SCIM_MAX_RESULTS = env_int("SCIM_MAX_RESULTS", 200)
SCIM_DEFAULT_COUNT = env_int("SCIM_DEFAULT_COUNT", 100)
SCIM_MAX_BODY_BYTES = env_int("SCIM_MAX_BODY_BYTES", 1024 * 1024)
SCIM_MAX_OPERATIONS = env_int("SCIM_MAX_OPERATIONS", 1000)
# RFC 9865 cursorTimeout: how long (seconds) a nextCursor/previousCursor stays valid.
SCIM_CURSOR_TIMEOUT = env_int("SCIM_CURSOR_TIMEOUT", 3600)
# Hostile-input limits (scim.json_body, scim.filters), checked before parsing work grows.
SCIM_MAX_JSON_DEPTH = env_int("SCIM_MAX_JSON_DEPTH", 32)
SCIM_MAX_JSON_KEYS = env_int("SCIM_MAX_JSON_KEYS", 1000)
SCIM_MAX_JSON_ITEMS = env_int("SCIM_MAX_JSON_ITEMS", 100_000)
SCIM_MAX_FILTER_LENGTH = env_int("SCIM_MAX_FILTER_LENGTH", 16 * 1024)
SCIM_MAX_FILTER_DEPTH = env_int("SCIM_MAX_FILTER_DEPTH", 32)
# Longer query strings get a SCIM 414: POST …/.search carries longer filters in its body.
SCIM_MAX_QUERY_BYTES = env_int("SCIM_MAX_QUERY_BYTES", 16 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = max(SCIM_MAX_BODY_BYTES + 1024, 2_621_440)

# LOGGING
# ------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("DJANGO_LOG_LEVEL", "INFO")},
    "loggers": {
        # django-scim2 logs full request bodies at DEBUG; keep it quiet.
        "django_scim": {"level": "INFO"},
        # pysaml2 logs NameIDs at INFO and a stack trace for every refused response; our own
        # refusal pages and logs say what went wrong.
        "saml2": {"level": "WARNING"},
        "xmlschema": {"level": "WARNING"},
    },
}

# OBSERVABILITY, RATE LIMITS, SINGLE BEAT (issue 11; README "Operations: metrics, logs, rate limits")
# ------------------------------------------------------------------------------
# SCIM requests per second and burst per provisioning connection, one token bucket for every web
# node (Redis when REDIS_URL is set, else per process). 0 turns the limit off. Entra needs 25/s.
SCIM_RATE_LIMIT = env_int("SCIM_RATE_LIMIT", 100)
SCIM_RATE_BURST = env_int("SCIM_RATE_BURST", 200)
# With REDIS_URL set, each process keeps the SCIM tokens it authenticated and checks a shared epoch
# instead of reading the token again (accounts.connections.token_cache): every change made through
# the application is seen at the next request, one made outside it (psql) within this many
# seconds, the most a kept token lives. 0 reads the token on every request.
SCIM_TOKEN_CACHE_SECONDS = env_int("SCIM_TOKEN_CACHE_SECONDS", 10)

# /metrics (config.metrics, Prometheus): a bearer token, or client addresses/networks allowed
# without one. With neither set, /metrics answers 404. Under gunicorn set PROMETHEUS_MULTIPROC_DIR.
METRICS_TOKEN = env_str("METRICS_TOKEN", "")
METRICS_ALLOWED_IPS = env_list("METRICS_ALLOWED_IPS", [])
CELERY_TASK_DEFAULT_QUEUE = "celery"  # Celery's default, named for the queue-length metric

# Every log record emitted while serving a request carries its request id and organization.
# SCIM requests are counted and timed in the metrics.
_after_request_id = MIDDLEWARE.index("config.middleware.RequestIdMiddleware") + 1
MIDDLEWARE[_after_request_id:_after_request_id] = [
    "config.logs.LogContextMiddleware",
    "config.metrics.ScimMetricsMiddleware",
]

# DJANGO_LOG_FORMAT: "text" (default, one readable line) or "json" (one JSON object per line,
# config.logs.JsonFormatter). Either way every record carries request_id and organization.
DJANGO_LOG_FORMAT = env_str("DJANGO_LOG_FORMAT", "text").strip().lower()
if DJANGO_LOG_FORMAT not in ("text", "json"):
    raise ImproperlyConfigured(f"DJANGO_LOG_FORMAT must be text or json, not {DJANGO_LOG_FORMAT!r}.")
LOGGING["filters"] = {"request_context": {"()": "config.logs.RequestContextFilter"}}
LOGGING["formatters"]["json"] = {"()": "config.logs.JsonFormatter"}
LOGGING["formatters"]["plain"]["format"] = (
    "%(asctime)s %(levelname)s %(name)s [%(request_id)s %(organization)s] %(message)s"
)
LOGGING["handlers"]["console"].update(
    formatter="json" if DJANGO_LOG_FORMAT == "json" else "plain", filters=["request_context"]
)

# Error reporting (config.sentry): off unless SENTRY_DSN is set; never sends bodies or tokens.
SENTRY_DSN = env_str("SENTRY_DSN", "")
if SENTRY_DSN:
    from config.sentry import sentry_init

    sentry_init(
        SENTRY_DSN, environment=env_str("SENTRY_ENVIRONMENT", ""), release=env_str("SENTRY_RELEASE", "")
    )
