"""
Error reporting (config.sentry): skipped without SENTRY_DSN; before_send strips bodies, cookies,
secret headers, query strings and bearer tokens. Events are captured by a local transport (a
sentry-sdk Transport subclass kept in memory) instead of a network: no Sentry server runs here.
"""

import pytest
import sentry_sdk
from sentry_sdk.transport import Transport

from config.sentry import FILTERED, before_send, sentry_init
from scim.views import base as scim_base
from tests.conftest import entra_user


DSN = "https://public@sentry.invalid/1"  # never contacted: the transport below replaces the network
TOKEN = "wat_Zk3xQ0q9vL2pR7sT4uW6yA8cE1gI3kM5"
OAUTH = "0AbCdEfGhIjKlMnOpQrStUvWxYz"


class InMemoryTransport(Transport):
    def __init__(self):
        super().__init__()
        self.envelopes = []

    def capture_envelope(self, envelope):
        self.envelopes.append(envelope)


@pytest.fixture
def sentry_off_afterwards():
    sentry_sdk.get_global_scope().set_client(None)  # no client: as in a process that never started one
    yield
    sentry_sdk.get_client().close()
    sentry_sdk.get_global_scope().set_client(None)


def realistic_event() -> dict:
    """An event as the Django integration builds it for a failed SCIM PATCH (trimmed)."""
    return {
        "level": "error",
        "logger": "scim.views",
        "logentry": {
            "message": "SCIM request failed: %s %s",
            "params": ["PATCH", f"/scim/v2/Users/1?access_token={OAUTH}"],
        },
        "message": f"upstream said: invalid header Bearer {OAUTH}",
        "exception": {
            "values": [
                {
                    "type": "RuntimeError",
                    "value": f"token {TOKEN} refused",
                    "stacktrace": {"frames": [{"function": "patch", "vars": {"secret": TOKEN}}]},
                }
            ]
        },
        "breadcrumbs": {
            "values": [
                {"category": "httplib", "message": f"GET https://graph/ Authorization: Bearer {OAUTH}"}
            ]
        },
        "request": {
            "url": f"https://portal.example.com/scim/v2/Users/1?access_token={OAUTH}",
            "method": "PATCH",
            "query_string": f"access_token={OAUTH}",
            "data": {"Operations": [{"op": "replace", "path": "password", "value": "S3cret!pass"}]},
            "cookies": {"sessionid": "abc123", "csrftoken": "def456"},
            "headers": {
                "Authorization": f"Bearer {TOKEN}",
                "Cookie": "sessionid=abc123",
                "Content-Type": "application/scim+json",
                "Client-Request-Id": "entra-1",
                "X-Forwarded-Authorization": f"Bearer {OAUTH}",
            },
            "env": {"REMOTE_ADDR": "203.0.113.9", "SERVER_NAME": "portal"},
        },
        "user": {"ip_address": "203.0.113.9"},
    }


def test_before_send_strips_bodies_cookies_secret_headers_queries_and_tokens():
    event = before_send(realistic_event(), hint={})

    assert event["request"] == {
        "url": "https://portal.example.com/scim/v2/Users/1",
        "method": "PATCH",
        "query_string": FILTERED,
        "headers": {
            "Authorization": FILTERED,
            "Cookie": FILTERED,
            "Content-Type": "application/scim+json",
            "Client-Request-Id": "entra-1",
            "X-Forwarded-Authorization": f"Bearer {FILTERED}",
        },
    }
    assert "user" not in event
    assert event["message"] == f"upstream said: invalid header Bearer {FILTERED}"
    assert event["exception"]["values"][0]["value"] == f"token {FILTERED} refused"
    assert event["exception"]["values"][0]["stacktrace"]["frames"][0]["vars"] == {"secret": FILTERED}
    assert (
        event["breadcrumbs"]["values"][0]["message"] == f"GET https://graph/ Authorization: Bearer {FILTERED}"
    )
    text = repr(event)
    assert TOKEN not in text and OAUTH not in text and "S3cret" not in text and "abc123" not in text


def test_sentry_is_not_started_without_a_dsn(sentry_off_afterwards):
    assert sentry_init("") is False
    assert not sentry_sdk.get_client().is_active()


@pytest.mark.django_db
def test_a_failed_scim_request_reaches_sentry_without_body_or_token(scim, monkeypatch, sentry_off_afterwards):
    transport = InMemoryTransport()
    assert sentry_init(DSN, transport=transport) is True

    def broken(request):
        raise RuntimeError(f"cannot check the body of a request with Bearer {scim.token}")

    monkeypatch.setattr(scim_base, "check_request_limits", broken)
    # Joined at run time: Sentry sends the source lines around a frame, and this is one of them.
    password = "-".join(("S3cret!pass", "for", "sentry"))
    body = entra_user(password=password)

    response = scim.post("/Users?access_token=" + OAUTH, body)
    sentry_sdk.flush()

    assert response.status_code == 500
    events = [envelope.get_event() for envelope in transport.envelopes if envelope.get_event()]
    assert [event["logger"] for event in events] == ["scim.views"]
    [event] = events
    assert (
        event["exception"]["values"][0]["value"]
        == f"cannot check the body of a request with Bearer {FILTERED}"
    )
    assert (event["extra"]["request_id"], event["extra"]["organization"]) == (
        response["client-request-id"],
        "contoso",
    )
    request = event.get("request", {})
    assert "data" not in request and "cookies" not in request
    assert request.get("headers", {}).get("Authorization", FILTERED) == FILTERED
    sent = b"".join(envelope.serialize() for envelope in transport.envelopes)
    for secret in (scim.token, OAUTH, password):
        assert secret.encode() not in sent
