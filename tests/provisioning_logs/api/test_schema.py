"""GET /api/v1/schema/ (OpenAPI 3, drf-spectacular) validates; the documentation page is local."""

import json
import re

import pytest
from django.contrib.staticfiles import finders
from django.core.management import call_command
from openapi_spec_validator import validate

from accounts.models import OrganizationRole


pytestmark = pytest.mark.django_db
DOCS = "/api/v1/docs/"


@pytest.fixture
def schema(api) -> dict:
    response = api.get("/api/v1/schema/", {"format": "json"})
    assert (response.status_code, response["Content-Type"]) == (200, "application/vnd.oai.openapi+json")
    return json.loads(response.content)


def test_the_schema_is_a_valid_openapi_3_document(schema):
    validate(schema)  # raises on any violation of the OpenAPI 3.0 specification

    assert schema["openapi"].startswith("3.0")


def test_the_schema_has_every_endpoint_once(schema):
    assert sorted(schema["paths"]) == [
        "/api/v1/connections/",
        "/api/v1/connections/{id}/",
        "/api/v1/cycles/",
        "/api/v1/cycles/{id}/",
        "/api/v1/events/",
        "/api/v1/events/{id}/",
    ]
    assert {method for path in schema["paths"].values() for method in path} == {"get"}


def test_the_schema_documents_every_event_filter(schema):
    names = {parameter["name"] for parameter in schema["paths"]["/api/v1/events/"]["get"]["parameters"]}

    assert names == {
        "status",
        "action",
        "resource_type",
        "connection",
        "cycle",
        "since",
        "until",
        "identity",
        "request_id",
        "http_status",
        "order",
        "cursor",
        "page_size",
    }


def test_the_schema_names_client_credentials_and_the_audit_scope(schema):
    assert schema["components"]["securitySchemes"]["oauth2"] == {
        "type": "oauth2",
        "flows": {
            "clientCredentials": {
                "tokenUrl": "/o/token/",
                "scopes": {"audit:read": "Read the provisioning audit log"},
            }
        },
    }
    assert schema["paths"]["/api/v1/events/"]["get"]["security"] == [
        {"oauth2": ["audit:read"]},
        {"cookieAuth": []},
    ]


def test_the_schema_needs_credentials(db):
    from django.test import Client

    assert Client().get("/api/v1/schema/").status_code == 401


@pytest.mark.parametrize("role", [OrganizationRole.ADMIN, OrganizationRole.SUPPORT])
def test_portal_readers_open_the_documentation_page(portal_client, role):
    response = portal_client(role).get(DOCS)

    assert response.status_code == 200
    html = response.content.decode()
    assert '<div id="swagger-ui"></div>' in html
    assert "<style" not in html and "<script>" not in html  # nothing inline: a strict CSP holds


def test_the_documentation_page_loads_nothing_from_elsewhere(admin_browser):
    html = admin_browser.get(DOCS).content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)

    assert assets
    assert all(asset.startswith("/") for asset in assets), assets
    for asset in assets:
        path = asset.split("?")[0]
        if path.startswith("/static/"):
            assert finders.find(path.removeprefix("/static/")), path


def test_the_documentation_pages_script_is_served_as_javascript(admin_browser):
    response = admin_browser.get(DOCS, {"script": ""})

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    assert "/api/v1/schema/" in response.content.decode()


def test_the_documentation_page_sends_anyone_else_to_sign_in(db, portal_client):
    from django.test import Client

    for client in (Client(), portal_client(OrganizationRole.MEMBER)):
        response = client.get(DOCS)
        assert response.status_code == 302
        assert response["Location"].startswith("/admin/login/")


def test_drf_spectacular_describes_every_view_without_a_warning(tmp_path):
    # --fail-on-warn: a view, serializer field or filter it cannot type fails the command.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))

    assert (tmp_path / "schema.yaml").read_text().startswith("openapi: 3.0")
