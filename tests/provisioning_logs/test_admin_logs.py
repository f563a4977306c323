"""The provisioning log in the admin portal: scoping by role and organization, filters, search,
paging without a full count, the event detail page's four tabs, and the account and group pages'
provisioning history."""

import re
import uuid
from datetime import UTC, timedelta
from html import unescape

import pytest
from django.db import connection as db_connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.admin import ENTRA_MANAGED
from accounts.attributes import GroupAttributes
from accounts.connections.services import DEFAULT_CONNECTION_NAME, connection_get_or_create
from accounts.models import OrganizationRole, WorkAccount
from accounts.services import group_create
from provisioning_logs.admin.events import ProvisioningEventAdmin
from provisioning_logs.admin.paging import CappedPaginator
from provisioning_logs.event_detail import advice_for
from provisioning_logs.models import Action, ProvisioningEvent
from provisioning_logs.services import EventRecord, event_record
from tests.conftest import PORTAL_PASSWORD, entra_user


pytestmark = pytest.mark.django_db

LIST_URL = "/admin/provisioning_logs/provisioningevent/"
NOW = timezone.now()


def detail_url(event) -> str:
    return f"{LIST_URL}{event.pk}/change/"


@pytest.fixture
def superuser_browser(db):
    root = WorkAccount.objects.create_superuser("root@platform.example", PORTAL_PASSWORD)
    client = Client()
    client.force_login(root)
    return client


@pytest.fixture
def record(organization):
    """Record one event of contoso's default connection (or the given one) at a given time."""
    default_connection = connection_get_or_create(organization=organization)

    def make(*, connection=None, now=None, **fields) -> ProvisioningEvent:
        fields.setdefault("method", "POST")
        fields.setdefault("path", "/scim/v2/Users")
        fields.setdefault("http_status", 201)
        connection = connection or default_connection
        event = event_record(
            EventRecord(organization=connection.organization, connection=connection, **fields), now=now
        )
        assert event is not None
        return event

    return make


def page(client, url=LIST_URL, **params) -> str:
    response = client.get(url, params)
    assert response.status_code == 200, response
    return response.content.decode()


def identities(html: str) -> list[str]:
    """The identity column of the change list, top to bottom."""
    return re.findall(
        r'<td class="field-identity_label"><span class="cell-truncate" title="[^"]*">([^<]*)</span></td>',
        html,
    )


def utc_time(moment) -> str:
    """A timestamp as the portal renders it (local-time.js shows it in the viewer's time zone)."""
    text = f"{moment:%Y-%m-%d %H:%M:%S} UTC"
    iso = moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    return f'<time class="portal-time" datetime="{iso}" title="{text}">{text}</time>'


# Who sees what ------------------------------------------------------------------------------------


def test_admin_sees_only_their_organizations_events(admin_browser, create_user, other_scim):
    create_user("alice@contoso.com")
    create_user("bob@fabrikam.com", client=other_scim)

    assert identities(page(admin_browser)) == ["alice@contoso.com"]


def test_support_staff_read_the_log(support_browser, create_user):
    create_user("alice@contoso.com")

    assert identities(page(support_browser)) == ["alice@contoso.com"]


def test_support_staff_get_no_add_change_or_delete_controls(support_browser, create_user):
    create_user("alice@contoso.com")
    event = ProvisioningEvent.objects.get()

    listing = page(support_browser)
    detail = page(support_browser, detail_url(event))

    assert "addlink" not in listing
    assert 'name="action"' not in listing
    assert 'name="_save"' not in detail
    assert "deletelink" not in detail


def test_support_staff_posts_to_an_event_are_refused(support_browser, create_user):
    create_user("alice@contoso.com")
    event = ProvisioningEvent.objects.get()

    assert support_browser.post(detail_url(event), {"identity": "changed"}).status_code == 403
    assert support_browser.post(f"{LIST_URL}{event.pk}/delete/", {"post": "yes"}).status_code == 403
    assert support_browser.post(f"{LIST_URL}add/", {}).status_code == 403
    assert ProvisioningEvent.objects.get().identity == "alice@contoso.com"


def test_admin_cannot_change_or_delete_an_event(admin_browser, create_user):
    create_user("alice@contoso.com")
    event = ProvisioningEvent.objects.get()

    assert admin_browser.post(detail_url(event), {"identity": "changed"}).status_code == 403
    assert admin_browser.post(f"{LIST_URL}{event.pk}/delete/", {"post": "yes"}).status_code == 403
    assert ProvisioningEvent.objects.count() == 1


