"""
Two beats by mistake: every periodic job holds a lock in the real Redis while it runs
(config.beat), so the same job started twice at once runs once, the other run logs that it
skipped, and one digest reaches the (real) SMTP sink; a crashed run's lock expires.
"""

import logging
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connection as database

from config import beat
from provisioning_logs import tasks
from provisioning_logs.models import OutboxMessage
from provisioning_logs.notifications import notification_settings_save
from tests.provisioning_logs.smtp_sink import SmtpSink


pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parents[2]
UNKNOWN_ID = "5171a35d-8207-4e06-8ce2-000000000000"
PERIODIC = [entry["task"] for entry in django_settings.CELERY_BEAT_SCHEDULE.values()]


@pytest.fixture
def beat_lock(settings, monkeypatch, redis_url, redis_client):
    prefix = f"beat-lock:test-{uuid.uuid4().hex}:"
    monkeypatch.setattr(beat, "KEY_PREFIX", prefix)
    settings.REDIS_URL = redis_url
    yield prefix
    for key in redis_client.scan_iter(f"{prefix}*"):
        redis_client.delete(key)


@pytest.fixture
def sink(settings):
    with SmtpSink() as running:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = running.host, running.port
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
        yield running


@pytest.fixture
def failures_to_digest(scim, organization):
    notification_settings_save(
        connection=None,
        organization=organization,
        addresses="ops@contoso.com",
        send_on_failure=True,
        digest_interval_minutes=60,
    )
    for _ in range(3):
        assert scim.get(f"/Users/{UNKNOWN_ID}").status_code == 404


def in_thread(job):
    outcome = {}

    def run():
        try:
            outcome["result"] = job()
        finally:
            database.close()  # this thread's own connection

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


@pytest.mark.parametrize("name", PERIODIC)
def test_every_periodic_job_is_skipped_while_its_lock_is_held(beat_lock, name):
    from config import celery_app

    held = beat.JobLock(name, 60_000)
    assert held.acquire()
    try:
        assert celery_app.tasks[name].apply().get() is None
    finally:
        held.release()
    assert celery_app.tasks[name].apply().get() is not None  # and runs once it is free


def test_a_second_beat_skips_the_digest_job_while_the_first_runs(beat_lock, sink, failures_to_digest, caplog):
    caplog.set_level(logging.INFO, logger="config.beat")
    sink.set(delay=2.0)  # the first run is still sending when the second beat's run starts
    first, outcome = in_thread(tasks.check_connection_health)
    assert sink.data_started.wait(30)

    second = tasks.check_connection_health()

    first.join(60)
    assert second is None
    assert outcome["result"]["digests"] == 1
    assert [message.subject for message in sink.wait_for(1, timeout=10)] == [
        "[Work Accounts] Contoso · Microsoft Entra ID: 3 new provisioning failures"
    ]
    assert OutboxMessage.objects.filter(kind="failure_digest").count() == 1
    assert [r.getMessage() for r in caplog.records if r.name == "config.beat"] == [
        f"Periodic job provisioning_logs.health_tick skipped: another run holds its lock "
        f"({beat_lock}provisioning_logs.health_tick)"
    ]


def test_two_beats_started_together_send_one_digest(beat_lock, sink, failures_to_digest):
    barrier = threading.Barrier(2)

    def job():
        barrier.wait()
        return tasks.check_connection_health()

    runs = [in_thread(job) for _ in range(2)]
    for thread, _ in runs:
        thread.join(60)

    time.sleep(0.5)  # a second digest, if any, would have been sent by now
    assert len(sink.messages) == 1
    assert OutboxMessage.objects.filter(kind="failure_digest").count() == 1
    digests = [outcome["result"]["digests"] for _, outcome in runs if outcome["result"] is not None]
    assert sorted(digests) in ([1], [0, 1])  # the other run skipped, or ran after and found it sent


CRASHING_RUN = """
import os, sys
from django.conf import settings
settings.configure(REDIS_URL=sys.argv[3])
from config import beat
beat.KEY_PREFIX = sys.argv[1]
assert beat.JobLock("provisioning_logs.health_tick", int(sys.argv[2])).acquire()
os._exit(1)  # dies holding the lock, never releasing it
"""


def test_a_lock_left_by_a_crashed_run_expires(beat_lock, redis_url, sink, failures_to_digest):
    crashed = subprocess.run(
        [sys.executable, "-c", CRASHING_RUN, beat_lock, "3000", redis_url], cwd=ROOT, timeout=120
    )
    assert crashed.returncode == 1

    assert tasks.check_connection_health() is None  # still held by the dead run
    deadline = time.monotonic() + 10
    while beat.JobLock("provisioning_logs.health_tick", 1).acquire() is False:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    beat._redis().delete(f"{beat_lock}provisioning_logs.health_tick")  # the probe's own lock

    assert tasks.check_connection_health()["digests"] == 1
    assert len(sink.wait_for(1, timeout=10)) == 1


def test_a_run_releases_only_its_own_lock(beat_lock):
    mine = beat.JobLock("job", 60_000)
    theirs = beat.JobLock("job", 60_000)
    assert mine.acquire()
    assert not theirs.acquire()

    theirs.release()  # not the holder: nothing happens

    assert not beat.JobLock("job", 60_000).acquire()
    mine.release()
    assert beat.JobLock("job", 60_000).acquire()
