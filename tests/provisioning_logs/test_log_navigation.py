"""
Finding one's way through the provisioning log (issue 16): prefix search served by an index, an
event's links to its object and to all events of that identity, the way back keeping the filters,
a date range with a time of day, member changes by name, readable multi-valued properties, and the
first-run checklist of a new organization.
"""

import re
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest
from django.db import connection as db_connection
from django.test import Client

from accounts.attributes import AccountAttributes, GroupAttributes
from accounts.connections.services import connection_get_or_create, scim_token_create
from accounts.models import WorkAccount
from accounts.services import account_create, group_create
from provisioning_logs.models import Action, ProvisioningEvent
from provisioning_logs.selectors import ReaderScope, event_search
from provisioning_logs.services import EventRecord, event_record
from tests.conftest import PORTAL_PASSWORD


pytestmark = pytest.mark.django_db

LIST_URL = "/admin/provisioning_logs/provisioningevent/"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


@pytest.fixture
def record(organization):
    connection = connection_get_or_create(organization=organization)

    def make(*, now=None, **fields) -> ProvisioningEvent:
        fields.setdefault("method", "POST")
        fields.setdefault("path", "/scim/v2/Users")
        fields.setdefault("http_status", 201)
        return event_record(EventRecord(organization=organization, connection=connection, **fields), now=now)

    return make


def html_of(client, url, **params) -> str:
    response = client.get(url, params)
    assert response.status_code == 200, response
    return response.content.decode()


def identities(html: str) -> list[str]:
    return re.findall(
        r'<td class="field-identity_label"><span class="cell-truncate" title="[^"]*">([^<]*)', html
    )


def modified_rows(html: str) -> list[tuple[str, str, str]]:
    table = re.search(r'<table id="modified-properties-table">(.*?)</table>', html, re.S).group(1)
    rows = re.findall(r'<tr><th scope="row">([^<]+)</th><td>(.*?)</td><td>(.*?)</td></tr>', table, re.S)
    return [(name, unescape(old), unescape(new)) for name, old, new in rows]


# Prefix search -----------------------------------------------------------------------------------


def test_search_finds_events_by_the_start_of_an_external_id(admin_browser, record):
    record(identity="alice@contoso.com", external_id="EMP-1001")
    record(identity="bob@contoso.com", external_id="EMP-2002")

    assert identities(html_of(admin_browser, LIST_URL, q="EMP-1")) == ["alice@contoso.com"]


@pytest.mark.skipif(db_connection.vendor != "postgresql", reason="SQLite's LIKE ignores ASCII case")
def test_search_of_an_external_id_prefix_keeps_its_case(admin_browser, record):
    # RFC 7643 §3.1: externalId is caseExact.
    record(identity="alice@contoso.com", external_id="EMP-1001")

    assert identities(html_of(admin_browser, LIST_URL, q="emp-1")) == []


def test_search_treats_like_wildcards_as_text(admin_browser, record):
    record(identity="a_b@contoso.com")
    record(identity="axb@contoso.com")

    assert identities(html_of(admin_browser, LIST_URL, q="a_")) == ["a_b@contoso.com"]


@pytest.mark.skipif(db_connection.vendor != "postgresql", reason="the pattern-ops indexes are PostgreSQL's")
def test_prefix_search_is_answered_by_the_pattern_ops_indexes(organization):
    connection = connection_get_or_create(organization=organization)
    ProvisioningEvent.objects.bulk_create(
        ProvisioningEvent(
            organization=organization,
            connection=connection,
            method="POST",
            path="/scim/v2/Users",
            action=Action.CREATE,
            status="Success",
            http_status=201,
            identity=f"user{number}@contoso.com",
            external_id=f"ext-{number}",
        )
        for number in range(5000)
    )
    events = event_search(
        ProvisioningEvent.objects.filter(organization=organization),
        term="user4999",
        scope=ReaderScope(organization_id=organization.pk),
    )
    sql, params = events.query.sql_with_params()

    with db_connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {ProvisioningEvent._meta.db_table}")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())

    assert "event_org_identity_prefix" in plan, plan
    assert "event_org_external_id_prefix" in plan, plan
    assert "Seq Scan" not in plan, plan


