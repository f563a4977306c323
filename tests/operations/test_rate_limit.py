"""
The per-connection SCIM rate limit (config.ratelimit through scim.auth): a token bucket in the
real Redis, 429 in RFC 7644 §3.12 shape with Retry-After, logged, never counted toward quarantine,
shared by separate processes; and served (fail open) when Redis is unreachable.
"""

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from accounts.connections.models import ProvisioningConnection
from config import ratelimit
from config.metrics import SCIM_RATE_LIMIT_ERRORS, SCIM_RATE_LIMITED
from provisioning_logs.models import ConnectionHealth, HealthState, ProvisioningEvent


pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]
ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"
THROTTLED_DETAIL = (
    "Too many requests for this provisioning connection: at most 1 per second (bursts of 3). Retry after 1 s."
)


def test_the_burst_is_served_then_429_with_retry_after(scim, rate_limited):
    statuses = [scim.get("/Users").status_code for _ in range(3)]
    refused = scim.get("/Users")

    assert statuses == [200, 200, 200]
    assert refused.status_code == 429
    assert refused.headers["Content-Type"] == "application/scim+json"
    assert refused.headers["Retry-After"] == "1"
    assert refused.body == {"schemas": [ERROR_SCHEMA], "status": "429", "detail": THROTTLED_DETAIL}


def test_the_bucket_refills_at_the_rate(scim, rate_limited):
    for _ in range(3):
        scim.get("/Users")
    assert scim.get("/Users").status_code == 429

    time.sleep(1.05)

    assert scim.get("/Users").status_code == 200
    assert scim.get("/Users").status_code == 429


def test_retry_after_is_how_long_the_bucket_needs_for_one_token(settings, rate_limited):
    settings.SCIM_RATE_LIMIT, settings.SCIM_RATE_BURST = 1, 1
    assert ratelimit.rate_limit_take(10**9) is None

    refused = ratelimit.rate_limit_take(10**9)

    assert refused == ratelimit.Throttled(retry_after=1, limit=1, burst=1)


def test_rate_0_turns_the_limit_off(scim, settings, rate_limited, redis_client):
    settings.SCIM_RATE_LIMIT = 0

    statuses = {scim.get("/Users").status_code for _ in range(10)}

    assert statuses == {200}
    assert list(redis_client.scan_iter(f"{rate_limited}*")) == []


def test_two_connections_have_separate_buckets(scim, other_scim, rate_limited):
    for _ in range(3):
        scim.get("/Users")
    assert scim.get("/Users").status_code == 429

    assert [other_scim.get("/Users").status_code for _ in range(3)] == [200, 200, 200]


def test_a_throttled_request_is_logged_as_throttled(scim, organization, rate_limited):
    for _ in range(3):
        scim.get("/Users")
    scim.get("/Users?filter=userName%20eq%20%22x%22", headers={"client-request-id": "req-429"})

    event = ProvisioningEvent.objects.get(request_id="req-429")
    assert (event.http_status, event.status, event.detail, event.scim_type) == (
        429,
        "Failure",
        THROTTLED_DETAIL,
        "",
    )
    assert event.credential == "secret token entra"


def test_429s_never_count_toward_quarantine(scim, organization, settings, rate_limited):
    # Thresholds so low that ten counted failures would quarantine the connection at once.
    settings.QUARANTINE_MIN_FAILURES, settings.QUARANTINE_FAILURE_PERCENT = 1, 1
    for _ in range(3):
        assert scim.get("/Users").status_code == 200
    connection = ProvisioningConnection.objects.get(organization=organization)
    before = ConnectionHealth.objects.filter(connection=connection).values().get()

    statuses = {scim.get("/Users").status_code for _ in range(10)}

    after = ConnectionHealth.objects.filter(connection=connection).values().get()
    assert statuses == {429}
    assert ProvisioningEvent.objects.filter(connection=connection, http_status=429).count() == 10
    assert after == before
    assert after["state"] == HealthState.HEALTHY


