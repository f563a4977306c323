"""
What one SCIM request records in the provisioning log, through real requests shaped like Entra's
(entra-scim.md): action, status, identity, error, modified properties, request id and duration.
Failures are recorded although they rolled back, and recording never changes the answer.
"""

import logging
import uuid
from datetime import timedelta

import pytest
from django.db import connection as database
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.connections.models import ProvisioningConnection, ScimSecretToken
from accounts.connections.services import scim_token_create, scim_token_revoke
from accounts.models import WorkAccount
from provisioning_logs.models import ProvisioningCycle, ProvisioningEvent
from provisioning_logs.services import (
    EVENT_ORDER_LOCK,
    START_LOG_TRANSACTION,
    forget_running_cycles,
)
from tests.conftest import ScimClient, entra_user
from tests.scim.group_support import GROUP, PATCH_OP, entra_group


pytestmark = pytest.mark.django_db

TEST_GUID = "cf4d78e8-cc4f-4d5d-b8b9-183561c0104a"
EXTERNAL_ID = "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"  # entra_user()'s externalId
GROUP_EXTERNAL_ID = "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159"  # entra_group()'s externalId
UNKNOWN_ID = "5171a35d-8207-4e06-8ce2-000000000000"
INVALID_TOKEN = "The bearer token is not valid: it is unknown, expired or revoked."
CONNECTION_DISABLED = "This provisioning connection is disabled; an organization admin can enable it."


def last_event() -> ProvisioningEvent:
    return ProvisioningEvent.objects.order_by("id").last()


def summary(event: ProvisioningEvent) -> dict:
    """The fields an admin reads in the log, with the id as the string the SCIM body shows."""
    return {
        "method": event.method,
        "path": event.path,
        "resource_type": event.resource_type,
        "action": event.action,
        "status": event.status,
        "http_status": event.http_status,
        "resource_id": str(event.resource_id) if event.resource_id else None,
        "external_id": event.external_id,
        "identity": event.identity,
        "scim_type": event.scim_type,
        "detail": event.detail,
        "modified_properties": event.modified_properties,
    }


def patch_user(scim, user_id: str, *operations, headers=None):
    body = {"schemas": [PATCH_OP], "Operations": list(operations)}
    return scim.patch(f"/Users/{user_id}", body, headers=headers)


def patch_group(scim, group_id: str, *operations):
    return scim.patch(f"/Groups/{group_id}", {"schemas": [PATCH_OP], "Operations": list(operations)})


@pytest.fixture
def alice(create_user) -> dict:
    return create_user("alice@contoso.com", displayName="Alice Adams")


@pytest.fixture
def connection(organization, scim) -> ProvisioningConnection:
    return ProvisioningConnection.objects.get(organization=organization)


# What each request records ------------------------------------------------------------------------


def test_test_connection_records_a_user_lookup_of_the_guid(scim, organization, connection):
    path = f"/scim/v2/Users?filter=userName+eq+%22{TEST_GUID}%22"
    response = scim.get(path)
    assert response.status_code == 200
    assert response.body["totalResults"] == 0
    event = last_event()
    assert summary(event) == {
        "method": "GET",
        "path": path,
        "resource_type": "User",
        "action": "Lookup",
        "status": "Success",
        "http_status": 200,
        "resource_id": None,
        "external_id": "",
        "identity": TEST_GUID,
        "scim_type": "",
        "detail": "",
        "modified_properties": [],
    }
    assert (event.organization, event.connection) == (organization, connection)
    assert event.credential == "secret token entra"
    assert event.request_body == ""


def test_lookup_with_unencoded_quotes_records_the_looked_up_value(scim):
    # Older Entra traffic sends the quotes unencoded (entra-scim.md §1.2).
    assert scim.get(f'/Users?filter=userName+eq+"{TEST_GUID}"').status_code == 200
    assert (last_event().action, last_event().identity) == ("Lookup", TEST_GUID)


def test_create_user_records_create_with_scim_property_names(scim):
    response = scim.post("/Users", entra_user("alice@contoso.com"))
    assert response.status_code == 201
    assert summary(last_event()) == {
        "method": "POST",
        "path": "/scim/v2/Users",
        "resource_type": "User",
        "action": "Create",
        "status": "Success",
        "http_status": 201,
        "resource_id": response.body["id"],
        "external_id": EXTERNAL_ID,
        "identity": "alice@contoso.com",
        "scim_type": "",
        "detail": "",
        "modified_properties": [
            {"name": "userName", "old": None, "new": "alice@contoso.com"},
            {"name": "active", "old": None, "new": True},
            {"name": "externalId", "old": None, "new": EXTERNAL_ID},
            {"name": "name.formatted", "old": None, "new": "givenName familyName"},
            {"name": "name.familyName", "old": None, "new": "familyName"},
            {"name": "name.givenName", "old": None, "new": "givenName"},
            {
                "name": "emails",
                "old": None,
                "new": [{"value": "alice@contoso.com", "type": "work", "primary": True}],
            },
        ],
    }


