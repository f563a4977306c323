"""GET /api/v1/events/ and /api/v1/events/{id}/: newest first, every filter, bad parameters, scope."""

import json
import uuid
from datetime import timedelta
from html import escape

import pytest

from accounts.connections.services import connection_get_or_create
from accounts.models import WorkAccount
from provisioning_logs.api.filters import BAD_DATE_TIME, REPEATED_PARAMETER, UNKNOWN_PARAMETER
from provisioning_logs.event_detail import SCIM_TYPE_ADVICE
from provisioning_logs.models import ProvisioningEvent
from provisioning_logs.redaction import REDACTED
from tests.conftest import PORTAL_PASSWORD
from tests.provisioning_logs.api.conftest import T0, ids


pytestmark = pytest.mark.django_db
ALICE_ID = uuid.UUID("2f0c1b8e-6a52-4c1e-9a0e-6f1d7d3f9c11")


@pytest.fixture
def mixed(connection, record, organization):
    """Five different events of Contoso's connection, a minute apart; returned by name."""
    staging = connection_get_or_create(organization=organization, name="Entra staging")
    events = {
        "create": record(
            connection,
            at=T0,
            method="POST",
            path="/scim/v2/Users",
            http_status=201,
            resource_type="User",
            action="Create",
            resource_id=ALICE_ID,
            external_id="ext-alice",
            identity="Alice@Contoso.com",
            request_id="req-create",
            modified_properties=[("userName", None, "Alice@Contoso.com")],
            request_body=json.dumps({"userName": "Alice@Contoso.com", "password": "secret"}),
        ),
        "conflict": record(
            connection,
            at=T0 + timedelta(minutes=1),
            method="POST",
            path="/scim/v2/Users",
            http_status=409,
            resource_type="User",
            action="Create",
            identity="bob@contoso.com",
            scim_type="uniqueness",
            detail="userName bob@contoso.com is taken.",
            request_id="req-conflict",
        ),
        "group": record(
            connection,
            at=T0 + timedelta(minutes=2),
            method="PATCH",
            path="/scim/v2/Groups/1",
            resource_type="Group",
            action="Update",
            identity="Sales",
            request_id="req-group",
        ),
        "discovery": record(
            staging,
            at=T0 + timedelta(minutes=3),
            path="/scim/v2/ServiceProviderConfig",
            request_id="req-discovery",
        ),
        "skipped": record(
            connection,
            at=T0 + timedelta(minutes=4),
            method="PATCH",
            path=f"/scim/v2/Users/{ALICE_ID}",
            resource_type="User",
            action="Other",
            skipped=True,
            resource_id=ALICE_ID,
            identity="Alice@Contoso.com",
            request_id="req-skipped",
        ),
    }
    events["staging"] = staging
    return events


def listed(api, **params) -> list[int]:
    response = api.get("/events/", params)
    assert response.status_code == 200, response.body
    return ids(response.body["results"])


def pk(mixed, *names) -> list[int]:
    return [mixed[name].pk for name in names]


# The list -------------------------------------------------------------------------------------


def test_events_are_listed_newest_first(api, mixed):
    assert listed(api) == pk(mixed, "skipped", "discovery", "group", "conflict", "create")


def test_order_oldest_lists_them_oldest_first(api, mixed):
    assert listed(api, order="oldest") == pk(mixed, "create", "conflict", "group", "discovery", "skipped")


def test_an_event_in_the_list_has_its_fields_and_its_modified_properties(api, mixed, connection):
    event = mixed["create"]
    (row,) = api.get("/events/", {"request_id": "req-create"}).body["results"]

    assert row == {
        "id": event.pk,
        "url": f"http://testserver/api/v1/events/{event.pk}/",
        "created_at": "2026-11-02T09:00:00Z",
        "organization": "contoso",
        "connection": {"id": connection.pk, "name": connection.name},
        "cycle": event.cycle_id,
        "request_id": "req-create",
        "credential": "",
        "method": "POST",
        "path": "/scim/v2/Users",
        "resource_type": "User",
        "action": "Create",
        "status": "Success",
        "http_status": 201,
        "resource_id": str(ALICE_ID),
        "external_id": "ext-alice",
        "identity": "Alice@Contoso.com",
        "scim_type": "",
        "detail": "",
        "duration_ms": 0,
        "modified_properties": [{"name": "userName", "old": "", "new": "Alice@Contoso.com"}],
    }


def test_the_list_never_shows_another_organizations_events(api, other_api, mixed, other_organization, record):
    theirs = record(connection_get_or_create(organization=other_organization), at=T0)

    assert theirs.pk not in listed(api)
    assert listed(other_api) == [theirs.pk]


