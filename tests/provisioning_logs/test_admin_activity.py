"""The admin activity trail: portal and command actions recorded with who, when, what and from where,
shown on the object (History) and in the organization's "Admin activity" list."""

import pytest
from django.contrib.admin.models import LogEntry
from django.core.management import call_command
from django.test import RequestFactory, override_settings

from accounts.connections.services import connection_get_or_create, scim_token_create
from accounts.models import AdminActivity, OrganizationRole, WorkAccount
from accounts.services.activity import admin_activity_record, client_address
from config.proxies import parse_trusted_proxies
from provisioning_logs.health import health_of
from provisioning_logs.models import HealthState, QuarantineReason


pytestmark = pytest.mark.django_db
ACTIVITY_URL = "/admin/accounts/adminactivity/"


@pytest.fixture
def connection(organization):
    return connection_get_or_create(organization=organization)


def _url(connection, suffix):
    return f"/admin/accounts/provisioningconnection/{connection.pk}/{suffix}/"


def _entries():
    return list(
        AdminActivity.objects.order_by("id").values_list(
            "actor_name", "action", "summary", "client_address", "source"
        )
    )


def test_the_client_address_comes_from_one_helper():
    request = RequestFactory().get("/", REMOTE_ADDR="203.0.113.7")
    assert client_address(request) == "203.0.113.7"
    assert client_address(None) is None


@override_settings(TRUSTED_PROXIES=parse_trusted_proxies("1"))
def test_behind_a_trusted_proxy_an_action_is_recorded_from_the_forwarded_address(
    admin_browser, make_account, organization
):
    account = make_account("carol@contoso.com", organization=organization)

    admin_browser.post(
        "/admin/accounts/workaccount/",
        {"action": "make_support", "_selected_action": [account.pk]},
        HTTP_X_FORWARDED_FOR="198.51.100.23",
    )

    [entry] = AdminActivity.objects.all()
    assert entry.client_address == "198.51.100.23"


def test_a_role_change_is_recorded_with_who_what_and_from_where(admin_browser, make_account, organization):
    account = make_account("bob@contoso.com", organization=organization)

    admin_browser.post(
        "/admin/accounts/workaccount/", {"action": "make_support", "_selected_action": [account.pk]}
    )

    [entry] = AdminActivity.objects.all()
    assert (entry.actor_name, entry.action, entry.summary, entry.client_address, entry.source) == (
        "admin@contoso.com",
        "role_changed",
        "Role of bob@contoso.com: Member → Support.",
        "127.0.0.1",
        "portal",
    )
    assert (entry.organization_id, entry.target_repr) == (organization.pk, str(account))
    # Django's own History of the account shows it too.
    history = admin_browser.get(f"/admin/accounts/workaccount/{account.pk}/history/").content.decode()
    assert "Role of bob@contoso.com: Member → Support." in history


def test_issuing_and_revoking_a_token_are_recorded(admin_browser, connection):
    admin_browser.post(_url(connection, "tokens/new"), {"label": "entra-prod"})
    token = connection.tokens.get()
    admin_browser.post(_url(connection, f"tokens/{token.pk}/revoke"), {"confirm": "yes"})

    assert [(who, action, summary) for who, action, summary, _, _ in _entries()] == [
        ("admin@contoso.com", "token_issued", f"Issued secret token entra-prod ({token.prefix}…)."),
        ("admin@contoso.com", "token_revoked", f"Revoked secret token entra-prod ({token.prefix}…)."),
    ]


def test_a_revoke_that_was_not_confirmed_records_nothing(admin_browser, connection, organization):
    issued = scim_token_create(organization=organization, label="entra-prod")
    admin_browser.post(_url(connection, f"tokens/{issued.token.pk}/revoke"))
    assert _entries() == []


def test_edited_thresholds_are_recorded_old_to_new(admin_browser, connection):
    admin_browser.post(_url(connection, "health/thresholds"), {"min_failures": "50", "guard_percent": "20"})

    [(_, action, summary, _, _)] = _entries()
    assert (action, summary) == (
        "thresholds_changed",
        "Thresholds and guard: Evaluate from (failures): default → 50; "
        "Hold disables/deletes beyond (% of accounts per cycle): default → 20.",
    )


def test_clearing_a_quarantine_is_recorded(admin_browser, connection):
    health = health_of(connection)
    health.state, health.reason = HealthState.QUARANTINED, QuarantineReason.INVALID_CREDENTIALS
    health.save()

    admin_browser.post(_url(connection, "health/clear"))

    assert [(action, summary) for _, action, summary, _, _ in _entries()] == [
        ("quarantine_cleared", "Cleared the quarantine.")
    ]


def test_notification_settings_are_recorded(admin_browser, connection):
    admin_browser.post(
        _url(connection, "notifications"),
        {"addresses": "it@contoso.com", "send_on_failure": "on", "digest_interval_minutes": 30},
    )

    [(_, action, summary, _, _)] = _entries()
    assert (action, summary) == (
        "notifications_changed",
        "Notification settings: addresses it@contoso.com; failure e-mails on, at most every 30 min.",
    )


def test_the_connection_page_shows_its_history(admin_browser, connection):
    admin_browser.post(_url(connection, "tokens/new"), {"label": "entra-prod"})

    page = admin_browser.get(
        f"/admin/accounts/provisioningconnection/{connection.pk}/change/"
    ).content.decode()
    history = page[page.index('id="connection-activity"') :]
    assert "admin@contoso.com" in history and "Issued secret token entra-prod" in history
    assert "127.0.0.1" in history


def test_a_command_is_recorded_as_the_command(organization, connection):
    call_command("create_scim_token", organization.slug, "--name", "from-cli")

    [entry] = AdminActivity.objects.all()
    assert (entry.actor_name, entry.source, entry.action, entry.client_address, entry.organization_id) == (
        "manage.py create_scim_token",
        "command",
        "token_issued",
        None,
        organization.pk,
    )


def test_django_admin_saves_are_recorded_with_the_organization(admin_browser, connection):
    admin_browser.post(
        f"/admin/accounts/provisioningconnection/{connection.pk}/change/", {"enabled": "", "_save": "Save"}
    )

    [entry] = AdminActivity.objects.all()
    assert (entry.action, entry.organization_id, entry.client_address) == (
        "changed",
        connection.organization_id,
        "127.0.0.1",
    )
    assert "Changed Enabled." in entry.summary
    assert LogEntry.objects.count() == 1  # Django's own, not a second one


def test_the_activity_list_shows_only_the_viewers_organization(
    support_browser, organization, other_organization, connection
):
    admin_activity_record(action="quarantine_cleared", summary="Ours.", target=connection)
    theirs = connection_get_or_create(organization=other_organization)
    admin_activity_record(action="quarantine_cleared", summary="Theirs.", target=theirs)

    response = support_browser.get(ACTIVITY_URL)

    assert response.status_code == 200
    page = response.content.decode()
    assert "Ours." in page and "Theirs." not in page
    assert "Add admin activity" not in page


def test_members_cannot_read_the_activity_list(portal_client):
    member = portal_client(OrganizationRole.MEMBER)
    assert member.get(ACTIVITY_URL).status_code in (302, 403)


def test_nobody_changes_or_deletes_an_entry(admin_browser, connection):
    entry = admin_activity_record(action="quarantine_cleared", summary="Ours.", target=connection)
    assert admin_browser.post(f"{ACTIVITY_URL}{entry.pk}/delete/").status_code in (403, 302)
    assert AdminActivity.objects.filter(pk=entry.pk).exists()
    assert WorkAccount.objects.exists()
