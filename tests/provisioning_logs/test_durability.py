"""
The delivery promise on PostgreSQL: the log transaction commits without waiting for the disk
(synchronous_commit off) only while it writes nothing but the event and its counters; once it
records a health transition or an outbox row, it commits synchronously, so neither is lost in a
database crash. Real transactions (no test transaction around them), read with SHOW inside them.
"""

import pytest
from django.db import connection as database

from provisioning_logs.models import ConnectionHealth, HealthState, OutboxMessage


pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
DISABLE = {
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [{"op": "replace", "path": "active", "value": False}],
}
WATCHED = {
    '"provisioning_logs_provisioningevent"': "event",
    '"provisioning_logs_healthtransition"': "transition",
    '"provisioning_logs_outboxmessage"': "outbox",
}


@pytest.fixture
def synchronous_commit_at_inserts():
    """[(what was inserted, synchronous_commit in force in its transaction then)], as a context."""
    if database.vendor != "postgresql":
        pytest.skip("synchronous_commit is a PostgreSQL setting")
    seen = []

    def wrapper(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        inserted = next(
            (name for table, name in WATCHED.items() if sql.startswith(f"INSERT INTO {table}")), None
        )
        if inserted is not None:
            with context["connection"].cursor() as cursor:
                cursor.execute("SHOW synchronous_commit")
                seen.append((inserted, cursor.fetchone()[0]))
        return result

    class Watch:
        def __enter__(self):
            self.installed = database.execute_wrapper(wrapper)
            self.installed.__enter__()
            return seen

        def __exit__(self, *exc):
            return self.installed.__exit__(*exc)

    return Watch()


def test_an_ordinary_event_commits_without_waiting_for_the_disk(scim, synchronous_commit_at_inserts):
    with synchronous_commit_at_inserts as seen:
        assert scim.get("/Users").status_code == 200
    assert seen == [("event", "off")]


def test_a_quarantine_transition_and_its_mail_commit_synchronously(
    settings, scim, revoked, notified, synchronous_commit_at_inserts
):
    settings.QUARANTINE_CREDENTIAL_FAILURES = 2
    with synchronous_commit_at_inserts as seen:
        assert [revoked.get("/Users").status_code for _ in range(2)] == [401, 401]
    assert ConnectionHealth.objects.get().state == HealthState.QUARANTINED
    assert seen == [("event", "off"), ("event", "off"), ("transition", "on"), ("outbox", "on")]
    assert OutboxMessage.objects.get().kind == "quarantine_entered"


def test_the_end_of_a_quarantine_and_its_mail_commit_synchronously(
    settings, scim, revoked, notified, synchronous_commit_at_inserts
):
    settings.QUARANTINE_CREDENTIAL_FAILURES = 1
    assert revoked.get("/Users").status_code == 401
    with synchronous_commit_at_inserts as seen:
        assert scim.get("/Users").status_code == 200
    assert ConnectionHealth.objects.get().state == HealthState.HEALTHY
    assert seen == [("event", "off"), ("transition", "on"), ("outbox", "on")]


def test_the_held_deprovisioning_mail_commits_synchronously(
    scim, create_user, organization, notified, synchronous_commit_at_inserts
):
    from provisioning_logs.health import health_of

    users = [create_user(f"user{number}@contoso.com")["id"] for number in range(2)]
    health = health_of(organization.connections.get())
    health.guard_count = 1
    health.save()
    assert scim.patch(f"/Users/{users[0]}", DISABLE).status_code == 200
    with synchronous_commit_at_inserts as seen:
        assert scim.patch(f"/Users/{users[1]}", DISABLE).status_code == 503
    assert seen == [("outbox", "on"), ("event", "off")]