def test_a_superusers_session_lists_every_organizations_events(mixed, other_organization, record, client):
    theirs = record(connection_get_or_create(organization=other_organization), at=T0 + timedelta(hours=1))
    WorkAccount.objects.create_superuser("root@platform.example", PORTAL_PASSWORD)
    client.login(username="root@platform.example", password=PORTAL_PASSWORD)

    response = client.get("/api/v1/events/")

    assert ids(response.json()["results"]) == [
        theirs.pk,
        *pk(mixed, "skipped", "discovery", "group", "conflict", "create"),
    ]


# Filters --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"status": "Failure"}, ["conflict"]),
        ({"status": "Skipped"}, ["skipped"]),
        ({"status": "Success"}, ["discovery", "group", "create"]),
        ({"action": "Create"}, ["conflict", "create"]),
        ({"action": "Update"}, ["group"]),
        ({"resource_type": "Group"}, ["group"]),
        ({"resource_type": "User"}, ["skipped", "conflict", "create"]),
        ({"resource_type": "none"}, ["discovery"]),
        ({"http_status": "409"}, ["conflict"]),
        ({"http_status": "201"}, ["create"]),
        ({"request_id": "req-group"}, ["group"]),
        ({"request_id": "REQ-GROUP"}, []),
        ({"since": "2026-11-02T09:02:00Z"}, ["skipped", "discovery", "group"]),
        ({"until": "2026-11-02T09:02:00Z"}, ["conflict", "create"]),
        ({"since": "2026-11-02T09:01:00Z", "until": "2026-11-02T09:03:00Z"}, ["group", "conflict"]),
        ({"since": "2026-11-02T11:01:00+02:00"}, ["skipped", "discovery", "group", "conflict"]),
        ({"since": "2026-11-02t09:03:00.000000001z"}, ["skipped"]),
        ({"since": "2026-11-02 09:04:00Z"}, ["skipped"]),
        ({"status": "Success", "resource_type": "User"}, ["create"]),
    ],
)
def test_filter(api, mixed, params, expected):
    assert listed(api, **params) == pk(mixed, *expected)


def test_filter_by_connection(api, mixed):
    assert listed(api, connection=mixed["staging"].pk) == pk(mixed, "discovery")


def test_filter_by_cycle(api, mixed):
    assert listed(api, cycle=mixed["create"].cycle_id) == pk(mixed, "skipped", "group", "conflict", "create")


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("alice@contoso.com", ["skipped", "create"]),  # a userName in any case
        ("  ALICE@CONTOSO.COM ", ["skipped", "create"]),
        ("sales", ["group"]),  # a displayName
        ("ext-alice", ["create"]),  # an externalId
        ("req-conflict", ["conflict"]),  # a request id
        (str(ALICE_ID), ["skipped", "create"]),  # our id
        ("alice", ["skipped", "create"]),  # the start of a userName, as in the portal
        ("SAL", ["group"]),  # the start of a displayName
        ("ext-al", ["create"]),  # the start of an externalId
        ("contoso", []),  # a prefix, not a substring
    ],
)
def test_identity_has_the_portals_search_semantics(api, mixed, term, expected):
    assert listed(api, identity=term) == pk(mixed, *expected)


def test_identity_finds_an_accounts_events_by_its_externalid_guid(api, create_user, organization):
    external_id = "8c1f43a2-9d2b-4c58-a7f5-0c8e4b7f2d11"
    account = create_user("carol@contoso.com", externalId=external_id)
    events = ProvisioningEvent.objects.filter(resource_id=account["id"])

    assert listed(api, identity=external_id.upper()) == list(
        events.order_by("-pk").values_list("pk", flat=True)
    )


@pytest.mark.parametrize(
    ("params", "errors"),
    [
        (
            {"status": "failure"},
            {"status": ["Select a valid choice. failure is not one of the available choices."]},
        ),
        (
            {"action": "Patch"},
            {"action": ["Select a valid choice. Patch is not one of the available choices."]},
        ),
        (
            {"resource_type": "Device"},
            {"resource_type": ["Select a valid choice. Device is not one of the available choices."]},
        ),
        ({"since": "yesterday"}, {"since": [BAD_DATE_TIME]}),
        ({"since": "2026-11-02"}, {"since": [BAD_DATE_TIME]}),
        ({"since": "2026-11-02T09:00:00"}, {"since": [BAD_DATE_TIME]}),  # no offset: ambiguous
        ({"until": "2026-11-02T09:00:00 02:00"}, {"until": [BAD_DATE_TIME]}),  # a + sent unencoded
        ({"until": "2026-13-02T09:00:00Z"}, {"until": [BAD_DATE_TIME]}),
        ({"http_status": "abc"}, {"http_status": ["Enter a whole number."]}),
        ({"http_status": "200.5"}, {"http_status": ["Enter a whole number."]}),
        ({"http_status": "99"}, {"http_status": ["Ensure this value is greater than or equal to 100."]}),
        ({"http_status": "600"}, {"http_status": ["Ensure this value is less than or equal to 599."]}),
        (
            {"connection": "abc"},
            {"connection": ["Select a valid choice. That choice is not one of the available choices."]},
        ),
        ({"cycle": "0"}, {"cycle": ["Ensure this value is greater than or equal to 1."]}),
        (
            {"identity": "x" * 256},
            {"identity": ["Ensure this value has at most 255 characters (it has 256)."]},
        ),
        ({"order": "asc"}, {"order": ["Select a valid choice. asc is not one of the available choices."]}),
        ({"statu": "Failure"}, {"statu": [UNKNOWN_PARAMETER]}),
    ],
)
def test_a_bad_parameter_is_400_naming_it(api, mixed, params, errors):
    response = api.get("/events/", params)

    assert (response.status_code, response.body) == (400, errors)