def test_patch_active_legacy_false_string_records_disable(scim, alice):
    response = patch_user(scim, alice["id"], {"op": "Replace", "path": "active", "value": "False"})
    assert response.status_code == 200
    assert summary(last_event()) == {
        "method": "PATCH",
        "path": f"/scim/v2/Users/{alice['id']}",
        "resource_type": "User",
        "action": "Disable",
        "status": "Success",
        "http_status": 200,
        "resource_id": alice["id"],
        "external_id": EXTERNAL_ID,
        "identity": "alice@contoso.com",
        "scim_type": "",
        "detail": "",
        "modified_properties": [{"name": "active", "old": True, "new": False}],
    }


def test_patch_active_true_records_enable(scim, alice):
    patch_user(scim, alice["id"], {"op": "Replace", "path": "active", "value": "False"})
    response = patch_user(scim, alice["id"], {"op": "Replace", "path": "active", "value": True})
    assert response.status_code == 200
    event = last_event()
    assert (event.action, event.status, event.http_status) == ("Enable", "Success", 200)
    assert event.modified_properties == [{"name": "active", "old": False, "new": True}]


def test_patch_display_name_records_update_with_old_and_new(scim, alice):
    response = patch_user(scim, alice["id"], {"op": "Replace", "path": "displayName", "value": "Alice Brown"})
    assert response.status_code == 200
    assert summary(last_event()) == {
        "method": "PATCH",
        "path": f"/scim/v2/Users/{alice['id']}",
        "resource_type": "User",
        "action": "Update",
        "status": "Success",
        "http_status": 200,
        "resource_id": alice["id"],
        "external_id": EXTERNAL_ID,
        "identity": "alice@contoso.com",
        "scim_type": "",
        "detail": "",
        "modified_properties": [{"name": "displayName", "old": "Alice Adams", "new": "Alice Brown"}],
    }


def test_patch_that_changes_nothing_records_other_skipped(scim, alice):
    response = patch_user(scim, alice["id"], {"op": "Replace", "path": "displayName", "value": "Alice Adams"})
    assert response.status_code == 200
    event = last_event()
    assert (event.action, event.status, event.http_status) == ("Other", "Skipped", 200)
    assert event.detail == "No change needed: the resource already had these values."
    assert event.modified_properties == []
    assert (str(event.resource_id), event.identity) == (alice["id"], "alice@contoso.com")


def test_delete_user_records_delete(scim, alice):
    assert scim.delete(f"/Users/{alice['id']}").status_code == 204
    assert summary(last_event()) == {
        "method": "DELETE",
        "path": f"/scim/v2/Users/{alice['id']}",
        "resource_type": "User",
        "action": "Delete",
        "status": "Success",
        "http_status": 204,
        "resource_id": alice["id"],
        "external_id": EXTERNAL_ID,
        "identity": "alice@contoso.com",
        "scim_type": "",
        "detail": "",
        "modified_properties": [],
    }


def test_get_user_by_id_records_lookup_of_that_user(scim, alice):
    assert scim.get(f"/Users/{alice['id']}").status_code == 200
    event = last_event()
    assert (event.action, event.status, str(event.resource_id), event.identity) == (
        "Lookup",
        "Success",
        alice["id"],
        "alice@contoso.com",
    )


def test_group_lookup_by_display_name_records_group_lookup(scim):
    path = "/scim/v2/Groups?excludedAttributes=members&filter=displayName+eq+%22Engineering%22"
    assert scim.get(path).status_code == 200
    assert summary(last_event()) == {
        "method": "GET",
        "path": path,
        "resource_type": "Group",
        "action": "Lookup",
        "status": "Success",
        "http_status": 200,
        "resource_id": None,
        "external_id": "",
        "identity": "Engineering",
        "scim_type": "",
        "detail": "",
        "modified_properties": [],
    }