# An event's links ------------------------------------------------------------------------------------


def test_an_event_links_to_its_account_and_to_all_events_of_that_account(admin_browser, create_user):
    alice = create_user("alice@contoso.com")
    event = ProvisioningEvent.objects.get(resource_id=alice["id"])

    html = html_of(admin_browser, f"{LIST_URL}{event.pk}/change/")

    account_url = f"/admin/accounts/workaccount/{alice['id']}/change/"
    assert f'<a href="{account_url}" id="event-object-link">alice@contoso.com</a>' in html
    assert (
        f'<a href="{LIST_URL}?q={alice["id"]}" id="identity-events-link">All events of this user</a>' in html
    )


def test_an_event_of_a_group_links_to_the_group(admin_browser, scim):
    group = scim.post("/Groups", {"schemas": [GROUP], "displayName": "Engineering"}).body
    event = ProvisioningEvent.objects.get(resource_type="Group")

    html = html_of(admin_browser, f"{LIST_URL}{event.pk}/change/")

    assert (
        f'href="/admin/accounts/workgroup/{group["id"]}/change/" id="event-object-page">Open the group'
        in html
    )


def test_a_lookup_without_an_object_links_to_the_events_of_the_name_looked_up(admin_browser, record):
    event = record(method="GET", path="/scim/v2/Users", action=Action.LOOKUP, identity="ghost@contoso.com")

    html = html_of(admin_browser, f"{LIST_URL}{event.pk}/change/")

    assert 'id="event-object-link"' not in html
    assert f'href="{LIST_URL}?q=ghost%40contoso.com" id="identity-events-link"' in html


def test_going_back_from_an_event_keeps_the_lists_filters(admin_browser, record):
    event = record(identity="alice@contoso.com", http_status=409)
    listed = html_of(admin_browser, LIST_URL, status__exact="Failure", q="ali")
    detail_link = re.search(rf'<a href="({LIST_URL}{event.pk}/change/[^"]*)"', listed).group(1)

    html = html_of(admin_browser, unescape(detail_link))

    back = unescape(re.search(r'<a href="([^"]+)" id="back-to-logs">', html).group(1))
    assert back.startswith(LIST_URL + "?")
    assert "status__exact=Failure" in back and "q=ali" in back


def test_the_date_range_takes_a_time_of_day(admin_browser, record):
    day = datetime(2026, 11, 2, tzinfo=UTC)
    record(identity="morning", now=day + timedelta(hours=9))
    record(identity="afternoon", now=day + timedelta(hours=15))

    html = html_of(admin_browser, LIST_URL, since="2026-11-02T12:00", until="2026-11-02T18:30")

    assert identities(html) == ["afternoon"]
    assert 'type="datetime-local" name="since" id="time-range-since" value="2026-11-02T12:00"' in html
    assert 'type="datetime-local" name="until" id="time-range-until" value="2026-11-02T18:30"' in html


def test_a_date_without_a_time_still_means_the_whole_day(admin_browser, record):
    day = datetime(2026, 11, 2, tzinfo=UTC)
    record(identity="late", now=day + timedelta(hours=23))
    record(identity="next day", now=day + timedelta(days=1, hours=1))

    assert identities(html_of(admin_browser, LIST_URL, until="2026-11-02")) == ["late"]


# Modified properties -------------------------------------------------------------------------------


@pytest.fixture
def people(organization):
    def make(*names):
        return [
            account_create(
                organization=organization,
                attributes=AccountAttributes(
                    user_name=f"{name.split()[0].lower()}@contoso.com", display_name=name
                ),
            ).account
            for name in names
        ]

    return make


