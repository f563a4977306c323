"""Export of the provisioning log as CSV and JSON: the change list's filters and search, streamed,
bounded, organization-scoped and safe to open in a spreadsheet."""

import csv
import io
import json
import re
import uuid
from datetime import UTC, datetime

import pytest

from accounts.connections.services import DEFAULT_CONNECTION_NAME, connection_get_or_create
from accounts.models import OrganizationRole
from provisioning_logs.admin import exports
from provisioning_logs.models import Action
from provisioning_logs.services import EventRecord, event_record


pytestmark = pytest.mark.django_db

LIST_URL = "/admin/provisioning_logs/provisioningevent/"
CSV_URL = f"{LIST_URL}export.csv"
JSON_URL = f"{LIST_URL}export.json"
ALICE_ID = uuid.UUID("6f1c2f4e-2d3b-4e0f-9a51-0c7f3b1d2e01")
CREATED_AT = datetime(2026, 11, 20, 9, 30, 15, 250000, tzinfo=UTC)
FAILED_AT = datetime(2026, 11, 20, 9, 31, 0, tzinfo=UTC)


def record(organization, *, now, **fields):
    connection = connection_get_or_create(organization=organization)
    fields.setdefault("method", "POST")
    fields.setdefault("path", "/scim/v2/Users")
    event = event_record(EventRecord(organization=organization, connection=connection, **fields), now=now)
    assert event is not None
    return event


@pytest.fixture
def known_events(organization):
    """A created account and a failed duplicate create, one second apart."""
    created = record(
        organization,
        now=CREATED_AT,
        http_status=201,
        request_id="req-1",
        credential="secret token entra",
        resource_type="User",
        action=Action.CREATE,
        resource_id=ALICE_ID,
        external_id="emp-1",
        identity="alice@contoso.com",
        modified_properties=[("userName", None, "alice@contoso.com"), ("active", None, True)],
        duration_ms=12,
    )
    failed = record(
        organization,
        now=FAILED_AT,
        http_status=409,
        request_id="req-2",
        credential="secret token entra",
        resource_type="User",
        action=Action.CREATE,
        external_id="emp-1",
        identity="alice@contoso.com",
        scim_type="uniqueness",
        detail="userName 'alice@contoso.com' is already taken in this organization.",
        duration_ms=7,
    )
    return created, failed


def body_of(response) -> str:
    assert response.status_code == 200, response
    assert response.streaming
    return b"".join(response.streaming_content).decode()


CSV_HEADER_LINE = (
    "time,organization,connection,request id,method,path,resource type,action,id,externalId,identity,"
    "status,HTTP status,scimType,detail,modified properties,duration ms\r\n"
)


def test_csv_export_has_the_header_and_one_row_per_event_newest_first(admin_browser, known_events):
    text = body_of(admin_browser.get(CSV_URL))

    assert text == (
        CSV_HEADER_LINE + f"2026-11-20T09:31:00.000Z,contoso,{DEFAULT_CONNECTION_NAME},"
        "req-2,POST,/scim/v2/Users,User,Create,,"
        "emp-1,alice@contoso.com,Failure,409,uniqueness,"
        "userName 'alice@contoso.com' is already taken in this organization.,[],7\r\n"
        + f"2026-11-20T09:30:15.250Z,contoso,{DEFAULT_CONNECTION_NAME},req-1,POST,/scim/v2/Users,User,Create,"
        f"{ALICE_ID},emp-1,alice@contoso.com,Success,201,,,"
        '"[{""name"": ""userName"", ""old"": null, ""new"": ""alice@contoso.com""}, '
        '{""name"": ""active"", ""old"": null, ""new"": true}]",12\r\n'
    )


def test_json_export_has_every_field_of_each_event_newest_first(admin_browser, known_events):
    document = json.loads(body_of(admin_browser.get(JSON_URL)))

    assert document == {
        "limit": 100_000,
        "truncated": False,
        "events": [
            {
                "time": "2026-11-20T09:31:00.000Z",
                "organization": "contoso",
                "connection": DEFAULT_CONNECTION_NAME,
                "requestId": "req-2",
                "method": "POST",
                "path": "/scim/v2/Users",
                "resourceType": "User",
                "action": "Create",
                "id": None,
                "externalId": "emp-1",
                "identity": "alice@contoso.com",
                "status": "Failure",
                "httpStatus": 409,
                "scimType": "uniqueness",
                "detail": "userName 'alice@contoso.com' is already taken in this organization.",
                "modifiedProperties": [],
                "durationMs": 7,
            },
            {
                "time": "2026-11-20T09:30:15.250Z",
                "organization": "contoso",
                "connection": DEFAULT_CONNECTION_NAME,
                "requestId": "req-1",
                "method": "POST",
                "path": "/scim/v2/Users",
                "resourceType": "User",
                "action": "Create",
                "id": str(ALICE_ID),
                "externalId": "emp-1",
                "identity": "alice@contoso.com",
                "status": "Success",
                "httpStatus": 201,
                "scimType": "",
                "detail": "",
                "modifiedProperties": [
                    {"name": "userName", "old": None, "new": "alice@contoso.com"},
                    {"name": "active", "old": None, "new": True},
                ],
                "durationMs": 12,
            },
        ],
    }


