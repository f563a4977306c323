"""The connection page as a person reads it: sections with anchors, errors at the field with the
input kept, confirmation before destructive actions, the test e-mail in the outbox, a Health column
on the list, and mails that link to the connection and say why they reached the reader."""

import re
from html import unescape

import pytest
from django.core import mail

from accounts.connections.services import connection_get_or_create, scim_token_create
from accounts.models import OrganizationRole
from provisioning_logs.health import health_of
from provisioning_logs.models import (
    HealthState,
    NotificationSettings,
    OutboxMessage,
    QuarantineReason,
    StagedDeprovisioning,
)


pytestmark = pytest.mark.django_db


@pytest.fixture
def connection(organization):
    return connection_get_or_create(organization=organization)


def _url(connection, suffix=""):
    base = f"/admin/accounts/provisioningconnection/{connection.pk}/"
    return f"{base}{suffix}/" if suffix else f"{base}change/"


def _text(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def _quarantine(connection):
    health = health_of(connection)
    health.state, health.reason = HealthState.QUARANTINED, QuarantineReason.INVALID_CREDENTIALS
    health.save()


def test_the_page_lists_its_sections_with_anchors(admin_browser, connection):
    page = admin_browser.get(_url(connection)).content.decode()

    toc = re.search(r'<ul class="connection-toc" id="connection-toc">(.*?)</ul>', page, re.S).group(1)
    assert re.findall(r'<a href="#(\w+)">([^<]+)</a>', toc) == [
        ("credentials", "Credentials"),
        ("client", "SCIM client"),
        ("health", "Health"),
        ("notifications", "Notifications"),
        ("thresholds", "Guard and thresholds"),
        ("history", "History"),
    ]
    for anchor in ("credentials", "client", "health", "notifications", "thresholds", "history"):
        assert f'id="{anchor}"' in page


def test_the_health_banner_comes_before_the_form(admin_browser, connection):
    _quarantine(connection)
    page = admin_browser.get(_url(connection)).content.decode()

    assert page.index('id="health-banner"') < page.index("<form") or page.index(
        'id="health-banner"'
    ) < page.index('id="provisioningconnection_form"')
    banner = re.search(r'<div class="health-banner health-banner-quarantined".*?</div>', page, re.S).group(0)
    assert _text(banner).startswith("Quarantined Invalid credentials since")


def test_tokens_are_listed_once_and_there_is_no_save_and_continue(admin_browser, connection, organization):
    scim_token_create(organization=organization, label="entra-prod")
    page = admin_browser.get(_url(connection)).content.decode()

    assert page.count("<td>entra-prod</td>") == 1
    assert "Save and continue editing" not in page and "Save and add another" not in page


def test_a_bad_threshold_is_shown_at_its_field_with_the_typed_input_kept(admin_browser, connection):
    response = admin_browser.post(
        _url(connection, "health/thresholds"), {"min_failures": "12", "failure_percent": "140"}
    )

    page = response.content.decode()
    assert response.status_code == 200
    row = re.search(r'<div class="form-row errors">(.*?)</div>', page, re.S).group(1)
    assert "Ensure this value is less than or equal to 100." in row
    assert 'name="failure_percent" value="140"' in row
    assert 'name="min_failures" value="12"' in page
    assert health_of(connection).failure_percent is None


def test_a_bad_notification_address_is_shown_at_the_field_with_the_typed_input_kept(
    admin_browser, connection
):
    response = admin_browser.post(
        _url(connection, "notifications"),
        {"addresses": "it@contoso.com\nnot-an-address", "digest_interval_minutes": 60},
    )

    page = response.content.decode()
    row = re.search(r'<div class="form-row errors">(.*?)</textarea>', page, re.S).group(1)
    assert "“not-an-address” is not a valid e-mail address." in unescape(row)
    assert "it@contoso.com\nnot-an-address" in row
    assert not NotificationSettings.objects.exists()


def test_the_test_email_is_listed_as_sent_in_the_outbox(admin_browser, connection):
    admin_browser.post(
        _url(connection, "notifications"), {"addresses": "it@contoso.com", "digest_interval_minutes": 60}
    )

    admin_browser.post(_url(connection, "notifications/test"))

    page = admin_browser.get(_url(connection)).content.decode()
    outbox = _text(re.search(r'<table id="outbox">(.*?)</table>', page, re.S).group(1))
    assert "Nothing sent yet." not in outbox
    assert re.search(r"test e-mail it@contoso\.com Sent \d\d:\d\d:\d\d", outbox), outbox
    assert OutboxMessage.objects.get().status == "sent"
    assert len(mail.outbox) == 1  # recorded, not sent a second time


def test_deciding_held_deprovisionings_asks_for_confirmation_first(admin_browser, connection, make_account):
    account = make_account("leaver@contoso.com", organization=connection.organization)
    StagedDeprovisioning.objects.create(connection=connection, account=account, action="Disable")

    for asked in (
        admin_browser.get(_url(connection, "staged/approve")),
        admin_browser.post(_url(connection, "staged/approve")),
    ):
        assert asked.status_code == 200
        assert "Apply the 1 disable(s)/delete(s) Entra sent beyond the guard?" in asked.content.decode()
    assert StagedDeprovisioning.objects.get().status == "staged"

    admin_browser.post(_url(connection, "staged/discard"), {"confirm": "yes"})
    assert StagedDeprovisioning.objects.get().status == "discarded"


def test_the_connection_list_has_a_health_column(admin_browser, connection):
    _quarantine(connection)
    page = admin_browser.get("/admin/accounts/provisioningconnection/").content.decode()

    assert re.search(r'<th scope="col" class="[^"]*column-health_badge', page)
    assert (
        '<span class="health-badge health-badge-quarantined">Quarantined</span> Invalid credentials' in page
    )


def test_a_quarantine_mail_to_the_admins_says_it_is_the_fallback_and_links_the_connection(
    settings, organization, make_account, connection, django_capture_on_commit_callbacks
):
    from provisioning_logs.health import _transition

    settings.PORTAL_BASE_URL = "https://accounts.example.com"
    make_account("boss@contoso.com", organization=organization, role=OrganizationRole.ADMIN)
    from django.utils import timezone

    with django_capture_on_commit_callbacks(execute=True):
        _transition(
            health_of(connection),
            to_state=HealthState.QUARANTINED,
            reason=QuarantineReason.INVALID_CREDENTIALS,
            cause="3 requests in a row were refused with HTTP 401.",
            now=timezone.now(),
        )

    [message] = mail.outbox
    assert message.to == ["boss@contoso.com"]
    assert "You receive this as an admin of Contoso: the provisioning connection" in message.body
    assert "has no notification address" in message.body
    assert "notification address of the provisioning connection" not in message.body
    page = (
        f"https://accounts.example.com/admin/accounts/provisioningconnection/{connection.pk}/change/#health"
    )
    assert f"Open the connection in the Work Accounts portal: {page}" in message.body


def test_a_quarantine_mail_to_the_notification_address_says_so(
    settings, organization, connection, django_capture_on_commit_callbacks
):
    from django.utils import timezone

    from provisioning_logs.health import _transition
    from provisioning_logs.notifications import notification_settings_save

    notification_settings_save(
        connection=connection, organization=organization, addresses="it@contoso.com", send_on_failure=False
    )
    with django_capture_on_commit_callbacks(execute=True):
        _transition(
            health_of(connection),
            to_state=HealthState.QUARANTINED,
            reason=QuarantineReason.INVALID_CREDENTIALS,
            cause="3 requests in a row were refused with HTTP 401.",
            now=timezone.now(),
        )

    [message] = mail.outbox
    assert message.to == ["it@contoso.com"]
    assert "your address is a notification address of the provisioning connection" in message.body
    assert "as an admin of" not in message.body
