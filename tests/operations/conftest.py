"""Fixtures of the operations tests: the real Redis (REDIS_URL, which CI sets), isolated by key prefix."""

import uuid

import pytest
import redis as redis_py


@pytest.fixture
def redis_client(redis_url):
    client = redis_py.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture
def rate_limited(settings, monkeypatch, redis_url, redis_client):
    """SCIM_RATE_LIMIT 1/s, burst 3, in the real Redis under a key prefix of this test's own."""
    from config import ratelimit

    prefix = f"ratelimit:test-{uuid.uuid4().hex}:"
    monkeypatch.setattr(ratelimit, "KEY_PREFIX", prefix)
    settings.REDIS_URL = redis_url
    settings.SCIM_RATE_LIMIT = 1
    settings.SCIM_RATE_BURST = 3
    ratelimit.rate_limit_reset()
    yield prefix
    ratelimit.rate_limit_reset()
    for key in redis_client.scan_iter(f"{prefix}*"):
        redis_client.delete(key)