def test_create_group_records_create_group(scim):
    response = scim.post("/Groups", entra_group("Engineering"))
    assert response.status_code == 201
    assert summary(last_event()) == {
        "method": "POST",
        "path": "/scim/v2/Groups",
        "resource_type": "Group",
        "action": "Create",
        "status": "Success",
        "http_status": 201,
        "resource_id": response.body["id"],
        "external_id": GROUP_EXTERNAL_ID,
        "identity": "Engineering",
        "scim_type": "",
        "detail": "",
        "modified_properties": [
            {"name": "displayName", "old": None, "new": "Engineering"},
            {"name": "externalId", "old": None, "new": GROUP_EXTERNAL_ID},
        ],
    }


def test_create_group_with_members_records_a_members_property(scim, alice):
    body = {"schemas": [GROUP], "displayName": "Engineering", "members": [{"value": alice["id"]}]}
    assert scim.post("/Groups", body).status_code == 201
    assert last_event().modified_properties == [
        {"name": "displayName", "old": None, "new": "Engineering"},
        {"name": "members", "old": None, "new": "+ Alice Adams"},
    ]


def test_member_add_patch_records_group_update_with_members(scim, alice):
    group = scim.post("/Groups", entra_group("Engineering")).body
    response = patch_group(
        scim, group["id"], {"op": "Add", "path": "members", "value": [{"$ref": None, "value": alice["id"]}]}
    )
    assert response.status_code == 204
    assert summary(last_event()) == {
        "method": "PATCH",
        "path": f"/scim/v2/Groups/{group['id']}",
        "resource_type": "Group",
        "action": "Update",
        "status": "Success",
        "http_status": 204,
        "resource_id": group["id"],
        "external_id": GROUP_EXTERNAL_ID,
        "identity": "Engineering",
        "scim_type": "",
        "detail": "",
        "modified_properties": [{"name": "members", "old": None, "new": "+ Alice Adams"}],
    }


def test_discovery_records_other_without_resource_type(scim):
    assert scim.get("/ServiceProviderConfig").status_code == 200
    assert summary(last_event()) == {
        "method": "GET",
        "path": "/scim/v2/ServiceProviderConfig",
        "resource_type": "",
        "action": "Other",
        "status": "Success",
        "http_status": 200,
        "resource_id": None,
        "external_id": "",
        "identity": "",
        "scim_type": "",
        "detail": "",
        "modified_properties": [],
    }


# Failures -----------------------------------------------------------------------------------------


def test_duplicate_user_name_records_409_uniqueness(scim, alice):
    response = scim.post("/Users", entra_user("ALICE@contoso.com"))
    assert response.status_code == 409
    assert summary(last_event()) == {
        "method": "POST",
        "path": "/scim/v2/Users",
        "resource_type": "User",
        "action": "Create",
        "status": "Failure",
        "http_status": 409,
        "resource_id": None,
        "external_id": EXTERNAL_ID,
        "identity": "ALICE@contoso.com",
        "scim_type": "uniqueness",
        "detail": "userName 'ALICE@contoso.com' is already taken in this organization.",
        "modified_properties": [],
    }
    assert last_event().detail == response.body["detail"]


def test_invalid_value_records_400_invalid_value(scim, alice):
    response = patch_user(scim, alice["id"], {"op": "Replace", "path": "active", "value": "maybe"})
    assert response.status_code == 400
    event = last_event()
    assert (event.action, event.status, event.http_status, event.scim_type) == (
        "Update",
        "Failure",
        400,
        "invalidValue",
    )
    assert event.detail == "'active' must be true or false, not 'maybe'."
    assert str(event.resource_id) == alice["id"]


def test_body_that_is_not_json_records_400_invalid_syntax(scim):
    response = scim.post("/Users", raw=b"{not json")
    assert response.status_code == 400
    assert summary(last_event()) == {
        "method": "POST",
        "path": "/scim/v2/Users",
        "resource_type": "User",
        "action": "Create",
        "status": "Failure",
        "http_status": 400,
        "resource_id": None,
        "external_id": "",
        "identity": "",
        "scim_type": "invalidSyntax",
        "detail": response.body["detail"],
        "modified_properties": [],
    }
    assert last_event().detail.startswith("The request body is not valid JSON: ")
    assert last_event().request_body == "[9 bytes, not JSON]"


def test_bad_filter_records_400_invalid_filter(scim):
    response = scim.get("/Users?filter=userName+zz+%22x%22")
    assert response.status_code == 400
    event = last_event()
    assert (event.action, event.resource_type, event.status, event.http_status, event.scim_type) == (
        "Lookup",
        "User",
        "Failure",
        400,
        "invalidFilter",
    )
    assert event.detail == "The filter is not valid SCIM filter syntax: unexpected 'zz'."