def test_member_changes_name_who_was_added_and_removed(admin_browser, scim, people):
    alice, bob = people("Alice Example", "Bob Builder")
    group = scim.post(
        "/Groups", {"schemas": [GROUP], "displayName": "Eng", "members": [{"value": str(bob.pk)}]}
    )
    operations = [
        {"op": "Add", "path": "members", "value": [{"value": str(alice.pk)}]},
        {"op": "Remove", "path": f'members[value eq "{bob.pk}"]'},
    ]
    assert (
        scim.patch(
            f"/Groups/{group.body['id']}", {"schemas": [PATCH_OP], "Operations": operations}
        ).status_code
        == 204
    )
    event = ProvisioningEvent.objects.filter(action=Action.UPDATE).get()

    assert event.modified_properties == [
        {"name": "members", "old": None, "new": "+ Alice Example, − Bob Builder"}
    ]
    assert modified_rows(html_of(admin_browser, f"{LIST_URL}{event.pk}/change/")) == [
        ("members", "—", "+ Alice Example, − Bob Builder")
    ]


def test_a_large_member_change_names_ten_and_counts_the_rest(organization, people):
    accounts = people(*[f"Person{n:02} Example" for n in range(12)])
    change = group_create(
        organization=organization,
        attributes=GroupAttributes(display_name="Big"),
        member_ids=frozenset(account.pk for account in accounts),
    )

    members = next(c for c in change.changes if c.name == "members")
    assert members.new.count("+ Person") == 10
    assert members.new.endswith("+ 2 more added")


def test_multi_valued_properties_read_old_to_new_one_value_a_line(admin_browser, scim, create_user):
    alice = create_user(
        "alice@contoso.com", emails=[{"value": "alice@contoso.com", "type": "work", "primary": True}]
    )
    operations = [
        {
            "op": "replace",
            "path": "emails",
            "value": [
                {"value": "alice@contoso.com", "type": "work", "primary": True},
                {"value": "alice@home.example", "type": "home"},
            ],
        }
    ]
    assert (
        scim.patch(f"/Users/{alice['id']}", {"schemas": [PATCH_OP], "Operations": operations}).status_code
        == 200
    )
    event = ProvisioningEvent.objects.filter(action=Action.UPDATE).get()

    rows = modified_rows(html_of(admin_browser, f"{LIST_URL}{event.pk}/change/"))

    assert rows == [
        (
            "emails",
            '<ul class="property-values"><li>alice@contoso.com (work, primary)</li></ul>',
            '<ul class="property-values"><li>alice@contoso.com (work, primary)</li>'
            "<li>alice@home.example (home)</li></ul>",
        )
    ]
    assert "{&quot;" not in html_of(admin_browser, f"{LIST_URL}{event.pk}/change/")


# First-run checklist -------------------------------------------------------------------------------


def checklist_state(html: str) -> dict[str, str]:
    return dict(re.findall(r'id="checklist-(\w+)" data-done="(true|false)"', html))


def test_a_new_organization_sees_the_first_run_checklist(admin_browser):
    html = html_of(admin_browser, LIST_URL)

    assert checklist_state(html) == {
        "connect": "false",
        "credential": "false",
        "test": "false",
        "cycle": "false",
    }
    assert 'id="checklist-tenant-url">http://testserver/scim/v2/</code>' in html


def test_the_checklist_ticks_itself_off_as_entra_connects_and_tests(admin_browser, organization):
    issued = scim_token_create(organization=organization, label="entra")
    client = Client(headers={"Authorization": f"Bearer {issued.secret}"})
    # Entra's Test Connection: a query for a random userName.
    assert client.get('/scim/v2/Users?filter=userName eq "test-connection@contoso.com"').status_code == 200

    html = html_of(admin_browser, LIST_URL)

    assert checklist_state(html) == {
        "connect": "true",
        "credential": "true",
        "test": "true",
        "cycle": "false",
    }
    assert "Connect Microsoft Entra ID: 3 of 4 done" in html


def test_the_checklist_is_gone_after_the_first_cycle(admin_browser, create_user):
    create_user("alice@contoso.com")

    assert 'id="first-run-checklist"' not in html_of(admin_browser, LIST_URL)


def test_superusers_see_no_checklist(db):
    root = WorkAccount.objects.create_superuser("root@platform.example", PORTAL_PASSWORD)
    client = Client()
    client.force_login(root)

    assert 'id="first-run-checklist"' not in html_of(client, LIST_URL)