def test_superuser_cannot_change_or_delete_an_event_either(superuser_browser, create_user):
    create_user("alice@contoso.com")
    event = ProvisioningEvent.objects.get()

    assert 'name="_save"' not in page(superuser_browser, detail_url(event))
    assert superuser_browser.post(detail_url(event), {"identity": "changed"}).status_code == 403
    assert superuser_browser.post(f"{LIST_URL}{event.pk}/delete/", {"post": "yes"}).status_code == 403


def test_member_has_no_access_to_the_log(portal_client, create_user):
    member = portal_client(OrganizationRole.MEMBER)
    create_user("alice@contoso.com")
    event = ProvisioningEvent.objects.get()

    for url in (LIST_URL, detail_url(event)):
        response = member.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/admin/login/")


def test_admin_cannot_open_another_organizations_event(admin_browser, create_user, other_scim):
    create_user("bob@fabrikam.com", client=other_scim)
    theirs = ProvisioningEvent.objects.get()

    response = admin_browser.get(detail_url(theirs))

    assert response.status_code == 302
    assert response["Location"] == "/admin/"


def test_superuser_sees_every_organizations_events_with_their_organization(
    superuser_browser, create_user, other_scim
):
    create_user("alice@contoso.com")
    create_user("bob@fabrikam.com", client=other_scim)

    html = page(superuser_browser)

    assert identities(html) == ["bob@fabrikam.com", "alice@contoso.com"]
    assert re.findall(r'<td class="field-organization nowrap">([^<]*)</td>', html) == ["Fabrikam", "Contoso"]


# The list ----------------------------------------------------------------------------------------


def test_list_columns(admin_browser, create_user):
    create_user("alice@contoso.com")

    headers = re.findall(
        r'<th scope="col" class="column-[^"]*">\s*<div class="text"><span>([^<]*)</span>', page(admin_browser)
    )

    assert headers == [
        "Time",
        "Action",
        "Resource type",
        "Identity",
        "Status",
        "HTTP status",
        "Source id",
        "Target id",
        "Connection",
        "Duration",
    ]


def test_list_row_shows_the_event(admin_browser, record):
    event = record(
        action=Action.CREATE, resource_type="User", identity="alice@contoso.com", duration_ms=12, now=NOW
    )

    html = page(admin_browser)

    row = re.search(r"<tr>(.*?)</tr>", html.split("<tbody>")[1], re.S).group(1)
    cells = re.findall(r"<t[hd] class=\"field-[^\"]*\">(.*?)</t[hd]>", row, re.S)
    assert cells == [
        f'<a href="{detail_url(event)}">{utc_time(NOW)}</a>',
        "Create",
        "User",
        '<span class="cell-truncate" title="alice@contoso.com">alice@contoso.com</span>',
        '<span class="event-status event-status-success">Success</span>',
        "201",
        "—",
        "—",
        f'<span class="cell-truncate" title="{DEFAULT_CONNECTION_NAME}">{DEFAULT_CONNECTION_NAME}</span>',
        "12 ms",
    ]


def test_list_is_newest_first(admin_browser, record):
    record(identity="first", now=NOW - timedelta(minutes=2))
    record(identity="second", now=NOW - timedelta(minutes=1))
    record(identity="third", now=NOW)

    assert identities(page(admin_browser)) == ["third", "second", "first"]


def test_list_pages_with_newer_and_older_links(admin_browser, record, monkeypatch):
    monkeypatch.setattr(ProvisioningEventAdmin, "list_per_page", 2)
    for minute in range(5):
        record(identity=f"event-{minute}", now=NOW + timedelta(minutes=minute))

    first = page(admin_browser)
    second = page(admin_browser, p=2)

    assert identities(first) == ["event-4", "event-3"]
    assert 'id="page-summary">Events 1–2 of 5</span>' in first
    assert 'id="page-newer"' not in first
    assert '<a href="?p=2" id="page-older" rel="next">Older ›</a>' in first
    assert identities(second) == ["event-2", "event-1"]
    assert '<a href="?p=1" id="page-newer" rel="prev">‹ Newer</a>' in second


