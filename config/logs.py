"""
Log records that say which request and which organization they belong to.

LogContextMiddleware puts the request in a context variable for as long as it is served;
RequestContextFilter (on the console handler) adds to every record:

- `request_id`: the request's id (config.middleware.RequestIdMiddleware: Entra's
  client-request-id, else a fresh UUID), "" outside a request;
- `organization_id` and `organization`: the organization's id and slug, once authentication has
  resolved it (the SCIM bearer check, or a signed-in portal user), else None / "".

The organization is read when the record is emitted, so a record logged before authentication has
none and one logged after has it, with no hook in the SCIM views.

DJANGO_LOG_FORMAT=json renders one JSON object per line (JsonFormatter, python-json-logger);
the default stays the readable text line. The formatter and filter are usable by gunicorn's own
loggers (`gunicorn.error`, `gunicorn.access`) through its logconfig_dict, e.g.
`"formatters": {"json": {"()": "config.logs.JsonFormatter"}}`.
"""

import contextvars
from datetime import UTC, datetime

from pythonjsonlogger.json import JsonFormatter as _JsonFormatter


_current_request: contextvars.ContextVar = contextvars.ContextVar("current_request", default=None)

# The keys every JSON line has, in this order (then any `extra=` the call passed).
JSON_FIELDS = ("timestamp", "level", "logger", "message", "request_id", "organization_id", "organization")


class LogContextMiddleware:
    """Right after RequestIdMiddleware: the request is the log context until it is answered."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _current_request.set(request)
        try:
            return self.get_response(request)
        finally:
            _current_request.reset(token)


def _organization_of(request):
    principal = getattr(request, "scim", None)
    if principal is not None:
        return principal.organization
    # Only a user authentication already loaded: a log call must not query the database.
    user = getattr(request, "_cached_user", None)
    if user is not None and getattr(user, "is_authenticated", False):
        return getattr(user, "organization", None)
    return None


class RequestContextFilter:
    """Adds request_id, organization_id and organization to every record (never drops one)."""

    def filter(self, record) -> bool:
        # django.request logs a 4xx/5xx once the middleware has returned, naming the request.
        request = getattr(record, "request", None) or _current_request.get()
        if not hasattr(request, "META"):
            request = None
        record.request_id = getattr(request, "request_id", "") if request is not None else ""
        organization = _organization_of(request) if request is not None else None
        record.organization_id = getattr(organization, "pk", None)
        record.organization = getattr(organization, "slug", "") if organization is not None else ""
        return True


class JsonFormatter(_JsonFormatter):
    """One JSON object per line: JSON_FIELDS, then the call's extra fields, then exc_info if any."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("rename_fields", {"asctime": "timestamp", "levelname": "level", "name": "logger"})
        fmt = " ".join(f"%({name})s" for name in ("asctime", "levelname", "name", *JSON_FIELDS[3:]))
        super().__init__(fmt, *args, **kwargs)

    def formatTime(self, record, datefmt=None):  # noqa: N802 (logging's name)
        return datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds")

    def add_fields(self, log_record, record, message_dict) -> None:
        super().add_fields(log_record, record, message_dict)
        # django.request passes the request object itself: its text repeats the path and query.
        log_record.pop("request", None)
        # Records that did not pass RequestContextFilter (e.g. gunicorn's) still have every key.
        if log_record.get("request_id") is None:
            log_record["request_id"] = ""
        if log_record.get("organization") is None:
            log_record["organization"] = ""