def test_a_throttled_request_is_counted_in_the_metrics(scim, organization, rate_limited):
    connection = ProvisioningConnection.objects.get(organization=organization)
    labels = {"connection": str(connection.pk)}
    before = SCIM_RATE_LIMITED.labels(**labels)._value.get()
    for _ in range(5):
        scim.get("/Users")

    assert SCIM_RATE_LIMITED.labels(**labels)._value.get() - before == 2


def test_unreachable_redis_serves_the_request_and_says_so(scim, settings, rate_limited, caplog):
    settings.REDIS_URL = "redis://127.0.0.1:9/0"  # nothing listens on the discard port
    monkey_last = ratelimit._last_error_logged
    ratelimit._last_error_logged = -1e9
    before = SCIM_RATE_LIMIT_ERRORS._value.get()
    try:
        statuses = [scim.get("/Users").status_code for _ in range(5)]
    finally:
        ratelimit._last_error_logged = monkey_last

    assert statuses == [200] * 5
    assert SCIM_RATE_LIMIT_ERRORS._value.get() - before == 5
    warnings = [r.getMessage() for r in caplog.records if r.name == "config.ratelimit"]
    assert len(warnings) == 1  # once a minute at most, not once a request
    assert warnings[0].startswith("SCIM rate limit not enforced: Redis unreachable")


TAKER = """
import sys, time, json
from django.conf import settings
settings.configure(REDIS_URL=sys.argv[4], SCIM_RATE_LIMIT=1, SCIM_RATE_BURST=20)
from config import ratelimit
ratelimit.KEY_PREFIX = sys.argv[1]
start = float(sys.argv[2])
while time.time() < start:
    time.sleep(0.001)
began = time.monotonic()
allowed = sum(ratelimit.rate_limit_take(7) is None for _ in range(int(sys.argv[3])))
print(json.dumps({"allowed": allowed, "seconds": time.monotonic() - began}))
"""


def test_two_processes_share_one_bucket(rate_limited, redis_url):
    start = time.time() + 3  # both processes set up by then
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", TAKER, rate_limited, str(start), "20", redis_url],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = [json.loads(process.communicate(timeout=60)[0]) for process in processes]

    allowed = sum(result["allowed"] for result in results)
    refilled = int(max(result["seconds"] for result in results)) + 1  # at 1 token/s while they ran
    assert 20 <= allowed <= 20 + refilled  # one bucket of 20, not one per process (40)


@pytest.mark.sqlite_pass_only
def test_redis_replies_are_parsed_by_hiredis_not_python():
    from redis.utils import HIREDIS_AVAILABLE  # a dependency: a third less CPU per EVALSHA

    assert HIREDIS_AVAILABLE is True


def test_the_limit_holds_after_redis_forgets_its_scripts(settings, rate_limited, redis_client):
    settings.SCIM_RATE_LIMIT, settings.SCIM_RATE_BURST = 1, 2
    assert ratelimit.rate_limit_take(10**9 + 1) is None

    redis_client.script_flush()  # what a restarted Redis knows
    taken = [ratelimit.rate_limit_take(10**9 + 1) for _ in range(2)]

    assert taken == [None, ratelimit.Throttled(retry_after=1, limit=1, burst=2)]


def test_the_limit_holds_after_redis_drops_the_connection(settings, rate_limited, redis_client):
    settings.SCIM_RATE_LIMIT, settings.SCIM_RATE_BURST = 1, 2
    assert ratelimit.rate_limit_take(10**9 + 2) is None
    before = SCIM_RATE_LIMIT_ERRORS._value.get()

    held = ratelimit._threads.connections[settings.REDIS_URL]
    host, port = held._sock.getsockname()[:2]
    redis_client.client_kill(f"{host}:{port}")  # as a Redis restart or an idle timeout would
    taken = [ratelimit.rate_limit_take(10**9 + 2) for _ in range(2)]

    assert taken == [None, ratelimit.Throttled(retry_after=1, limit=1, burst=2)]
    assert SCIM_RATE_LIMIT_ERRORS._value.get() == before  # reconnected, not served unthrottled
