"""Errors of the audit API are DRF's JSON with the right status: no HTML, no trace, no cache."""

import pytest

from provisioning_logs.api import views
from provisioning_logs.api.exceptions import SERVER_ERROR


pytestmark = pytest.mark.django_db
NOT_FOUND = {"detail": "Not found."}


@pytest.mark.parametrize(
    "path", ["/api/", "/api/v2/events/", "/api/v1/nope/", "/api/v1/events/1/steps/", "/api/v1/events/../"]
)
def test_an_unknown_api_path_is_a_json_404(api, path):
    response = api.get(path)

    assert (response.status_code, response["Content-Type"], response.body) == (
        404,
        "application/json",
        NOT_FOUND,
    )


def test_an_unknown_api_path_is_404_without_credentials_too(db):
    from django.test import Client

    response = Client().get("/api/v1/nope/")

    assert (response.status_code, response.json()) == (404, NOT_FOUND)


@pytest.mark.parametrize("path", ["/api/v1/events", "/api/v1/cycles", "/api/v1/connections"])
def test_a_list_answers_without_its_trailing_slash(api, path):
    response = api.get(path)

    assert response.status_code == 200
    assert response.body["results"] == []


def test_an_event_answers_without_its_trailing_slash(api, connection, record):
    event = record(connection)

    assert api.get(f"/api/v1/events/{event.pk}").body["id"] == event.pk


def test_the_api_root_without_its_slash_is_redirected_keeping_the_method(api):
    response = api.get("/api/v1", {"x": "1"})

    assert (response.status_code, response["Location"]) == (308, "/api/v1/?x=1")


def test_the_api_root_lists_the_endpoints(api):
    assert api.get("/api/v1/").body == {
        "events": "http://testserver/api/v1/events/",
        "cycles": "http://testserver/api/v1/cycles/",
        "connections": "http://testserver/api/v1/connections/",
    }


def test_an_unexpected_error_is_a_json_500_without_a_trace(api, connection, monkeypatch):
    # A fault injected into the selector the view calls: no real input makes the API fail.
    def broken(*args, **kwargs):
        raise RuntimeError("database on fire: /srv/secret/path.py line 12")

    monkeypatch.setattr(views, "connection_report", broken)

    response = api.get("/connections/")

    assert (response.status_code, response["Content-Type"], response.body) == (
        500,
        "application/json",
        {"detail": SERVER_ERROR},
    )
    assert b"fire" not in response.content


def test_the_api_is_json_even_for_a_browser_outside_debug(api, settings):
    settings.DEBUG = False

    response = api.get("/events/", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})

    assert (response.status_code, response["Content-Type"]) == (200, "application/json")


def test_a_request_for_html_only_is_406_in_json(api, settings):
    settings.DEBUG = False

    response = api.get("/events/", headers={"Accept": "text/html"})

    assert (response.status_code, response["Content-Type"]) == (406, "application/json")
    assert response.body == {"detail": "Could not satisfy the request Accept header."}


def test_the_browsable_api_is_offered_only_with_debug(api, settings):
    settings.DEBUG = True

    response = api.get("/events/", headers={"Accept": "text/html"})

    assert (response.status_code, response["Content-Type"]) == (200, "text/html; charset=utf-8")


def test_the_format_parameter_cannot_ask_for_the_browsable_api_outside_debug(api, settings):
    settings.DEBUG = False

    response = api.get("/events/", {"format": "api"})

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"


@pytest.mark.parametrize("path", ["/api/v1/events/", "/api/v1/events/999/", "/api/v1/connections/"])
def test_answers_and_errors_are_never_cached(api, path):
    response = api.get(path)

    assert "no-store" in response["Cache-Control"]
    assert "private" in response["Cache-Control"]
