"""The connection page shows health, timeline and outbox; admins set notifications, send a test
e-mail, clear quarantine and decide held deprovisionings; support staff only read."""

import pytest
from django.core import mail

from accounts.connections.services import connection_get_or_create
from accounts.models import OrganizationRole
from provisioning_logs.health import health_of
from provisioning_logs.models import HealthState, NotificationSettings, QuarantineReason


pytestmark = pytest.mark.django_db


@pytest.fixture
def connection(organization):
    return connection_get_or_create(organization=organization)


def _page(client, connection) -> str:
    return client.get(f"/admin/accounts/provisioningconnection/{connection.pk}/change/").content.decode()


def _url(connection, suffix):
    return f"/admin/accounts/provisioningconnection/{connection.pk}/{suffix}/"


def _quarantine(connection):
    health = health_of(connection)
    health.state, health.reason = HealthState.QUARANTINED, QuarantineReason.INVALID_CREDENTIALS
    health.save()


def test_healthy_connection_shows_healthy(admin_browser, connection):
    assert '<span class="health-badge health-badge-healthy" id="health-state">Healthy</span>' in _page(
        admin_browser, connection
    )


def test_admin_saves_notification_addresses(admin_browser, connection):
    response = admin_browser.post(
        _url(connection, "notifications"),
        {
            "addresses": "it@contoso.com\nops@contoso.com",
            "send_on_failure": "on",
            "digest_interval_minutes": 60,
        },
        follow=True,
    )
    assert "Notification settings saved." in response.content.decode()
    saved = NotificationSettings.objects.get(connection=connection)
    assert (saved.address_list, saved.send_on_failure) == (["it@contoso.com", "ops@contoso.com"], True)


def test_bad_notification_address_is_named_and_nothing_saved(admin_browser, connection):
    response = admin_browser.post(
        _url(connection, "notifications"),
        {"addresses": "it@contoso.com\nnot-an-address", "digest_interval_minutes": 60},
        follow=True,
    )
    assert "“not-an-address” is not a valid e-mail address." in response.content.decode()
    assert not NotificationSettings.objects.exists()


def test_send_test_email_reports_that_the_server_accepted_it(admin_browser, connection):
    admin_browser.post(
        _url(connection, "notifications"), {"addresses": "it@contoso.com", "digest_interval_minutes": 60}
    )
    response = admin_browser.post(_url(connection, "notifications/test"), follow=True)
    assert "The mail server accepted the test e-mail for it@contoso.com." in response.content.decode()
    assert [message.to for message in mail.outbox] == [["it@contoso.com"]]


def test_quarantined_connection_shows_reason_and_admin_clears_it(admin_browser, connection):
    _quarantine(connection)
    page = _page(admin_browser, connection)
    assert (
        'id="health-state">Quarantined</span>' in page and 'id="health-reason">Invalid credentials<' in page
    )
    response = admin_browser.post(_url(connection, "health/clear"), follow=True)
    assert "Quarantine cleared. The connection is healthy again." in response.content.decode()
    assert health_of(connection).state == HealthState.HEALTHY
    assert "Cleared by admin@contoso.com." in _page(admin_browser, connection)


def test_support_staff_see_health_but_no_controls(support_browser, connection):
    _quarantine(connection)
    page = _page(support_browser, connection)
    assert 'id="health-state">Quarantined</span>' in page
    assert "Clear quarantine" not in page and "Send test e-mail" not in page
    assert support_browser.post(_url(connection, "health/clear")).status_code == 403
    assert health_of(connection).state == HealthState.QUARANTINED


def test_admin_sets_smaller_thresholds_and_the_guard(admin_browser, connection):
    admin_browser.post(
        _url(connection, "health/thresholds"),
        {
            "min_failures": 5,
            "failure_percent": 40,
            "failure_limit": "",
            "absolute_limit": "",
            "guard_percent": 20,
        },
    )
    health = health_of(connection)
    assert (health.min_failures, health.failure_percent, health.failure_limit, health.guard_percent) == (
        5,
        40,
        None,
        20,
    )


def test_admin_of_another_organization_cannot_touch_the_connection(
    portal_client, other_organization, connection
):
    outsider = portal_client(OrganizationRole.ADMIN, organization=other_organization)
    _quarantine(connection)
    assert outsider.post(_url(connection, "health/clear")).status_code == 404
    assert health_of(connection).state == HealthState.QUARANTINED


def test_admin_saves_the_organizations_default_notification_settings(admin_browser, connection):
    response = admin_browser.post(
        _url(connection, "notifications"),
        {"addresses": "it@contoso.com", "digest_interval_minutes": 60, "scope": "organization"},
        follow=True,
    )
    assert "Saved as the default for all connections of Contoso." in response.content.decode()
    default = NotificationSettings.objects.get(connection__isnull=True)
    assert (default.organization_id, default.address_list) == (connection.organization_id, ["it@contoso.com"])
    assert not NotificationSettings.objects.filter(connection=connection).exists()
