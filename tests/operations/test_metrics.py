"""
/metrics (config.metrics): never open by default, a bearer token or an address allow-list; the
metric families and their labels after real SCIM requests; and multiprocess mode, where values
written by separate processes are added up in one scrape.
"""

import subprocess
import sys
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from accounts.connections.models import ProvisioningConnection
from config import metrics
from provisioning_logs.models import ConnectionHealth, HealthState, OutboxMessage, ProvisioningEvent
from tests.conftest import entra_user


pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]
TOKEN = "metrics-token-for-tests-0123456789"


@pytest.fixture
def token(settings):
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_ALLOWED_IPS = []
    return TOKEN


def scrape(client=None, **headers):
    return (client or Client()).get("/metrics", headers=headers)


def families(response) -> dict:
    return {family.name: family for family in text_string_to_metric_families(response.content.decode())}


def sample(found: dict, family: str, name: str, **labels):
    values = [s.value for s in found[family].samples if s.name == name and labels.items() <= s.labels.items()]
    assert len(values) == 1, (name, labels, found[family].samples)
    return values[0]


def test_metrics_are_404_when_neither_token_nor_addresses_are_set(settings):
    settings.METRICS_TOKEN, settings.METRICS_ALLOWED_IPS = "", []

    assert scrape(Authorization="Bearer anything").status_code == 404


def test_metrics_without_a_token_are_401(token):
    response = scrape()

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="metrics"'


def test_metrics_with_a_wrong_token_are_401(token):
    assert scrape(Authorization=f"Bearer {TOKEN}x").status_code == 401
    assert scrape(Authorization=f"Basic {TOKEN}").status_code == 401


def test_metrics_from_an_address_outside_the_allow_list_are_403(settings):
    settings.METRICS_TOKEN, settings.METRICS_ALLOWED_IPS = "", ["10.0.0.0/8", "192.0.2.7"]

    assert scrape().status_code == 403  # the test client is 127.0.0.1


def test_metrics_from_an_allowed_address_are_served(settings):
    settings.METRICS_TOKEN, settings.METRICS_ALLOWED_IPS = "", ["10.0.0.0/8", "127.0.0.1"]

    response = scrape()

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")


def test_metrics_count_scim_requests_by_resource_action_status_and_connection(scim, organization, token):
    connection = ProvisioningConnection.objects.get(organization=organization)
    labels = {"connection": str(connection.pk)}
    scim.get('/Users?filter=userName eq "warm-up@contoso.com"')  # every series exists before
    before = families(scrape(Authorization=f"Bearer {TOKEN}"))

    def count(found, **more):
        try:
            return sample(found, "scim_requests", "scim_requests_total", **labels, **more)
        except (AssertionError, KeyError):
            return 0.0

    assert scim.post("/Users", entra_user()).status_code == 201
    assert scim.get('/Users?filter=userName eq "bob@contoso.com"').status_code == 200
    assert scim.get('/Users?filter=userName eq "carol@contoso.com"').status_code == 200
    assert scim.get("/Users/5171a35d-8207-4e06-8ce2-000000000000").status_code == 404
    events = ProvisioningEvent.objects.count()
    response = scrape(Authorization=f"Bearer {TOKEN}")

    found = families(response)
    assert response.status_code == 200
    assert (
        count(found, resource="User", action="Create", status="201")
        - count(before, resource="User", action="Create", status="201")
        == 1
    )
    assert (
        count(found, resource="User", action="Lookup", status="200")
        - count(before, resource="User", action="Lookup", status="200")
        == 2
    )
    assert (
        count(found, resource="User", action="Lookup", status="404")
        - count(before, resource="User", action="Lookup", status="404")
        == 1
    )
    timed = {"resource": "User", "action": "Lookup"}
    name = "scim_request_duration_seconds_count"
    assert (
        sample(found, "scim_request_duration_seconds", name, **timed)
        - sample(before, "scim_request_duration_seconds", name, **timed)
        == 3
    )
    assert ProvisioningEvent.objects.count() == events  # a scrape is not provisioning traffic


