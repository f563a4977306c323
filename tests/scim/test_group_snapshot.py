"""
Group GET with members (issue 12, "Delivery promise"): the members stream from one snapshot on
PostgreSQL, and the request is recorded once the answer is out: as a failure if it broke off.
"""

import json
import threading

import pytest
from django.core.signals import request_finished
from django.db import DatabaseError, close_old_connections, connection
from django.test import Client

from accounts.models import GroupMembership
from provisioning_logs.models import ProvisioningEvent
from scim.events import STREAM_CUT, STREAM_FAILED
from scim.groups import snapshot
from tests.scim.group_support import member, members_in_id_order, patch


def last_event() -> ProvisioningEvent:
    return ProvisioningEvent.objects.order_by("-pk").first()


def close(response) -> None:
    """Close the answer as the server does, keeping the test's database connection (as Django's
    test client does when it closes a response)."""
    request_finished.disconnect(close_old_connections)
    try:
        response.close()
    finally:
        request_finished.connect(close_old_connections)


@pytest.fixture
def group(scim) -> dict:
    return scim.post("/Groups", {"displayName": "Snapshot"}).body


def stream(scim, group_id: str):
    """The group GET's answer, not yet read."""
    response = Client().get(f"/scim/v2/Groups/{group_id}", headers={"Authorization": f"Bearer {scim.token}"})
    assert response.streaming
    return response, iter(response.streaming_content)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_members_committed_between_pages_do_not_change_the_list_being_streamed(
    scim, group, alice, bob, carol, monkeypatch
):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only: SQLite keeps plain keyset pages (scim.groups.snapshot)")
    monkeypatch.setattr(snapshot, "MEMBER_PAGE_SIZE", 1)
    assert (
        patch(
            scim,
            group["id"],
            {
                "op": "add",
                "path": "members",
                "value": [member(alice, "alice@contoso.com"), member(bob, "bob@contoso.com")],
            },
        ).status_code
        == 204
    )
    response, chunks = stream(scim, group["id"])
    body = [next(chunks), next(chunks)]  # the group, then the first page (one member)

    def change_membership():  # another request, on its own connection, commits meanwhile
        GroupMembership.objects.filter(group_id=group["id"]).delete()
        answer = patch(
            scim, group["id"], {"op": "add", "path": "members", "value": [member(carol, "carol@contoso.com")]}
        )
        assert answer.status_code == 204
        connection.close()

    writer = threading.Thread(target=change_membership)
    writer.start()
    writer.join()
    body.extend(chunks)
    close(response)
    members = sorted(m["value"] for m in json.loads(b"".join(body))["members"])
    assert members == sorted([alice, bob])


@pytest.mark.django_db
def test_a_complete_group_get_is_recorded_as_a_success_after_the_stream(scim, staffed):
    response = scim.get(f"/Groups/{staffed['id']}")
    assert response.status_code == 200
    event = last_event()
    assert (event.action, event.status, event.http_status, str(event.resource_id)) == (
        "Lookup",
        "Success",
        200,
        staffed["id"],
    )


@pytest.mark.django_db
def test_a_failure_mid_stream_is_recorded_as_a_failure(scim, staffed, monkeypatch):
    """Fault injection: the database fails between two member pages (no real fault can be timed
    to land there)."""

    def failing_pages(*, group_id, page_size):
        rows = GroupMembership.objects.filter(group_id=group_id).values_list(
            "account_id", "account__user_name"
        )
        yield list(rows[:1])
        raise DatabaseError("server closed the connection unexpectedly")

    monkeypatch.setattr(snapshot, "group_member_pages", failing_pages)
    response, chunks = stream(scim, staffed["id"])
    with pytest.raises(DatabaseError):
        list(chunks)
    close(response)
    event = last_event()
    assert (event.status, event.http_status, event.detail) == (
        "Failure",
        500,
        STREAM_FAILED.format(error="DatabaseError"),
    )


@pytest.mark.django_db
def test_an_answer_the_client_stopped_reading_is_recorded_as_cut(scim, staffed):
    response, chunks = stream(scim, staffed["id"])
    next(chunks)
    response._iterator.close()  # the server stops iterating the answer (a client gone)
    event = last_event()
    assert (event.status, event.http_status, event.detail) == ("Failure", 500, STREAM_CUT)


@pytest.mark.django_db
def test_an_answer_closed_unread_is_recorded_once(scim, staffed):
    before = ProvisioningEvent.objects.count()
    response, _ = stream(scim, staffed["id"])
    close(response)
    assert ProvisioningEvent.objects.count() == before + 1
    assert last_event().detail == STREAM_CUT


def test_a_member_of_several_groups_is_listed_once_on_every_page(scim, alice, bob, carol, monkeypatch):
    # Pages after the first join the accounts with the keyset on both sides (accounts.selectors):
    # joined twice, every member would appear once per group it is in.
    monkeypatch.setattr(snapshot, "MEMBER_PAGE_SIZE", 2)
    members = [{"value": account} for account in (alice, bob, carol)]
    first = scim.post("/Groups", {"displayName": "First", "members": members})
    assert scim.post("/Groups", {"displayName": "Second", "members": members}).status_code == 201

    response = scim.get(f"/Groups/{first.body['id']}")

    assert response.status_code == 200
    assert response.body["members"] == members_in_id_order(
        (alice, "alice@contoso.com"), (bob, "bob@contoso.com"), (carol, "carol@contoso.com")
    )