@pytest.mark.parametrize(
    ("method", "action"),
    [("GET", "Lookup"), ("PATCH", "Update"), ("PUT", "Update"), ("DELETE", "Delete")],
)
def test_unknown_id_records_404_with_the_id(scim, method, action):
    body = {
        "PATCH": {"schemas": [PATCH_OP], "Operations": [{"op": "Replace", "path": "active", "value": False}]},
        "PUT": entra_user("alice@contoso.com"),
    }.get(method)
    response = scim.request(method, f"/Users/{UNKNOWN_ID}", body)
    assert response.status_code == 404
    event = last_event()
    assert (event.action, event.status, event.http_status, str(event.resource_id)) == (
        action,
        "Failure",
        404,
        UNKNOWN_ID,
    )
    assert event.detail == f"Resource {UNKNOWN_ID} not found"


def test_if_match_mismatch_records_412(scim, alice):
    response = patch_user(
        scim,
        alice["id"],
        {"op": "Replace", "path": "displayName", "value": "Alice Brown"},
        headers={"If-Match": 'W/"0"'},
    )
    assert response.status_code == 412
    event = last_event()
    assert (event.action, event.status, event.http_status, str(event.resource_id)) == (
        "Update",
        "Failure",
        412,
        alice["id"],
    )
    assert event.detail == response.body["detail"] == 'The resource has changed: its version is W/"1".'
    assert event.modified_properties == []


def test_oversized_body_records_413(scim, settings):
    settings.SCIM_MAX_BODY_BYTES = 1000
    body = entra_user("alice@contoso.com", displayName="x" * 2000)
    response = scim.post("/Users", body)
    assert response.status_code == 413
    event = last_event()
    # Refused on its declared size before the view ran: no action was attempted.
    assert (event.resource_type, event.action, event.status, event.http_status, event.scim_type) == (
        "User",
        "Other",
        "Failure",
        413,
        "",
    )
    assert event.detail == "The request body is larger than 1000 bytes."
    assert not WorkAccount.objects.filter(user_name="alice@contoso.com").exists()


def test_expired_secret_token_is_recorded_on_its_connection(organization, connection):
    issued = scim_token_create(organization=organization, label="short", expires_days=1)
    ScimSecretToken.objects.filter(pk=issued.token.pk).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    response = ScimClient(issued.secret).get("/Users")
    assert response.status_code == 401
    event = last_event()
    assert (event.connection, event.organization) == (connection, organization)
    assert (event.status, event.http_status, event.detail) == ("Failure", 401, INVALID_TOKEN)


def test_revoked_secret_token_is_recorded_on_its_connection(scim, organization, connection):
    scim_token_revoke(organization=organization, label="entra")
    assert scim.get("/Users").status_code == 401
    event = last_event()
    assert event.connection == connection
    assert (event.status, event.http_status, event.detail, event.credential) == (
        "Failure",
        401,
        INVALID_TOKEN,
        "",
    )


@pytest.mark.parametrize("token", ["wat_nobody-issued-this", "not-one-of-ours", None])
def test_bearer_nobody_issued_records_nothing(db, organization, token):
    assert ScimClient(token).get("/Users").status_code == 401
    assert not ProvisioningEvent.objects.exists()
    assert not ProvisioningCycle.objects.exists()


def test_turned_off_connection_403_is_recorded(scim, organization, connection):
    ProvisioningConnection.objects.filter(pk=connection.pk).update(enabled=False)
    assert scim.get("/Users").status_code == 403
    event = last_event()
    assert event.connection == connection
    assert (event.status, event.http_status, event.detail) == ("Failure", 403, CONNECTION_DISABLED)


def test_failed_patch_rolls_back_and_is_recorded(scim, alice):
    response = patch_user(
        scim,
        alice["id"],
        {"op": "Replace", "path": "displayName", "value": "Alice Brown"},
        {"op": "Replace", "path": "active", "value": "maybe"},
    )
    assert response.status_code == 400
    assert WorkAccount.objects.get(pk=alice["id"]).display_name == "Alice Adams"
    assert scim.get(f"/Users/{alice['id']}").body["displayName"] == "Alice Adams"
    failed = ProvisioningEvent.objects.get(method="PATCH")
    assert (failed.action, failed.status, failed.http_status, failed.scim_type) == (
        "Update",
        "Failure",
        400,
        "invalidValue",
    )
    assert failed.modified_properties == []


