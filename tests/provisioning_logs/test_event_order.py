"""
One organization's events become visible in id order (PostgreSQL's advisory lock in
event_record): the audit API's cursor is a keyset on the id, so an event must never commit after
a larger id of its organization was already readable. Threads with their own database
connections stand in for two gunicorn workers recording at the same moment.
"""

import threading

import pytest
from django.db import connection as database
from django.db import connections, transaction

from accounts.connections.services import connection_get_or_create
from provisioning_logs.models import ProvisioningEvent
from provisioning_logs.services import EventRecord, event_record


pytestmark = pytest.mark.django_db(transaction=True)
WAIT_S = 10
# Long enough for an unblocked recording to finish on a busy machine.
BLOCKED_FOR_S = 1.5


@pytest.fixture(autouse=True)
def _postgresql_only():
    if database.vendor != "postgresql":
        pytest.skip("SQLite has one writer at a time (BEGIN IMMEDIATE): nothing to order")


def _record(connection) -> int:
    event = event_record(
        EventRecord(
            organization=connection.organization,
            connection=connection,
            method="GET",
            path="/scim/v2/Users",
            http_status=200,
        )
    )
    assert event is not None
    return event.pk


class UncommittedEvent:
    """A thread that records an event inside a transaction and keeps it open until released."""

    def __init__(self, connection):
        self.connection = connection
        self.recorded = threading.Event()
        self.release = threading.Event()
        self.event_id = None
        self.thread = threading.Thread(target=self._run)

    def _run(self):
        try:
            with transaction.atomic():
                self.event_id = _record(self.connection)
                self.recorded.set()
                self.release.wait(WAIT_S)
        finally:
            connections.close_all()

    def __enter__(self):
        self.thread.start()
        assert self.recorded.wait(WAIT_S)
        return self

    def __exit__(self, *exc):
        self.release.set()
        self.thread.join(WAIT_S)


def _record_in_thread(connection) -> tuple[threading.Thread, list]:
    ids = []

    def run():
        try:
            ids.append(_record(connection))
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, ids


def test_an_event_of_the_same_organization_waits_for_the_uncommitted_one_before_it(organization):
    first_connection = connection_get_or_create(organization=organization, name="Entra production")
    # Another connection: it shares no cycle or health row with the first, only the organization.
    second_connection = connection_get_or_create(organization=organization, name="Entra staging")
    # Both cycles are running already (opening one locks more than the organization's events).
    earlier = [_record(first_connection), _record(second_connection)]

    with UncommittedEvent(first_connection) as first:
        second, second_ids = _record_in_thread(second_connection)
        second.join(BLOCKED_FOR_S)
        assert second.is_alive(), "the second event was recorded while the first was uncommitted"
    second.join(WAIT_S)

    assert second_ids and second_ids[0] > first.event_id
    assert list(ProvisioningEvent.objects.order_by("pk").values_list("pk", "connection")) == [
        (earlier[0], first_connection.pk),
        (earlier[1], second_connection.pk),
        (first.event_id, first_connection.pk),
        (second_ids[0], second_connection.pk),
    ]


def test_another_organizations_events_do_not_wait(organization, other_organization):
    ours = connection_get_or_create(organization=organization)
    theirs = connection_get_or_create(organization=other_organization)
    _record(ours)
    _record(theirs)

    with UncommittedEvent(ours):
        other, other_ids = _record_in_thread(theirs)
        other.join(WAIT_S)
        assert not other.is_alive()
        assert len(other_ids) == 1