def test_export_follows_the_change_list_filters(admin_browser, known_events):
    rows = list(csv.reader(io.StringIO(body_of(admin_browser.get(CSV_URL, {"status__exact": "Success"})))))

    assert [(row[3], row[11]) for row in rows[1:]] == [("req-1", "Success")]


def test_export_follows_the_change_list_search(admin_browser, known_events):
    document = json.loads(body_of(admin_browser.get(JSON_URL, {"q": "req-2"})))

    assert [event["requestId"] for event in document["events"]] == ["req-2"]


def test_export_with_invalid_filters_is_refused(admin_browser, known_events):
    response = admin_browser.get(CSV_URL, {"since": "yesterday-ish"})

    assert response.status_code == 400


def test_csv_export_guards_against_formula_injection(admin_browser, organization):
    record(organization, now=CREATED_AT, http_status=201, identity='=HYPERLINK("http://evil")')
    record(
        organization, now=FAILED_AT, http_status=400, identity="+1-555", detail="-2+3", external_id="@SUM(A1)"
    )

    rows = list(csv.reader(io.StringIO(body_of(admin_browser.get(CSV_URL)))))

    assert [(row[9], row[10], row[14]) for row in rows[1:]] == [
        ("'@SUM(A1)", "'+1-555", "'-2+3"),
        ("", '\'=HYPERLINK("http://evil")', ""),
    ]


def test_json_export_keeps_values_as_sent(admin_browser, organization):
    record(organization, now=CREATED_AT, http_status=201, identity="=1+1")

    document = json.loads(body_of(admin_browser.get(JSON_URL)))

    assert document["events"][0]["identity"] == "=1+1"


@pytest.mark.parametrize(
    ("url", "content_type"), [(CSV_URL, "text/csv; charset=utf-8"), (JSON_URL, "application/json")]
)
def test_export_is_an_attachment_named_for_the_organization(admin_browser, known_events, url, content_type):
    response = admin_browser.get(url)
    extension = url.rsplit(".", 1)[1]

    assert response["Content-Type"] == content_type
    assert re.fullmatch(
        rf'attachment; filename="provisioning-logs-contoso-\d{{8}}-\d{{6}}\.{extension}"',
        response["Content-Disposition"],
    )
    assert response["X-Export-Row-Limit"] == "100000"
    assert response["X-Export-Truncated"] == "false"


def test_export_stops_at_the_row_limit_and_says_so(admin_browser, known_events, monkeypatch):
    monkeypatch.setattr(exports, "EXPORT_ROW_LIMIT", 1)

    csv_response = admin_browser.get(CSV_URL)
    rows = list(csv.reader(io.StringIO(body_of(csv_response))))
    document = json.loads(body_of(admin_browser.get(JSON_URL)))

    assert [row[3] for row in rows[1:]] == ["req-2"]
    assert csv_response["X-Export-Truncated"] == "true"
    assert (document["limit"], document["truncated"]) == (1, True)
    assert [event["requestId"] for event in document["events"]] == ["req-2"]


def test_export_holds_only_the_organizations_events(portal_client, known_events, other_organization):
    record(other_organization, now=CREATED_AT, http_status=201, request_id="theirs")
    fabrikam_admin = portal_client(OrganizationRole.ADMIN, organization=other_organization)

    document = json.loads(body_of(fabrikam_admin.get(JSON_URL)))

    assert [(event["organization"], event["requestId"]) for event in document["events"]] == [
        ("fabrikam", "theirs")
    ]


def test_support_staff_can_export(portal_client, known_events):
    support = portal_client(OrganizationRole.SUPPORT)

    rows = list(csv.reader(io.StringIO(body_of(support.get(CSV_URL)))))

    assert [row[3] for row in rows[1:]] == ["req-2", "req-1"]


def test_member_cannot_export(portal_client, known_events):
    member = portal_client(OrganizationRole.MEMBER)

    for url in (CSV_URL, JSON_URL):
        response = member.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/admin/login/")


def test_export_refuses_post(admin_browser, known_events):
    assert admin_browser.post(CSV_URL).status_code == 405


def test_change_list_links_to_exports_of_the_same_filters(admin_browser, known_events):
    html = admin_browser.get(LIST_URL, {"status__exact": "Failure", "q": "alice"}).content.decode()

    assert (
        f'<a href="{CSV_URL}?q=alice&amp;status__exact=Failure" id="export-csv" download>Export CSV</a>'
        in html
    )
    assert (
        f'<a href="{JSON_URL}?q=alice&amp;status__exact=Failure" id="export-json" download>Export JSON</a>'
        in html
    )
