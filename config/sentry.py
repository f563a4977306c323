"""
Optional error reporting with sentry-sdk (Django and Celery integrations) when SENTRY_DSN is set.

What is never sent: request bodies (SCIM bodies carry names, e-mail addresses and passwords),
cookies (the session), the Authorization, Cookie and Proxy-Authorization headers, query strings
(which may hold a token), and any bearer token or `wat_` secret token appearing in a message,
an exception value or a breadcrumb. send_default_pii stays off (no user, no client address), and
before_send scrubs what the integrations still collect.
"""

import re

import sentry_sdk


FILTERED = "[Filtered]"
_SECRET_HEADERS = {"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key"}
# "Bearer <anything>", and our own secret tokens (accounts.connections.selectors.TOKEN_PREFIX, not
# imported: this module is loaded by the settings, before the apps).
_BEARER = re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]+")
_SECRET_TOKEN = re.compile(r"\bwat_[A-Za-z0-9_-]{8,}")


def sentry_init(dsn: str, *, environment: str = "", release: str = "", transport=None) -> bool:
    """Start error reporting; False (nothing started) without a DSN."""
    if not dsn:
        return False
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    options = {
        "dsn": dsn,
        "integrations": [DjangoIntegration(), CeleryIntegration()],
        "send_default_pii": False,
        # Request bodies are never attached, whatever their size.
        "max_request_body_size": "never",
        "before_send": before_send,
        "before_breadcrumb": before_breadcrumb,
        # Frame locals would carry request bodies and secrets.
        "include_local_variables": False,
        "traces_sample_rate": 0.0,
        "environment": environment or None,
        "release": release or None,
    }
    if transport is not None:
        options["transport"] = transport
    sentry_sdk.init(**options)
    return True


def scrub_text(text):
    if not isinstance(text, str):
        return text
    return _SECRET_TOKEN.sub(FILTERED, _BEARER.sub(f"Bearer {FILTERED}", text))


def _scrub_request(request: dict) -> None:
    request.pop("data", None)
    request.pop("cookies", None)
    if request.get("query_string"):
        request["query_string"] = FILTERED
    if isinstance(request.get("url"), str):
        request["url"] = request["url"].split("?", 1)[0]
    headers = request.get("headers")
    if isinstance(headers, dict):
        for name in list(headers):
            if name.lower() in _SECRET_HEADERS:
                headers[name] = FILTERED
            else:
                headers[name] = scrub_text(headers[name])
    request.pop("env", None)  # REMOTE_ADDR and the like


def _scrub_values(value):
    """Every string anywhere in a structure, with tokens filtered."""
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, dict):
        return {key: _scrub_values(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_scrub_values(item) for item in value]
    return value


def before_send(event: dict, hint) -> dict:
    request = event.get("request")
    if isinstance(request, dict):
        _scrub_request(request)
    event.pop("user", None)
    for key in ("message", "logentry", "exception", "breadcrumbs", "extra", "threads"):
        if key in event:
            event[key] = _scrub_values(event[key])
    return event


def before_breadcrumb(crumb: dict, hint) -> dict:
    return _scrub_values(crumb)
