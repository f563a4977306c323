"""The Celery broker: Redis when REDIS_URL is set (CI sets it; then Redis must be reachable)."""

import os

import pytest
from django.conf import settings

from config import celery_app


def test_tasks_run_eagerly_without_a_broker(settings):
    if os.environ.get("REDIS_URL"):
        pytest.skip("a broker is configured")
    assert settings.CELERY_TASK_ALWAYS_EAGER is True


def test_redis_broker_is_reachable_when_configured():
    in_ci = os.environ.get("CI", "").lower() in ("1", "true", "yes")
    if not os.environ.get("REDIS_URL"):
        if in_ci:
            pytest.fail("CI must set REDIS_URL")
        pytest.skip("REDIS_URL not set: tasks run eagerly in-process")
    assert os.environ["REDIS_URL"] == settings.CELERY_BROKER_URL
    with celery_app.connection_for_write() as connection:
        connection.ensure_connection(max_retries=1, timeout=3)
        assert connection.connected