def test_metrics_show_each_connections_health_state(scim, organization, token):
    connection = ProvisioningConnection.objects.get(organization=organization)
    ConnectionHealth.objects.update_or_create(
        connection=connection,
        defaults={"state": HealthState.QUARANTINED, "reason": "InvalidCredentials"},
        create_defaults={
            "organization": organization,
            "state": HealthState.QUARANTINED,
            "reason": "InvalidCredentials",
        },
    )

    found = families(scrape(Authorization=f"Bearer {TOKEN}"))

    health = {
        (s.labels["state"], s.labels["reason"]): s.value
        for s in found["provisioning_connection_health"].samples
        if s.labels["connection"] == str(connection.pk)
    }
    assert health == {("healthy", ""): 0.0, ("quarantined", "InvalidCredentials"): 1.0, ("disabled", ""): 0.0}
    assert {s.labels["organization"] for s in found["provisioning_connection_health"].samples} == {"contoso"}


def test_metrics_show_pending_and_failing_outbox_messages(organization, token):
    for status, number in (("pending", 2), ("failing", 1), ("sent", 4)):
        for index in range(number):
            OutboxMessage.objects.create(
                organization=organization,
                kind="failure_digest",
                recipients=["ops@contoso.com"],
                subject=f"{status} {index}",
                text_body="",
                html_body="",
                status=status,
            )

    found = families(scrape(Authorization=f"Bearer {TOKEN}"))

    assert {s.labels["status"]: s.value for s in found["provisioning_outbox_messages"].samples} == {
        "pending": 2.0,
        "failing": 1.0,
    }


def test_metrics_show_the_celery_queue_length_from_redis(settings, token, redis_url, redis_client):
    queue = f"test-queue-{uuid.uuid4().hex}"
    settings.REDIS_URL, settings.CELERY_TASK_DEFAULT_QUEUE = redis_url, queue
    redis_client.rpush(queue, "a", "b", "c")
    try:
        found = families(scrape(Authorization=f"Bearer {TOKEN}"))
    finally:
        redis_client.delete(queue)

    assert sample(found, "celery_queue_length", "celery_queue_length", queue=queue) == 3.0


def test_metrics_count_rate_limited_requests(scim, organization, token, rate_limited):
    connection = ProvisioningConnection.objects.get(organization=organization)
    for _ in range(5):
        scim.get("/Users")

    found = families(scrape(Authorization=f"Bearer {TOKEN}"))

    assert sample(found, "scim_rate_limited", "scim_rate_limited_total", connection=str(connection.pk)) >= 2
    assert (
        sample(
            found,
            "scim_requests",
            "scim_requests_total",
            connection=str(connection.pk),
            status="429",
            resource="User",
        )
        >= 2
    )


WRITER = """
import sys
from django.conf import settings
settings.configure()
from config import metrics
labels = {"resource": "User", "action": "Create"}
metrics.SCIM_REQUESTS.labels(**labels, status="201", connection="7").inc(int(sys.argv[1]))
metrics.SCIM_LATENCY.labels(**labels).observe(0.02)
"""


def test_multiprocess_mode_adds_up_every_process(tmp_path, monkeypatch):
    env = {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    for increments in (3, 4):  # two worker processes, each with its own values file
        subprocess.run([sys.executable, "-c", WRITER, str(increments)], cwd=ROOT, env=env, check=True)
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))

    from prometheus_client import generate_latest

    found = {
        family.name: family
        for family in text_string_to_metric_families(generate_latest(metrics.process_registry()).decode())
    }

    assert len(list(tmp_path.glob("counter_*.db"))) == 2
    assert sample(found, "scim_requests", "scim_requests_total", connection="7", status="201") == 7.0
    assert (
        sample(found, "scim_request_duration_seconds", "scim_request_duration_seconds_count", resource="User")
        == 2.0
    )


def test_gunicorn_child_exit_drops_the_dead_workers_live_gauges(tmp_path, monkeypatch):
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    dead, alive = tmp_path / "gauge_livesum_4242.db", tmp_path / "gauge_livesum_4343.db"
    dead.write_bytes(b""), alive.write_bytes(b"")
    counter = tmp_path / "counter_4242.db"
    counter.write_bytes(b"")

    metrics.gunicorn_child_exit(server=None, worker=SimpleNamespace(pid=4242))

    assert (dead.exists(), alive.exists(), counter.exists()) == (False, True, True)
