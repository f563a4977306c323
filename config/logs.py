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
        kwargs.setdefault("timestamp", False)
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s", *args, **kwargs)

    def formatTime(self, record, datefmt=None):  # noqa: N802 (logging's name)
        from datetime import UTC, datetime

        return datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds")

    def add_fields(self, log_record, record, message_dict) -> None:
        super().add_fields(log_record, record, message_dict)
        # Records that did not pass RequestContextFilter (e.g. gunicorn's) still have every key.
        log_record.setdefault("request_id", getattr(record, "request_id", ""))
        log_record.setdefault("organization_id", getattr(record, "organization_id", None))
        log_record.setdefault("organization", getattr(record, "organization", ""))