def test_list_count_stops_a_few_pages_beyond_the_current_one(admin_browser, record, monkeypatch):
    monkeypatch.setattr(ProvisioningEventAdmin, "list_per_page", 2)
    monkeypatch.setattr(CappedPaginator, "pages_ahead", 1)
    for minute in range(6):
        record(identity=f"event-{minute}", now=NOW + timedelta(minutes=minute))

    assert 'id="page-summary">Events 1–2 of more than 4</span>' in page(admin_browser)


def test_list_reads_a_bounded_window_of_ids_then_the_page_by_id(admin_browser, record):
    record(identity="alice@contoso.com")

    with CaptureQueriesContext(db_connection) as queries:
        page(admin_browser)

    event_queries = [q["sql"] for q in queries if 'FROM "provisioning_logs_provisioningevent"' in q["sql"]]
    assert len(event_queries) == 2
    window, rows = event_queries
    assert "COUNT(" not in window.upper()
    # 50 rows a page; the window reaches 10 pages beyond the first, plus one row.
    assert window.endswith("LIMIT 551")
    assert '"provisioning_logs_provisioningevent"."id" IN (' in rows


# Filters ------------------------------------------------------------------------------------------


def test_filter_by_status(admin_browser, record):
    record(identity="created", http_status=201)
    record(identity="duplicate", http_status=409, scim_type="uniqueness")
    record(identity="unchanged", http_status=200, skipped=True, method="PATCH")

    assert identities(page(admin_browser, status__exact="Failure")) == ["duplicate"]


def test_filter_by_action(admin_browser, record):
    record(identity="created", action=Action.CREATE)
    record(identity="disabled", action=Action.DISABLE, method="PATCH", http_status=200)

    assert identities(page(admin_browser, action__exact="Disable")) == ["disabled"]


def test_filter_by_connection(admin_browser, record, organization):
    second = connection_get_or_create(organization=organization, name="Entra test tenant")
    record(identity="from-default")
    record(identity="from-test-tenant", connection=second)

    assert identities(page(admin_browser, connection__id__exact=second.pk)) == ["from-test-tenant"]


def test_connection_filter_offers_only_the_organizations_connections(
    admin_browser, record, organization, other_organization
):
    connection_get_or_create(organization=organization, name="Entra test tenant")
    connection_get_or_create(organization=other_organization, name="Fabrikam tenant")
    record(identity="alice@contoso.com")

    html = page(admin_browser)
    connection_filter = re.search(r'data-filter-title="connection".*?</details>', html, re.S).group(0)

    assert re.findall(r'<a href="\?connection__id__exact=\d+">([^<]*)</a>', connection_filter) == [
        "Entra test tenant",
        DEFAULT_CONNECTION_NAME,
    ]


@pytest.mark.parametrize(
    ("value", "expected"), [("User", ["a user"]), ("Group", ["a group"]), ("none", ["discovery"])]
)
def test_filter_by_resource_type(admin_browser, record, value, expected):
    record(identity="a user", resource_type="User")
    record(identity="a group", resource_type="Group", path="/scim/v2/Groups")
    record(identity="discovery", resource_type="", method="GET", path="/scim/v2/Schemas", http_status=200)

    assert identities(page(admin_browser, resource_type=value)) == expected


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        ("today", ["just now"]),
        ("7d", ["just now", "3 days ago"]),
        ("30d", ["just now", "3 days ago", "20 days ago"]),
    ],
)
def test_filter_by_quick_time_range(admin_browser, record, when, expected):
    now = timezone.now()
    record(identity="40 days ago", now=now - timedelta(days=40))
    record(identity="20 days ago", now=now - timedelta(days=20))
    record(identity="3 days ago", now=now - timedelta(days=3))
    record(identity="just now", now=now)

    assert identities(page(admin_browser, when=when)) == expected


def test_filter_by_since_and_until_dates(admin_browser, record):
    day = timezone.now().replace(year=2026, month=3, day=10, hour=12, minute=0)
    record(identity="9 March", now=day - timedelta(days=1))
    record(identity="10 March", now=day)
    record(identity="11 March late", now=day + timedelta(days=1, hours=11))
    record(identity="12 March", now=day + timedelta(days=2))

    html = page(admin_browser, since="2026-03-10", until="2026-03-11")

    assert identities(html) == ["11 March late", "10 March"]


