"""
The audit API's fixtures: API clients with real client-credentials tokens from /o/token/, a
bearer client for /api/v1/, and events recorded by the real recorder (event_record).
"""

import base64
import copy
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client

from accounts.connections.services import connection_get_or_create
from provisioning_logs.api.clients import api_client_create
from provisioning_logs.services import EventRecord, event_record, forget_running_cycles


API = "/api/v1"
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _own_throttle_counts(settings):
    """Each test counts requests under its own key prefix in the shared (Redis or database) cache."""
    caches = copy.deepcopy(settings.CACHES)
    caches[settings.AUDIT_API_THROTTLE_CACHE]["KEY_PREFIX"] = f"test-{uuid.uuid4().hex}"
    settings.CACHES = caches


def token_response(client_id: str, secret: str, **data):
    credentials = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return Client().post(
        "/o/token/",
        {"grant_type": "client_credentials", **data},
        headers={"Authorization": f"Basic {credentials}"},
    )


def access_token(issued, **data) -> str:
    response = token_response(issued.client.client_id, issued.client_secret, **data)
    assert response.status_code == 200, response.content
    return response.json()["access_token"]


class ApiClient:
    """A Django test client that sends a bearer token to the audit API and parses its JSON."""

    def __init__(self, token: str | None):
        self.client = Client()
        self.token = token

    def request(self, method: str, path: str, params=None, headers=None):
        url = path if path.startswith(("/api/", "/scim/", "http")) else API + path
        all_headers = {"Authorization": f"Bearer {self.token}"} if self.token is not None else {}
        all_headers.update(headers or {})
        response = getattr(self.client, method.lower())(url, params, headers=all_headers)
        response.body = response.json() if response["Content-Type"].startswith("application/json") else None
        return response

    def get(self, path, params=None, **kwargs):
        return self.request("GET", path, params, **kwargs)

    def pages(self, path, params=None) -> list[list[dict]]:
        """Every page of a list, following `next` until there is none (not for polling)."""
        pages, url = [], path
        while url:
            response = self.get(url, params if url == path else None)
            assert response.status_code == 200, response.body
            pages.append(response.body["results"])
            url = response.body["next"]
        return pages


@pytest.fixture
def issued_client(organization):
    return api_client_create(organization=organization, name="Splunk")


@pytest.fixture
def api(issued_client) -> ApiClient:
    """Contoso's SIEM: a bearer client with a real audit:read token."""
    return ApiClient(access_token(issued_client))


@pytest.fixture
def other_api(other_organization) -> ApiClient:
    return ApiClient(access_token(api_client_create(organization=other_organization, name="Splunk")))


@pytest.fixture
def connection(organization):
    return connection_get_or_create(organization=organization)


@pytest.fixture
def record():
    """Record an event as the SCIM layer does (real recorder); returns the ProvisioningEvent."""

    def make(connection, *, at: datetime | None = None, **fields):
        values = {"method": "GET", "path": "/scim/v2/Users", "http_status": 200, **fields}
        event = event_record(
            EventRecord(organization=connection.organization, connection=connection, **values), now=at
        )
        assert event is not None
        return event

    return make


@pytest.fixture
def timeline(record):
    """Record events at T0, T0 + 1 min, …: returns them oldest first."""

    def make(connection, count: int, *, start: datetime = T0, **fields) -> list:
        events = [record(connection, at=start + timedelta(minutes=i), **fields) for i in range(count)]
        forget_running_cycles()
        return events

    return make


def ids(results) -> list[int]:
    return [row["id"] for row in results]
