"""
Every request that reaches a SCIM view is recorded, whatever its body holds: a lone UTF-16
surrogate ("\\ud800") or a NUL byte (which PostgreSQL refuses in text) is stored as an escape.
A failure to record is logged, counted on the connection's health, and never changes the answer
or lets a guarded change through.
"""

import json
import logging

import pytest
from django.db import DatabaseError

from accounts.connections.services import connection_get_or_create
from accounts.models import WorkAccount
from provisioning_logs import services
from provisioning_logs.guard import HELD
from provisioning_logs.health import health_of
from provisioning_logs.health_summary import health_summary
from provisioning_logs.models import ConnectionHealth, ProvisioningEvent
from provisioning_logs.services import recording_failures_total
from provisioning_logs.storable import storable, storable_json, storable_text
from tests.conftest import entra_user


pytestmark = pytest.mark.django_db
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SURROGATE = "\ud800"
NUL = "\x00"


def last_event() -> ProvisioningEvent:
    return ProvisioningEvent.objects.order_by("-pk").first()


def disable_with(extra: dict) -> dict:
    return {
        "schemas": [PATCH_OP],
        "Operations": [{"op": "replace", "path": "active", "value": False}],
        **extra,
    }


def test_storable_text_escapes_nul_and_lone_surrogates_only():
    assert storable_text(f"a{NUL}b{SURROGATE}c\udfffé😀") == "a\\u0000b\\ud800c\\udfffé😀"


def test_storable_reaches_keys_and_nested_values():
    stored = storable({SURROGATE: [NUL, {"k": SURROGATE}], "n": 1})
    assert stored == {"\\ud800": ["\\u0000", {"k": "\\ud800"}], "n": 1}


@pytest.mark.parametrize(
    "value",
    [
        [{"name": "displayName", "old": "Ada", "new": "Ada Lovelace"}],
        [{"name": "title", "old": None, "new": ["é", "😀", 1, 1.5, True, None]}],
        [{"name": "note", "new": "a literal \\u0000 and \\ud800, not the characters"}],
        [{SURROGATE: [NUL, {"k": SURROGATE}], "n": 1}],
        [{"name": "x", "new": f"a{NUL}b\udfff 😀"}],
    ],
    ids=["plain", "beyond-bmp", "escaped-text", "unstorable-keys", "unstorable-values"],
)
def test_storable_json_is_the_json_round_trip_made_storable(value):
    assert storable_json(value) == storable(json.loads(json.dumps(value)))


def test_storable_json_writes_what_json_cannot_with_the_default():
    assert storable_json([{"new": {1, 2}}], default=sorted) == [{"new": [1, 2]}]


# Issue 12: a body holding a lone surrogate or NUL, even in a field we ignore, is refused with 400
# invalidValue (scim.json_body) and changes nothing; the refusal is recorded, its body escaped.


def test_a_create_with_a_lone_surrogate_in_an_ignored_field_is_refused_and_recorded(scim):
    answer = scim.post("/Users", entra_user("ada@contoso.com", ignoredNote=SURROGATE))
    assert answer.status_code == 400
    assert not WorkAccount.objects.filter(user_name="ada@contoso.com").exists()
    event = last_event()
    assert (event.action, event.status, event.http_status, event.identity, event.scim_type) == (
        "Create",
        "Failure",
        400,
        "",
        "invalidValue",
    )
    assert '"ignoredNote": "\\ud800"' in event.request_body  # still JSON, saying what was sent
    assert json.loads(event.request_body)["ignoredNote"] == SURROGATE


def test_a_disable_with_a_lone_surrogate_in_an_ignored_field_is_refused_and_recorded(scim, create_user):
    user = create_user("ada@contoso.com")
    assert scim.patch(f"/Users/{user['id']}", disable_with({"comment": SURROGATE})).status_code == 400
    assert WorkAccount.objects.get(pk=user["id"]).is_active
    event = last_event()
    assert (event.action, event.status, str(event.resource_id)) == ("Update", "Failure", user["id"])
    assert event.modified_properties == []


def test_a_create_with_a_nul_byte_in_an_ignored_field_is_refused_and_recorded(scim):
    answer = scim.post("/Users", entra_user("ada@contoso.com", ignoredNote=f"a{NUL}b"))
    assert answer.status_code == 400
    assert '"ignoredNote": "a\\u0000b"' in last_event().request_body