def test_filter_with_an_invalid_date_reports_an_error(admin_browser, record):
    record(identity="alice@contoso.com")

    response = admin_browser.get(LIST_URL, {"since": "not-a-date"})

    assert response.status_code == 302
    assert response["Location"] == f"{LIST_URL}?e=1"


# Search -------------------------------------------------------------------------------------------


def test_search_matches_the_whole_identity_in_any_case(admin_browser, record):
    record(identity="alice@contoso.com")
    record(identity="bob@contoso.com")

    assert identities(page(admin_browser, q="ALICE@Contoso.com")) == ["alice@contoso.com"]


def test_search_matches_the_start_of_an_identity_in_any_case(admin_browser, record):
    record(identity="alice@contoso.com")
    record(identity="Alison Example")
    record(identity="bob@contoso.com")

    assert identities(page(admin_browser, q="ALI")) == ["Alison Example", "alice@contoso.com"]


def test_search_does_not_match_the_middle_of_an_identity(admin_browser, record):
    # Prefixes only: a substring search cannot use an index and scanned a million events.
    record(identity="alice@contoso.com")

    assert identities(page(admin_browser, q="contoso")) == []


def test_search_matches_the_external_id(admin_browser, record):
    record(identity="alice@contoso.com", external_id="emp-4711")
    record(identity="bob@contoso.com", external_id="emp-4712")

    assert identities(page(admin_browser, q="emp-4712")) == ["bob@contoso.com"]


def test_search_by_id_matches_it_exactly(admin_browser, record):
    alice_id, bob_id = uuid.uuid4(), uuid.uuid4()
    record(identity="alice@contoso.com", resource_id=alice_id)
    record(identity="bob@contoso.com", resource_id=bob_id)

    assert identities(page(admin_browser, q=str(bob_id).upper())) == ["bob@contoso.com"]


def test_search_by_a_guid_external_id_finds_the_objects_events(admin_browser, create_user, other_scim):
    object_id = "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"
    create_user("alice@contoso.com", externalId=object_id)
    create_user("bob@contoso.com", externalId="bob")
    create_user("alice@fabrikam.com", client=other_scim, externalId=object_id)

    assert identities(page(admin_browser, q=object_id.upper())) == ["alice@contoso.com"]


def test_search_by_request_id_matches_it_exactly(admin_browser, record):
    record(identity="alice@contoso.com", request_id="req-1")
    record(identity="bob@contoso.com", request_id="req-12")

    assert identities(page(admin_browser, q="req-1")) == ["alice@contoso.com"]


def test_search_never_shows_another_organizations_events(admin_browser, create_user, other_scim):
    create_user("alice@contoso.com")
    create_user("alice@fabrikam.com", client=other_scim)

    assert identities(page(admin_browser, q="alice@contoso.com")) == ["alice@contoso.com"]
    assert identities(page(admin_browser, q="alice@fabrikam.com")) == []


# The detail page ----------------------------------------------------------------------------------


@pytest.fixture
def uniqueness_failure(scim, create_user):
    create_user("alice@contoso.com")

    response = scim.post("/Users", entra_user("alice@contoso.com"), headers={"client-request-id": "req-dup"})
    assert response.status_code == 409
    return ProvisioningEvent.objects.get(http_status=409)


def test_detail_page_has_four_named_tabs(admin_browser, uniqueness_failure):
    html = page(admin_browser, detail_url(uniqueness_failure))

    tabs = re.findall(r'<a href="#([a-z-]+)" id="tab-\1" data-tab="\1" aria-controls="\1">([^<]+)</a>', html)
    assert [name for _, name in tabs] == ["Steps", "Troubleshooting", "Modified properties", "Summary"]
    for section, _ in tabs:
        assert f'<section class="event-panel module" id="{section}"' in html


def test_detail_steps_show_the_request_and_its_outcome(admin_browser, uniqueness_failure):
    html = page(admin_browser, detail_url(uniqueness_failure))

    steps = re.findall(
        r'<span class="event-status event-status-\w+">(\w+)</span>\s*<strong>([^<]+)</strong>\s*'
        r'<span class="event-step-description">([^<]+)</span>',
        html,
    )
    assert [tuple(unescape(part) for part in step) for step in steps] == [
        (
            "Success",
            "Request received",
            "POST /scim/v2/Users (request id req-dup, credential: secret token entra, "
            f"connection: {DEFAULT_CONNECTION_NAME})",
        ),
        ("Success", "Resource", "Create User 'alice@contoso.com'."),
        (
            "Failure",
            "Outcome",
            "HTTP 409 Conflict: uniqueness: "
            "userName 'alice@contoso.com' is already taken in this organization.",
        ),
    ]