# Recording never breaks the answer ----------------------------------------------------------------


def comparable(response) -> tuple:
    body = dict(response.body or {})
    for volatile in ("id", "meta"):
        body.pop(volatile, None)
    return response.status_code, response["Content-Type"], body


def refuse_writes(monkeypatch) -> None:
    """
    Make the event insert fail. No request a client can send makes the database refuse it (every
    field is bounded before it is written), so the failure has to be faked.
    """

    def refuse(*args, **kwargs):
        raise RuntimeError("the log's database refused the write")

    monkeypatch.setattr(ProvisioningEvent.objects, "create", refuse)


@pytest.fixture
def broken_log(monkeypatch):
    refuse_writes(monkeypatch)


def test_recording_failure_leaves_a_success_unchanged(scim, other_scim, monkeypatch, caplog):
    # The same request to another organization, recorded normally, gives the reference answer.
    reference = other_scim.post("/Users", entra_user("alice@contoso.com"))
    refuse_writes(monkeypatch)
    with caplog.at_level(logging.ERROR, logger="provisioning_logs.services"):
        response = scim.post("/Users", entra_user("alice@contoso.com"))
    assert comparable(response) == comparable(reference)
    assert response.status_code == 201
    assert WorkAccount.objects.filter(pk=response.body["id"]).exists()
    assert ProvisioningEvent.objects.get().organization.slug == "fabrikam"
    assert "Could not record the provisioning event of POST /scim/v2/Users" in caplog.text


def test_recording_failure_leaves_an_error_unchanged(scim, alice, broken_log):
    response = scim.post("/Users", entra_user("alice@contoso.com"))
    assert response.status_code == 409
    assert response.body == {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
        "status": "409",
        "scimType": "uniqueness",
        "detail": "userName 'alice@contoso.com' is already taken in this organization.",
    }


def test_recording_failure_writes_no_event_and_no_cycle(scim, broken_log):
    assert scim.get(f"/Users?filter=userName+eq+%22{TEST_GUID}%22").status_code == 200
    # The cycle was created in the event's transaction, which rolled back with it.
    assert not ProvisioningEvent.objects.exists()
    assert not ProvisioningCycle.objects.exists()


def test_request_after_a_recording_failure_is_recorded_in_a_stored_cycle(scim, monkeypatch):
    refuse_writes(monkeypatch)
    scim.get(f"/Users?filter=userName+eq+%22{TEST_GUID}%22")
    monkeypatch.undo()
    scim.get(f"/Users?filter=userName+eq+%22{TEST_GUID}%22")
    event = ProvisioningEvent.objects.get()
    # The rolled-back cycle is not reused from the process cache.
    assert event.cycle == ProvisioningCycle.objects.get()
    assert (event.cycle.count_lookup, event.cycle.count_success) == (1, 1)


# Request id and duration --------------------------------------------------------------------------


def test_client_request_id_entra_sends_is_stored(scim):
    request_id = str(uuid.uuid4())
    response = scim.get("/Users", headers={"client-request-id": request_id})
    assert response["client-request-id"] == request_id
    assert last_event().request_id == request_id


def test_request_without_client_request_id_stores_the_id_it_was_answered_with(scim):
    response = scim.get("/Users")
    assert last_event().request_id == response["client-request-id"]
    assert uuid.UUID(last_event().request_id)


def test_unsafe_client_request_id_is_replaced_not_stored(scim):
    response = scim.get("/Users", headers={"client-request-id": "x\ny" * 10})
    assert last_event().request_id == response["client-request-id"]
    assert uuid.UUID(last_event().request_id)


def test_duration_is_recorded(scim, alice):
    event = ProvisioningEvent.objects.get(method="POST")
    assert isinstance(event.duration_ms, int)
    assert event.duration_ms >= 0


def test_secret_token_credential_is_named_by_its_label(scim):
    scim.get("/Users")
    assert last_event().credential == "secret token entra"


# Cost ---------------------------------------------------------------------------------------------

# Savepoints appear only because each test runs inside a transaction (event_record's atomic then
# nests); in production they are one BEGIN/COMMIT, which Django does not log as queries.
# On PostgreSQL the log transaction also sets `synchronous_commit` for itself and takes its
# organization's event-order lock, in one statement: transaction control too, no data work
# (provisioning_logs.services._start_log_transaction).
TRANSACTION_CONTROL = (
    "SAVEPOINT",
    "RELEASE SAVEPOINT",
    "ROLLBACK TO SAVEPOINT",
    "BEGIN",
    "COMMIT",
    "SELECT SET_CONFIG('SYNCHRONOUS_COMMIT', 'OFF', TRUE), PG_ADVISORY_XACT_LOCK(",
)
# Connection health (provisioning_logs.health) is judged in the same transaction; its statements
# are its own budget, so the log's cost below leaves them out.
HEALTH_TABLE = "provisioning_logs_connectionhealth"