def test_a_disable_with_a_nul_byte_in_an_ignored_field_is_refused_and_recorded(scim, create_user):
    user = create_user("ada@contoso.com")
    assert scim.patch(f"/Users/{user['id']}", disable_with({"comment": NUL})).status_code == 400
    assert WorkAccount.objects.get(pk=user["id"]).is_active
    assert (last_event().action, last_event().status) == ("Update", "Failure")


@pytest.mark.parametrize("text", [SURROGATE, f"x{NUL}y"], ids=["surrogate", "nul"])
def test_unstorable_text_in_a_stored_attribute_is_recorded_with_the_answer_given(scim, create_user, text):
    user = create_user("ada@contoso.com")
    rename = {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "displayName", "value": text}]}
    answer = scim.patch(f"/Users/{user['id']}", rename)
    event = last_event()
    assert event.http_status == answer.status_code
    assert str(event.resource_id) == user["id"]
    assert storable_text(text) in event.request_body


def test_a_lone_surrogate_in_a_searched_username_is_refused_and_recorded(scim):
    search = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
        "filter": f'userName eq "{SURROGATE}"',
    }
    answer = scim.post("/Users/.search", search)
    event = last_event()
    assert (answer.status_code, event.http_status, event.status) == (400, 400, "Failure")
    assert "\\ud800" in event.request_body


# A failure to record ------------------------------------------------------------------------------


@pytest.fixture
def break_recording(monkeypatch):
    """Fault injection: the cycle count fails like a lost database connection would (no real fault
    can be made to hit exactly this statement of one request)."""

    def broken(*args, **kwargs):
        raise DatabaseError("server closed the connection unexpectedly")

    return lambda: monkeypatch.setattr(services, "_count", broken)


def test_a_failure_to_record_is_logged_counted_and_the_answer_stands(
    scim, create_user, break_recording, caplog
):
    user = create_user("ada@contoso.com")
    break_recording()
    connection = WorkAccount.objects.get(pk=user["id"]).organization.connections.get()
    caplog.set_level(logging.ERROR, logger="provisioning_logs.services")
    answer = scim.get(f"/Users/{user['id']}")
    assert answer.status_code == 200
    assert [record.getMessage() for record in caplog.records] == [
        f"Could not record the provisioning event of GET /scim/v2/Users/{user['id']}"
    ]
    health = ConnectionHealth.objects.get(connection=connection)
    assert health.recording_failures == 1
    assert health.last_recording_failure_at is not None
    assert recording_failures_total() == 1
    assert health_summary(connection).health.recording_failures == 1


def test_an_uncountable_failure_is_counted_in_the_process(scim, organization, monkeypatch):
    monkeypatch.setattr(services, "_uncounted_failures", 0)
    connection = organization.connections.get()

    def refuse(*args, **kwargs):
        raise DatabaseError("the database is gone")

    monkeypatch.setattr(services, "health_of", refuse)
    services.recording_failed(connection=connection)
    assert services._uncounted_failures == 1


def test_a_failure_to_record_never_lets_a_guarded_disable_through(
    scim, create_user, organization, break_recording
):
    users = [create_user(f"user{number}@contoso.com")["id"] for number in range(3)]
    break_recording()
    health = health_of(organization.connections.get())
    health.guard_count = 2
    health.save()
    disable = disable_with({})
    answers = [scim.patch(f"/Users/{user}", disable) for user in users]
    assert [answer.status_code for answer in answers] == [200, 200, 503]
    assert answers[2].body["detail"] == HELD.format(done=2, total=3, limit=2, organization="Contoso")
    assert WorkAccount.objects.get(pk=users[2]).is_active is True


def test_the_connection_page_shows_requests_that_could_not_be_recorded(admin_browser, organization):
    connection = connection_get_or_create(organization=organization)
    ConnectionHealth.objects.update_or_create(
        connection=connection, defaults={"organization": organization, "recording_failures": 3}
    )
    page = admin_browser.get(
        f"/admin/accounts/provisioningconnection/{connection.pk}/change/"
    ).content.decode()
    assert "3 requests could not be recorded in the provisioning log" in page