def test_detail_troubleshooting_explains_a_uniqueness_failure(admin_browser, uniqueness_failure):
    html = page(admin_browser, detail_url(uniqueness_failure))

    assert '<dd id="error-code"><code>uniqueness</code></dd>' in html
    assert unescape(re.search(r'<dd id="error-reason">([^<]+)</dd>', html).group(1)) == (
        "userName 'alice@contoso.com' is already taken in this organization."
    )
    advice = re.search(r'<dd id="error-advice">([^<]+)</dd>', html).group(1)
    assert advice.startswith("An account with this userName already exists in this organization")


def test_detail_modified_properties_show_old_and_new_values(admin_browser, scim, create_user):
    alice = create_user("alice@contoso.com")
    patch = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "Replace", "path": "active", "value": False}],
    }
    assert scim.patch(f"/Users/{alice['id']}", patch).status_code == 200
    disabled = ProvisioningEvent.objects.get(action=Action.DISABLE)

    html = page(admin_browser, detail_url(disabled))

    rows = re.findall(r"<tr><th scope=\"row\">([^<]+)</th><td>([^<]*)</td><td>([^<]*)</td></tr>", html)
    assert rows == [("active", "true", "false")]


def test_detail_summary_shows_the_redacted_request_body(admin_browser, create_user):
    create_user("alice@contoso.com", password="S3cret-passw0rd")
    event = ProvisioningEvent.objects.get()

    html = page(admin_browser, detail_url(event))

    body = re.search(r'<pre id="request-body">(.*?)</pre>', html, re.S).group(1)
    assert "&quot;password&quot;: &quot;[redacted]&quot;" in body
    assert "S3cret-passw0rd" not in html


def test_detail_summary_lists_identity_and_request_fields(admin_browser, record):
    resource_id = uuid.uuid4()
    event = record(
        identity="alice@contoso.com",
        external_id="emp-1",
        resource_id=resource_id,
        resource_type="User",
        action=Action.CREATE,
        request_id="req-7",
        client_address="203.0.113.9",
        credential="secret token entra",
        duration_ms=42,
        now=NOW,
    )

    html = page(admin_browser, detail_url(event))

    summary = re.search(r'<dl class="event-fields" id="summary-fields">(.*?)</dl>', html, re.S).group(1)
    fields = dict(re.findall(r"<dt>([^<]+)</dt><dd>((?:<time [^>]*>)?[^<]*(?:</time>)?)</dd>", summary))
    assert fields == {
        "Time": utc_time(NOW),
        "Organization": "Contoso",
        "Connection": DEFAULT_CONNECTION_NAME,
        "Request id": "req-7",
        "Client address": "203.0.113.9",
        "Credential": "secret token entra",
        "Method": "POST",
        "Path": "/scim/v2/Users",
        "Resource type": "User",
        "Action": "Create",
        "id": str(resource_id),
        "externalId": "emp-1",
        "Identity": "alice@contoso.com",
        "Status": "Success",
        "HTTP status": "201 Created",
        "scimType": "—",
        "Detail": "—",
        "Duration": "42 ms",
        "Cycle": f"Initial cycle started {NOW:%Y-%m-%d %H:%M:%S} UTC",
    }


def test_detail_of_a_success_has_nothing_to_troubleshoot(admin_browser, create_user):
    create_user("alice@contoso.com")
    event = ProvisioningEvent.objects.get()

    html = page(admin_browser, detail_url(event))

    assert '<p id="error-advice">This request succeeded: there is nothing to troubleshoot.</p>' in html


