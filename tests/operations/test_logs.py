"""
Log lines (config.logs): with DJANGO_LOG_FORMAT=json, the settings' own LOGGING renders one JSON
object per line, each with the request id and the organization of the request being served;
the default stays a readable text line.

The settings module is evaluated again with the variable set (runpy), and its LOGGING applied
with the console handler writing to a buffer instead of stderr.
"""

import io
import json
import logging
import logging.config
import runpy
from pathlib import Path

import pytest

from scim.views import base as scim_base


pytestmark = pytest.mark.django_db
SETTINGS = Path(__file__).resolve().parents[2] / "config" / "settings" / "base.py"
UNKNOWN_ID = "5171a35d-8207-4e06-8ce2-000000000000"


@pytest.fixture
def log_lines(monkeypatch, settings):
    """Apply the LOGGING of config.settings.base under a DJANGO_LOG_FORMAT; return the buffer."""
    buffers = []

    def configure(log_format: str | None) -> io.StringIO:
        if log_format is None:
            monkeypatch.delenv("DJANGO_LOG_FORMAT", raising=False)
        else:
            monkeypatch.setenv("DJANGO_LOG_FORMAT", log_format)
        logging_config = runpy.run_path(str(SETTINGS))["LOGGING"]
        buffer = io.StringIO()
        logging_config["handlers"]["console"]["stream"] = buffer
        logging.config.dictConfig(logging_config)
        buffers.append(buffer)
        return buffer

    yield configure
    logging.config.dictConfig(settings.LOGGING)


@pytest.fixture
def logged_while_recording(monkeypatch):
    """A record emitted inside the SCIM view, after authentication (as a service's would be)."""
    original = scim_base.record_request

    def record_request(request, response):
        logging.getLogger("scim.events").info("recording %s", request.path)
        return original(request, response)

    monkeypatch.setattr(scim_base, "record_request", record_request)


def parsed(buffer: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in buffer.getvalue().splitlines()]


def test_json_lines_carry_the_request_id_and_organization(
    log_lines, scim, organization, logged_while_recording
):
    buffer = log_lines("json")

    response = scim.get(f"/Users/{UNKNOWN_ID}", headers={"client-request-id": "entra-req-1"})

    assert response.status_code == 404
    records = parsed(buffer)
    assert [(r["logger"], r["level"], r["message"]) for r in records] == [
        ("scim.events", "INFO", f"recording /scim/v2/Users/{UNKNOWN_ID}"),
        ("django.request", "WARNING", f"Not Found: /scim/v2/Users/{UNKNOWN_ID}"),
    ]
    for record in records:
        assert list(record)[:7] == [
            "timestamp",
            "level",
            "logger",
            "message",
            "request_id",
            "organization_id",
            "organization",
        ]
        assert (record["request_id"], record["organization_id"], record["organization"]) == (
            "entra-req-1",
            organization.pk,
            "contoso",
        )
        assert record["timestamp"].endswith("+00:00")


def test_json_lines_before_authentication_have_no_organization(log_lines, anonymous_scim):
    buffer = log_lines("json")

    assert anonymous_scim.get("/Users", headers={"client-request-id": "entra-req-2"}).status_code == 401

    [record] = parsed(buffer)
    assert (record["logger"], record["message"]) == ("django.request", "Unauthorized: /scim/v2/Users")
    assert (record["request_id"], record["organization_id"], record["organization"]) == (
        "entra-req-2",
        None,
        "",
    )


def test_json_lines_outside_a_request_have_empty_context(log_lines):
    buffer = log_lines("json")

    logging.getLogger("provisioning_logs.tasks").warning("periodic job ran", extra={"deleted": 3})

    [record] = parsed(buffer)
    assert record == {
        "timestamp": record["timestamp"],
        "level": "WARNING",
        "logger": "provisioning_logs.tasks",
        "message": "periodic job ran",
        "request_id": "",
        "organization_id": None,
        "organization": "",
        "deleted": 3,
    }


def test_json_lines_include_the_exception(log_lines):
    buffer = log_lines("json")

    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("scim.views").exception("SCIM request failed")

    [record] = parsed(buffer)
    assert record["message"] == "SCIM request failed"
    assert record["exc_info"].startswith("Traceback (most recent call last):")
    assert record["exc_info"].endswith("ValueError: boom")


def test_text_lines_are_the_default_and_readable(log_lines, scim, organization):
    buffer = log_lines(None)

    scim.get(f"/Users/{UNKNOWN_ID}", headers={"client-request-id": "entra-req-3"})

    [line] = buffer.getvalue().splitlines()
    assert line.endswith(
        f" WARNING django.request [entra-req-3 contoso] Not Found: /scim/v2/Users/{UNKNOWN_ID}"
    )
