"""
Requests per client and minute (AUDIT_API_RATE), counted in the cache every worker shares: Redis
when REDIS_URL is set (CI), else the database table of migration 0006; both are real here.
"""

import re

import pytest

from accounts.models import OrganizationRole
from provisioning_logs.api.clients import api_client_create
from tests.provisioning_logs.api.conftest import ApiClient, access_token


pytestmark = pytest.mark.django_db
THROTTLED = re.compile(r"^Request was throttled\. Expected available in (\d+) seconds?\.$")


@pytest.fixture
def three_a_minute(settings):
    settings.AUDIT_API_RATE = "3/minute"


def test_a_client_over_its_rate_gets_429_with_retry_after(api, three_a_minute):
    statuses = [api.get("/events/").status_code for _ in range(3)]

    response = api.get("/events/")

    assert statuses == [200, 200, 200]
    assert response.status_code == 429
    assert THROTTLED.match(response.body["detail"])
    assert 1 <= int(response["Retry-After"]) <= 60


def test_each_client_has_its_own_count(api, organization, three_a_minute):
    for _ in range(3):
        api.get("/events/")
    other = ApiClient(access_token(api_client_create(organization=organization, name="Helpdesk")))

    assert (api.get("/events/").status_code, other.get("/events/").status_code) == (429, 200)


def test_a_clients_tokens_share_its_count(api, issued_client, three_a_minute):
    for _ in range(3):
        api.get("/events/")

    assert ApiClient(access_token(issued_client)).get("/events/").status_code == 429


def test_a_portal_user_is_counted_by_account(portal_client, three_a_minute):
    admin = portal_client(OrganizationRole.ADMIN)
    support = portal_client(OrganizationRole.SUPPORT)
    for _ in range(3):
        admin.get("/api/v1/events/")

    assert (admin.get("/api/v1/events/").status_code, support.get("/api/v1/events/").status_code) == (
        429,
        200,
    )


def test_refused_requests_are_not_counted(db, three_a_minute, api):
    for _ in range(5):
        assert ApiClient("wrong").get("/events/").status_code == 401

    assert api.get("/events/").status_code == 200


def test_the_database_cache_counts_across_workers_too(api, settings, three_a_minute):
    caches = dict(settings.CACHES)
    caches[settings.AUDIT_API_THROTTLE_CACHE] = {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "api_throttle_cache",
        "KEY_PREFIX": "db-test",
    }
    settings.CACHES = caches

    statuses = [api.get("/events/").status_code for _ in range(4)]

    assert statuses == [200, 200, 200, 429]


def test_an_unreachable_throttle_cache_lets_requests_through(api, settings, three_a_minute):
    caches = dict(settings.CACHES)
    # A real Redis client against a port nothing listens on.
    caches[settings.AUDIT_API_THROTTLE_CACHE] = {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:9/0",
        "OPTIONS": {"socket_connect_timeout": 0.2},
    }
    settings.CACHES = caches

    assert [api.get("/events/").status_code for _ in range(4)] == [200, 200, 200, 200]
