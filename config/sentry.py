"""
Optional error reporting with sentry-sdk (Django and Celery integrations) when SENTRY_DSN is set.

What is never sent: request bodies (SCIM bodies carry names, e-mail addresses and passwords),
cookies (the session), the Authorization, Cookie and Proxy-Authorization headers (and client
addresses in forwarding headers), query strings
(which may hold a token), and any bearer token or `wat_` secret token appearing in a message,
an exception value or a breadcrumb. The SDK is told to collect none of it (data_collection, the
successor of send_default_pii=False), and before_send scrubs whatever an integration still adds.
"""

import re

import sentry_sdk


FILTERED = "[Filtered]"
# Headers whose name contains one of these are never collected (client addresses among them).
_HEADER_DENY_TERMS = ("authorization", "cookie", "token", "forwarded", "-ip", "remote-", "via", "-user")
_SECRET_HEADERS = {"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key"}
# "Bearer <anything>", and our own secret tokens (accounts.connections.selectors.TOKEN_PREFIX, not
# imported: this module is loaded by the settings, before the apps).
_BEARER = re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]+")
_SECRET_TOKEN = re.compile(r"\bwat_[A-Za-z0-9_-]{8,}")
# A secret-looking query parameter in a logged URL: ?access_token=…, &code=…, &client_secret=…
_SECRET_PARAMETER = re.compile(r"(?i)([?&](?:[\w.-]*token|code|[\w.-]*secret|password|assertion)=)[^&\s\"']+")


def sentry_init(dsn: str, *, environment: str = "", release: str = "", transport=None) -> bool:
    """Start error reporting; False (nothing started) without a DSN."""
    if not dsn:
        return False
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    options = {
        "dsn": dsn,
        "integrations": [DjangoIntegration(), CeleryIntegration()],
        # sentry-sdk's successor of send_default_pii=False (deprecated since 2.7x), narrower still:
        # no user, cookies, bodies, query parameters, frame locals or queue payloads.
        "data_collection": {
            "user_info": False,
            "cookies": {"mode": "off"},
            "http_headers": {"request": {"mode": "denylist", "terms": list(_HEADER_DENY_TERMS)}},
            "http_bodies": [],
            "url_query_params": {"mode": "off"},
            "database_query_data": False,
            "queues": False,
            "stack_frame_variables": False,
        },
        "before_send": before_send,
        "before_breadcrumb": before_breadcrumb,
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
    text = _BEARER.sub(f"Bearer {FILTERED}", text)
    text = _SECRET_PARAMETER.sub(rf"\g<1>{FILTERED}", text)
    return _SECRET_TOKEN.sub(FILTERED, text)


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
