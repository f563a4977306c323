"""
Concurrent requests opening a new provisioning cycle (PostgreSQL, separate connections in separate
threads): after the quiet gap, a burst of requests starts exactly one cycle and every request's
event is recorded; no deadlock between the cycle-start lock and the other requests' commits.
"""

import logging
import threading
from datetime import timedelta

import pytest
from django.db import connection as database
from django.utils import timezone

from provisioning_logs.models import ProvisioningCycle, ProvisioningEvent
from provisioning_logs.services import forget_running_cycles
from tests.conftest import ScimClient


pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
BURST = 12
ROUNDS = 4


def burst(token: str, round_number: int) -> list[int]:
    barrier = threading.Barrier(BURST)
    statuses = [None] * BURST

    def lookup(index):
        client = ScimClient(token)
        try:
            barrier.wait()
            path = f'/Users?filter=userName+eq+"r{round_number}-{index}@contoso.com"'
            statuses[index] = client.get(path).status_code
        finally:
            database.close()  # this thread's own connection

    threads = [threading.Thread(target=lookup, args=(index,)) for index in range(BURST)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return statuses


def test_a_burst_after_the_quiet_gap_opens_one_cycle_and_records_every_event(scim, settings, caplog):
    if database.vendor != "postgresql":
        pytest.skip("needs concurrent database connections: runs in the PostgreSQL pass")
    assert scim.get("/Users").status_code == 200  # the first cycle
    gap = timedelta(seconds=settings.PROVISIONING_CYCLE_GAP_SECONDS)
    caplog.set_level(logging.ERROR, logger="provisioning_logs")
    for round_number in range(ROUNDS):
        ProvisioningCycle.objects.update(
            started_at=timezone.now() - 2 * gap, last_event_at=timezone.now() - gap - timedelta(seconds=5)
        )
        forget_running_cycles()
        assert burst(scim.token, round_number) == [200] * BURST
        newest = ProvisioningCycle.objects.order_by("-pk").first()
        assert ProvisioningEvent.objects.filter(cycle=newest).count() == BURST
        assert (newest.count_lookup, newest.count_success) == (BURST, BURST)
    assert ProvisioningCycle.objects.count() == 1 + ROUNDS
    assert ProvisioningEvent.objects.count() == 1 + ROUNDS * BURST
    assert [record.getMessage() for record in caplog.records] == []