def statements_of(scim, path: str, *, logged: bool, settings, with_health: bool = False) -> list[str]:
    settings.PROVISIONING_LOG_ENABLED = logged
    with CaptureQueriesContext(database) as captured:
        assert scim.get(path).status_code == 200
    return [
        query["sql"]
        for query in captured.captured_queries
        if not query["sql"].upper().startswith(TRANSACTION_CONTROL)
        and (with_health or HEALTH_TABLE not in query["sql"])
    ]


def log_cost(scim, settings, index: int, *, with_health: bool = False) -> int:
    """Statements a lookup runs with the log on, minus the same lookup with the log off."""
    path = f"/Users?filter=userName+eq+%22user-{index}@contoso.com%22"
    without = statements_of(scim, path, logged=False, settings=settings)
    logged = statements_of(scim, path, logged=True, settings=settings, with_health=with_health)
    return len(logged) - len(without)


@pytest.fixture
def warm_token(scim, settings):
    """The token's first use refreshes its last use; do that before counting, without logging."""
    settings.PROVISIONING_LOG_ENABLED = False
    assert scim.get("/Users").status_code == 200
    settings.PROVISIONING_LOG_ENABLED = True


def test_recording_costs_at_most_four_statements_in_an_initial_cycle(scim, settings, warm_token):
    scim.get("/Users")  # opens the cycle
    costs = [log_cost(scim, settings, index) for index in range(1, 51)]
    # Insert the event, count it in its cycle, note the object.
    assert costs[0] == 3
    assert costs[49] == costs[0]
    assert set(costs) == {3}


def test_recording_costs_at_most_four_statements_in_an_incremental_cycle(scim, settings, alice):
    settings.PROVISIONING_RESTART_MIN_LOOKUPS = 1000  # stays incremental throughout
    ProvisioningCycle.objects.update(last_event_at=timezone.now() - timedelta(hours=1))
    forget_running_cycles()  # this process's cache would still take the first cycle as running
    scim.get("/Users")
    assert ProvisioningCycle.objects.order_by("-started_at").first().kind == "incremental"
    costs = [log_cost(scim, settings, index) for index in range(1, 51)]
    # … and, for a lookup, check whether the cycle has become a restart.
    assert costs[0] == 4
    assert set(costs) == {4}


def test_recording_cost_with_connection_health_is_the_same_for_the_1st_and_50th_request(
    scim, settings, warm_token
):
    scim.get("/Users")
    costs = [log_cost(scim, settings, index, with_health=True) for index in range(1, 51)]
    assert costs[49] == costs[0]
    assert len(set(costs)) == 1


def test_opening_an_initial_cycle_costs_four_statements_more(scim, settings, warm_token):
    path = "/Users?filter=userName+eq+%22x%22"
    opening = statements_of(scim, path, logged=True, settings=settings)
    later = statements_of(scim, path, logged=True, settings=settings)
    # The latest cycle, the connection locked, the latest cycle again, the new cycle.
    assert len(opening) - len(later) == 4


def test_opening_an_incremental_cycle_also_counts_the_managed_objects(scim, settings, alice):
    ProvisioningCycle.objects.update(last_event_at=timezone.now() - timedelta(hours=1))
    forget_running_cycles()
    path = "/Users?filter=userName+eq+%22x%22"
    opening = statements_of(scim, path, logged=True, settings=settings)
    later = statements_of(scim, path, logged=True, settings=settings)
    assert len(opening) - len(later) == 6
    assert sum("COUNT(*)" in sql for sql in opening) == 2


def test_log_commit_does_not_wait_for_the_disk_on_postgresql(scim, settings, warm_token, organization):
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("synchronous_commit is a PostgreSQL setting")
    settings.PROVISIONING_LOG_ENABLED = True
    with CaptureQueriesContext(connection) as context:
        assert scim.get("/Users").status_code == 200
    assert [query["sql"] for query in context.captured_queries if "synchronous_commit" in query["sql"]] == [
        START_LOG_TRANSACTION % (EVENT_ORDER_LOCK, organization.pk)
    ]