def test_a_parameter_given_twice_is_400(api, mixed):
    response = api.get("/events/?status=Failure&status=Success")

    assert (response.status_code, response.body) == (400, {"status": [REPEATED_PARAMETER]})


def test_another_organizations_connection_is_no_valid_filter(api, other_organization):
    theirs = connection_get_or_create(organization=other_organization)

    response = api.get("/events/", {"connection": theirs.pk})

    assert response.status_code == 400
    assert list(response.body) == ["connection"]


# One event ------------------------------------------------------------------------------------


def test_an_event_shows_what_the_portals_event_page_shows(api, mixed, admin_browser):
    event = mixed["conflict"]

    body = api.get(f"/events/{event.pk}/").body
    page = admin_browser.get(
        f"/admin/provisioning_logs/provisioningevent/{event.pk}/change/"
    ).content.decode()

    assert body["http_status_text"] == "409 Conflict"
    assert body["troubleshooting"] == {
        "failed": True,
        "error_code": "uniqueness",
        "reason": "userName bob@contoso.com is taken.",
        "advice": SCIM_TYPE_ADVICE["uniqueness"],
    }
    assert body["steps"] == [
        {
            "name": "Request received",
            "status": "Success",
            "description": (
                "POST /scim/v2/Users (request id req-conflict, credential: none, "
                f"connection: {event.connection.name})"
            ),
        },
        {"name": "Resource", "status": "Success", "description": "Create User 'bob@contoso.com'."},
        {
            "name": "Outcome",
            "status": "Failure",
            "description": "HTTP 409 Conflict: uniqueness: userName bob@contoso.com is taken.",
        },
    ]
    for step in body["steps"]:
        assert step["description"].replace("'", "&#x27;") in page
    assert body["troubleshooting"]["advice"].replace("'", "&#x27;") in page


def test_an_events_request_body_is_the_redacted_one_the_portal_shows(api, create_user, admin_browser):
    create_user("dave@contoso.com", password="Dave's-secret-42")
    event = ProvisioningEvent.objects.get(identity="dave@contoso.com")

    body = api.get(f"/events/{event.pk}/").body
    page = admin_browser.get(f"/admin/provisioning_logs/provisioningevent/{event.pk}/change/")

    assert json.loads(body["request_body"])["password"] == REDACTED
    assert "Dave's-secret-42" not in body["request_body"]
    assert body["request_body"].startswith('{\n  "schemas"')
    assert escape(body["request_body"]) in page.content.decode()


def test_an_event_of_another_organization_is_404(api, other_organization, record):
    theirs = record(connection_get_or_create(organization=other_organization))

    response = api.get(f"/events/{theirs.pk}/")

    assert (response.status_code, response.body) == (
        404,
        {"detail": "No ProvisioningEvent matches the given query."},
    )


def test_an_unknown_event_is_404_like_another_organizations(api, other_organization, record):
    theirs = record(connection_get_or_create(organization=other_organization))

    assert api.get(f"/events/{theirs.pk + 1000}/").body == api.get(f"/events/{theirs.pk}/").body


@pytest.mark.parametrize(
    "path", ["/events/abc/", "/events/1.0/", "/events/-1/", "/events/99999999999999999999999/"]
)
def test_an_id_that_is_no_number_is_404(api, path):
    response = api.get(path)

    assert response.status_code == 404
    assert "detail" in response.body


def test_an_events_detail_ignores_list_filters(api, mixed):
    response = api.get(f"/events/{mixed['create'].pk}/", {"status": "Failure"})

    assert (response.status_code, response.body["id"]) == (200, mixed["create"].pk)


def test_the_list_representation_has_exactly_the_declared_fields(api, mixed):
    from provisioning_logs.api.serializers import EventDetailSerializer, EventSerializer

    row = api.get("/events/").body["results"][0]
    detail = api.get(row["url"]).body

    assert list(row) == list(EventSerializer().fields)
    assert set(detail) == set(EventDetailSerializer().fields)