@pytest.mark.parametrize(
    ("scim_type", "http_status", "begins"),
    [
        ("uniqueness", 409, "An account with this userName already exists"),
        ("invalidValue", 400, "A value in the request is not acceptable"),
        ("invalidSyntax", 400, "The request body is not valid SCIM"),
        ("invalidFilter", 400, "The filter of the query could not be understood"),
        ("invalidPath", 400, "The PATCH path names an attribute"),
        ("noTarget", 400, "The PATCH path selected nothing"),
        ("mutability", 400, "Entra tried to change a read-only attribute"),
        ("tooMany", 400, "The request asked for or carried too much"),
        ("", 401, "The credential was refused"),
        ("", 403, "The provisioning connection is turned off"),
        ("", 404, "The resource does not exist here"),
        ("", 412, "Version mismatch"),
        ("", 413, "The request body was too large"),
        ("", 429, "Too many requests at once"),
        ("", 500, "An internal error on this service"),
        ("", 502, "An internal error on this service"),
        ("", 503, "This service was temporarily unavailable"),
    ],
)
def test_troubleshooting_advice_by_scim_type_then_http_status(scim_type, http_status, begins):
    assert advice_for(scim_type=scim_type, http_status=http_status).startswith(begins)


def test_invalid_token_advice_says_to_issue_a_new_secret_token_or_reauthorize():
    advice = advice_for(scim_type="", http_status=401)

    assert "Issue a new secret token" in advice
    assert "re-authorize" in advice


# Accounts and groups -----------------------------------------------------------------------------


def test_account_page_shows_its_provisioning_history_newest_first(admin_browser, scim, create_user):
    alice = create_user("alice@contoso.com")
    patch = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "Replace", "path": "active", "value": False}],
    }
    scim.patch(f"/Users/{alice['id']}", patch)
    disabled, created = ProvisioningEvent.objects.filter(resource_id=alice["id"]).order_by(
        "-created_at", "-id"
    )

    html = page(admin_browser, f"/admin/accounts/workaccount/{alice['id']}/change/")

    history = re.search(r'<div class="module" id="provisioning-history">(.*?)</table>', html, re.S).group(1)
    links = re.findall(
        r'<tr class="provisioning-history-event">\s*<td><a href="([^"]+)"><time [^>]*>[^<]*</time></a></td>'
        r"\s*<td>(\w+)</td>",
        history,
    )
    assert links == [(detail_url(disabled), "Disable"), (detail_url(created), "Create")]


def test_account_history_holds_the_last_50_events(admin_browser, record, make_account, organization):
    account = make_account("alice@contoso.com", organization=organization)
    for minute in range(51):
        record(resource_id=account.pk, identity=f"event-{minute}", now=NOW + timedelta(minutes=minute))
    oldest = ProvisioningEvent.objects.get(identity="event-0")

    html = page(admin_browser, f"/admin/accounts/workaccount/{account.pk}/change/")

    assert html.count('class="provisioning-history-event"') == 50
    assert detail_url(oldest) not in html


def test_account_page_says_entra_manages_its_fields(support_browser, create_user):
    alice = create_user("alice@contoso.com")

    html = page(support_browser, f"/admin/accounts/workaccount/{alice['id']}/change/")

    note = ENTRA_MANAGED.format(kind="account")
    assert f'<p class="entra-managed-note" id="entra-managed-note">{note}</p>' in html
    assert note == "Microsoft Entra ID manages this account: change it in Entra, not here."


def test_group_page_shows_its_provisioning_history_and_the_note(admin_browser, scim):
    response = scim.post(
        "/Groups",
        {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Engineering"},
    )
    assert response.status_code == 201
    created = ProvisioningEvent.objects.get(resource_type="Group")

    html = page(admin_browser, f"/admin/accounts/workgroup/{response.body['id']}/change/")

    assert ENTRA_MANAGED.format(kind="group") in html
    assert f'<td><a href="{detail_url(created)}">' in html


def test_group_page_without_events_says_so(admin_browser, organization):
    group = group_create(organization=organization, attributes=GroupAttributes(display_name="Sales")).group

    html = page(admin_browser, f"/admin/accounts/workgroup/{group.pk}/change/")

    assert '<p id="no-provisioning-history">No provisioning events for this work group.</p>' in html


def test_account_list_keeps_the_role_actions_for_admins(admin_browser):
    html = page(admin_browser, "/admin/accounts/workaccount/")

    assert re.findall(r'<option value="(make_\w+)">', html) == ["make_admin", "make_support", "make_member"]


def test_admin_index_links_to_the_dashboard_and_the_logs(support_browser):
    html = page(support_browser, "/admin/")

    assert (
        '<a href="/admin/provisioning_logs/provisioningevent/dashboard/" id="provisioning-dashboard-link">'
        "Provisioning dashboard</a>"
    ) in html
    assert f'<a href="{LIST_URL}" id="provisioning-logs-link">Provisioning logs</a>' in html
