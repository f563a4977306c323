"""
Rotation without downtime: a connection holds two live secret tokens and two live client secrets
at once (the new one beside the old one), never three; the portal shows when each was last used
and from where, so the admin revokes the old one once Entra has switched. Optional expiry dates
stop a credential at once, and reminders go out 14 and 3 days before, once each, through the
outbox to a real SMTP server.
"""

import base64
import importlib
import re
import threading
from datetime import timedelta
from io import StringIO

import pytest
from django.apps import apps as django_apps
from django.conf import settings as django_settings
from django.contrib.auth.hashers import check_password
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection as database
from django.test import Client
from django.utils import timezone
from oauth2_provider.models import Application

from accounts.connections.credentials import (
    EXPIRY_IN_THE_PAST,
    TOO_MANY_SECRETS,
    TOO_MANY_TOKENS,
    client_secret_create,
    client_secret_revoke,
    expiry_on,
    live,
)
from accounts.connections.models import ConnectionClientSecret, ProvisioningConnection, ScimSecretToken
from accounts.connections.services import (
    entra_client_create,
    scim_token_authenticate,
    scim_token_create,
    scim_token_revoke,
)
from accounts.exceptions import InvalidAttributeValue, UniquenessConflict
from accounts.services import admin_create
from provisioning_logs.credential_expiry import credential_expiry_reminders_send
from provisioning_logs.models import OutboxMessage, OutboxStatus
from provisioning_logs.notifications import notification_settings_save
from tests.conftest import ScimClient


pytestmark = pytest.mark.django_db
PASSWORD = "a-long-enough-passphrase-42"
INVALID_CLIENT = {"error": "invalid_client"}
PAGE = "/admin/accounts/provisioningconnection/{pk}/change/"


def _token(client_id: str, secret: str, *, how: str = "basic"):
    data = {"grant_type": "client_credentials", "scope": "scim"}
    headers = {}
    if how == "basic":
        headers["Authorization"] = "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    else:
        data.update(client_id=client_id, client_secret=secret)
    return Client().post("/o/token/", data, headers=headers)


def _works_on_scim(secret: str) -> int:
    return ScimClient(secret).get("/Users").status_code


@pytest.fixture
def entra(organization):
    """A connection with its OAuth client and its first client secret."""
    return entra_client_create(organization=organization, name="Entra prod")


@pytest.fixture
def admin_browser(organization) -> Client:
    admin_create(organization=organization, email="admin@contoso.com", password=PASSWORD)
    client = Client()
    assert client.login(username="admin@contoso.com", password=PASSWORD)
    return client


def _connection(organization) -> ProvisioningConnection:
    return ProvisioningConnection.objects.get(organization=organization, name="Microsoft Entra ID")


# Secret tokens ------------------------------------------------------------------------------------


def test_two_live_secret_tokens_both_authenticate(organization):
    old = scim_token_create(organization=organization, label="old").secret
    new = scim_token_create(organization=organization, label="new").secret

    assert (_works_on_scim(old), _works_on_scim(new)) == (200, 200)


def test_a_third_live_secret_token_is_refused_with_the_message(organization):
    scim_token_create(organization=organization, label="old")
    scim_token_create(organization=organization, label="new")

    with pytest.raises(UniquenessConflict) as refused:
        scim_token_create(organization=organization, label="third")

    assert refused.value.message == (
        "This connection already has two live secret tokens. Revoke the one Entra no longer uses "
        "(compare “Last used”) before issuing another."
    )
    assert list(ScimSecretToken.objects.order_by("label").values_list("label", flat=True)) == ["new", "old"]


def test_an_expired_token_leaves_room_for_a_new_one(organization):
    scim_token_create(organization=organization, label="old")
    expiring = scim_token_create(organization=organization, label="expiring", expires_days=1)
    ScimSecretToken.objects.filter(pk=expiring.token.pk).update(expires_at=timezone.now())

    assert scim_token_create(organization=organization, label="new").token.label == "new"


def test_revoking_the_old_token_leaves_the_new_one_working(organization):
    old = scim_token_create(organization=organization, label="old").secret
    new = scim_token_create(organization=organization, label="new").secret

    scim_token_revoke(organization=organization, label="old")

    assert (_works_on_scim(old), _works_on_scim(new)) == (401, 200)
    assert scim_token_create(organization=organization, label="next").token.label == "next"


def test_an_expired_token_is_refused_at_once(organization):
    issued = scim_token_create(organization=organization, label="short", expires_days=1)
    ScimSecretToken.objects.filter(pk=issued.token.pk).update(expires_at=timezone.now())

    response = ScimClient(issued.secret).get("/Users")

    assert response.status_code == 401
    assert response.body == {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
        "status": "401",
        "detail": "The bearer token is not valid: it is unknown, expired or revoked.",
    }


def test_token_use_records_when_and_from_where(organization):
    issued = scim_token_create(organization=organization, label="entra")

    scim_token_authenticate(issued.secret, client_address="203.0.113.7")

    token = ScimSecretToken.objects.get(pk=issued.token.pk)
    assert token.last_used_from == "203.0.113.7"
    assert timezone.now() - token.last_used_at < timedelta(minutes=1)


def test_token_use_from_a_peer_without_an_address_records_none(organization):
    issued = scim_token_create(organization=organization, label="entra")

    scim_token_authenticate(issued.secret, client_address="unix:/run/gunicorn.sock")

    token = ScimSecretToken.objects.get(pk=issued.token.pk)
    assert (token.last_used_from, token.last_used_at is not None) == (None, True)


def test_scim_request_records_the_tokens_client_address(organization):
    issued = scim_token_create(organization=organization, label="entra")

    Client(REMOTE_ADDR="198.51.100.20").get(
        "/scim/v2/Users", headers={"Authorization": f"Bearer {issued.secret}"}
    )

    assert ScimSecretToken.objects.get(pk=issued.token.pk).last_used_from == "198.51.100.20"


def test_token_expiry_must_be_in_the_future(organization):
    with pytest.raises(InvalidAttributeValue) as refused:
        scim_token_create(organization=organization, label="x", expires_at=timezone.now())
    assert refused.value.message == EXPIRY_IN_THE_PAST


# Secret tokens in the portal ----------------------------------------------------------------------


def test_portal_shows_last_used_and_from_where_per_token(admin_browser, organization):
    old = scim_token_create(organization=organization, label="old")
    new = scim_token_create(organization=organization, label="new")
    used = timezone.now().replace(year=2026, month=11, day=30, hour=8, minute=15)
    ScimSecretToken.objects.filter(pk=old.token.pk).update(last_used_at=used, last_used_from="203.0.113.7")

    page = admin_browser.get(PAGE.format(pk=_connection(organization).pk)).content.decode()

    old_row = re.search(rf'<tr id="token-{old.token.pk}".*?</tr>', page, re.S).group(0)
    new_row = re.search(rf'<tr id="token-{new.token.pk}".*?</tr>', page, re.S).group(0)
    assert '<td class="credential-last-used">2026-11-30 08:15 from 203.0.113.7</td>' in old_row
    assert '<td class="credential-last-used">never</td>' in new_row


def test_portal_offers_rotation_beside_one_live_token(admin_browser, organization):
    scim_token_create(organization=organization, label="old")

    page = admin_browser.get(PAGE.format(pk=_connection(organization).pk)).content.decode()

    assert 'value="Rotate: issue a second secret token"' in page


def test_portal_rotation_issues_a_second_token_with_an_expiry(admin_browser, organization):
    scim_token_create(organization=organization, label="old")
    connection = _connection(organization)
    day = (timezone.now() + timedelta(days=30)).date()

    response = admin_browser.post(
        f"/admin/accounts/provisioningconnection/{connection.pk}/tokens/new/",
        {"label": "new", "expires_on": day.isoformat()},
    )

    secret = re.search(r'id="secret-token">(wat_[^<]+)<', response.content.decode()).group(1)
    token = ScimSecretToken.objects.get(label="new")
    assert (token.expires_at.date(), token.expires_at.hour, token.expires_at.minute) == (day, 0, 0)
    assert _works_on_scim(secret) == 200


def test_portal_with_two_live_tokens_says_to_revoke_one(admin_browser, organization):
    scim_token_create(organization=organization, label="old")
    scim_token_create(organization=organization, label="new")

    page = admin_browser.get(PAGE.format(pk=_connection(organization).pk)).content.decode()

    assert 'id="issue-token"' not in page
    assert (
        '<p class="help" id="issue-token-full">Two secret tokens are live: revoke the one Entra no '
        "longer uses before issuing another.</p>"
    ) in page


def test_portal_refuses_a_third_token_with_the_message(admin_browser, organization):
    scim_token_create(organization=organization, label="old")
    scim_token_create(organization=organization, label="new")
    connection = _connection(organization)

    response = admin_browser.post(
        f"/admin/accounts/provisioningconnection/{connection.pk}/tokens/new/", {"label": "third"}, follow=True
    )

    assert [str(m) for m in response.context["messages"]] == [TOO_MANY_TOKENS]
    assert ScimSecretToken.objects.count() == 2


def test_portal_refuses_an_expiry_date_in_the_past(admin_browser, organization):
    connection = connection_with_token(organization)

    response = admin_browser.post(
        f"/admin/accounts/provisioningconnection/{connection.pk}/tokens/new/",
        {"label": "new", "expires_on": timezone.now().date().isoformat()},
        follow=True,
    )

    assert [str(m) for m in response.context["messages"]] == [
        "Choose a day after today, or leave it empty for no expiry."
    ]
    assert not ScimSecretToken.objects.filter(label="new").exists()


def connection_with_token(organization) -> ProvisioningConnection:
    scim_token_create(organization=organization, label="old")
    return _connection(organization)


# Client secrets -----------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["basic", "post"])
def test_two_live_client_secrets_both_get_tokens(entra, how):
    second = client_secret_create(connection=entra.connection)

    first_answer = _token(entra.client_id, entra.client_secret, how=how)
    second_answer = _token(entra.client_id, second.secret, how=how)

    assert (first_answer.status_code, second_answer.status_code) == (200, 200)
    assert _works_on_scim(second_answer.json()["access_token"]) == 200


def test_a_third_live_client_secret_is_refused_with_the_message(entra):
    client_secret_create(connection=entra.connection)

    with pytest.raises(UniquenessConflict) as refused:
        client_secret_create(connection=entra.connection)

    assert refused.value.message == (
        "This connection already has two live client secrets. Revoke the one Entra no longer uses "
        "(compare “Last used”) before issuing another."
    )
    assert ConnectionClientSecret.objects.count() == 2


def test_revoked_client_secret_gets_invalid_client(entra):
    second = client_secret_create(connection=entra.connection)
    [first] = ConnectionClientSecret.objects.exclude(pk=second.credential.pk)

    client_secret_revoke(connection=entra.connection, secret_id=first.pk)

    refused = _token(entra.client_id, entra.client_secret)
    assert (refused.status_code, refused.json()) == (401, INVALID_CLIENT)
    assert _token(entra.client_id, second.secret).status_code == 200


def test_revoked_client_secret_in_the_body_gets_invalid_client(entra):
    [first] = ConnectionClientSecret.objects.all()
    client_secret_revoke(connection=entra.connection, secret_id=first.pk)

    refused = _token(entra.client_id, entra.client_secret, how="post")

    assert (refused.status_code, refused.json()) == (401, INVALID_CLIENT)


def test_access_tokens_a_revoked_client_secret_got_stop_working_at_once(entra):
    second = client_secret_create(connection=entra.connection)
    [first] = ConnectionClientSecret.objects.exclude(pk=second.credential.pk)
    got_with_first = [_token(entra.client_id, entra.client_secret).json()["access_token"] for _ in range(2)]
    got_with_second = _token(entra.client_id, second.secret).json()["access_token"]
    assert [_works_on_scim(token) for token in got_with_first] == [200, 200]

    revoked = client_secret_revoke(connection=entra.connection, secret_id=first.pk)

    assert revoked.access_tokens_ended == 2
    assert [_works_on_scim(token) for token in got_with_first] == [401, 401]
    assert _works_on_scim(got_with_second) == 200


def _revoke_the_first_secret_by_command(entra) -> str:
    out = StringIO()
    call_command(
        "revoke_client_secret", "contoso", entra.client_secret[:8], "--connection", "Entra prod", stdout=out
    )
    return out.getvalue()


def test_a_client_secret_revoked_from_the_command_says_how_many_access_tokens_stopped(entra):
    second = client_secret_create(connection=entra.connection)
    token = _token(entra.client_id, entra.client_secret).json()["access_token"]

    printed = _revoke_the_first_secret_by_command(entra)

    assert printed == (
        f"Revoked client secret {entra.client_secret[:8]}… of Entra prod (contoso); "
        "the one access token it got stopped working.\n"
    )
    assert _works_on_scim(token) == 401
    assert _token(entra.client_id, second.secret).status_code == 200


def test_client_id_without_a_secret_gets_invalid_client(entra):
    refused = Client().post(
        "/o/token/", {"grant_type": "client_credentials", "scope": "scim", "client_id": entra.client_id}
    )

    assert (refused.status_code, refused.json()) == (401, INVALID_CLIENT)


def test_expired_client_secret_gets_invalid_client(entra):
    ConnectionClientSecret.objects.update(expires_at=timezone.now())

    refused = _token(entra.client_id, entra.client_secret)

    assert (refused.status_code, refused.json()) == (401, INVALID_CLIENT)


def test_the_applications_own_secret_field_is_not_the_client_secret(entra):
    # The Application keeps the hash of a secret nobody knows: revoking a ConnectionClientSecret
    # cannot be undone through django-oauth-toolkit's own check.
    application = Application.objects.get(client_id=entra.client_id)
    assert not check_password(entra.client_secret, application.client_secret)


def test_client_secret_use_records_when_and_from_where(entra):
    Client(REMOTE_ADDR="198.51.100.9").post(
        "/o/token/",
        {"grant_type": "client_credentials", "scope": "scim"},
        headers={
            "Authorization": "Basic "
            + base64.b64encode(f"{entra.client_id}:{entra.client_secret}".encode()).decode()
        },
    )

    [credential] = ConnectionClientSecret.objects.all()
    assert credential.last_used_from == "198.51.100.9"
    assert timezone.now() - credential.last_used_at < timedelta(minutes=1)


def test_a_connection_without_an_oauth_client_has_no_client_secrets(organization):
    connection = connection_with_token(organization)

    with pytest.raises(InvalidAttributeValue) as refused:
        client_secret_create(connection=connection)

    assert refused.value.message == "This connection has no OAuth client, so it has no client secrets."


def test_the_applications_secret_from_before_rotation_keeps_working(organization):
    """Migration 0011 takes the OAuth client's secret over as the connection's first secret."""
    application = Application.objects.create(
        name="contoso: legacy",
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris="https://portal.azure.com/TokenAuthorize",
        client_secret="the-secret-entra-has-had-for-a-year",
    )
    connection = ProvisioningConnection.objects.create(
        organization=organization, name="legacy", application=application
    )
    migration = importlib.import_module("accounts.migrations.0011_credential_rotation")

    migration.secrets_to_connections(django_apps, None)

    assert _token(application.client_id, "the-secret-entra-has-had-for-a-year").status_code == 200
    [credential] = connection.client_secrets.all()
    assert (credential.prefix, credential.revoked_at, credential.expires_at) == ("", None, None)


# Client secrets in the portal ---------------------------------------------------------------------


def test_portal_rotates_the_client_secret_shown_once(admin_browser, entra):
    response = admin_browser.post(
        f"/admin/accounts/provisioningconnection/{entra.connection.pk}/client-secrets/new/", {}
    )

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    page = response.content.decode()
    secret = re.search(r'id="client-secret">([^<]+)<', page).group(1)
    assert 'data-copy-target="client-secret"' in page
    assert _token(entra.client_id, secret).status_code == 200
    assert _token(entra.client_id, entra.client_secret).status_code == 200
    assert secret not in admin_browser.get(PAGE.format(pk=entra.connection.pk)).content.decode()


def test_portal_shows_last_used_per_client_secret(admin_browser, entra):
    second = client_secret_create(connection=entra.connection)
    _token(entra.client_id, second.secret)

    page = admin_browser.get(PAGE.format(pk=entra.connection.pk)).content.decode()

    row = re.search(rf'<tr id="client-secret-{second.credential.pk}".*?</tr>', page, re.S).group(0)
    used = ConnectionClientSecret.objects.get(pk=second.credential.pk).last_used_at
    assert f'<td class="credential-last-used">{used:%Y-%m-%d %H:%M} from 127.0.0.1</td>' in row


def test_portal_revokes_a_client_secret_after_confirmation(admin_browser, entra):
    [first] = ConnectionClientSecret.objects.all()
    url = f"/admin/accounts/provisioningconnection/{entra.connection.pk}/client-secrets/{first.pk}/revoke/"

    asked = admin_browser.get(url)
    assert "Revoke the client secret" in asked.content.decode()
    assert _token(entra.client_id, entra.client_secret).status_code == 200

    revoked = admin_browser.post(url, {"confirm": "yes"})

    assert revoked.status_code == 302
    assert _token(entra.client_id, entra.client_secret).json() == INVALID_CLIENT


def test_portal_revocation_says_the_access_tokens_it_got_stop_working(admin_browser, entra):
    [first] = ConnectionClientSecret.objects.all()
    tokens = [_token(entra.client_id, entra.client_secret).json()["access_token"] for _ in range(3)]
    url = f"/admin/accounts/provisioningconnection/{entra.connection.pk}/client-secrets/{first.pk}/revoke/"

    asked = admin_browser.get(url).content.decode()
    revoked = admin_browser.post(url, {"confirm": "yes"}, follow=True).content.decode()

    assert "the access tokens it already got stop working at once" in asked
    assert (
        f"Client secret {first.prefix}… revoked; Entra can no longer use it, and "
        "the 3 access tokens it got stopped working."
    ) in revoked
    assert [_works_on_scim(token) for token in tokens] == [401, 401, 401]


def test_portal_refuses_a_third_client_secret_with_the_message(admin_browser, entra):
    client_secret_create(connection=entra.connection)

    response = admin_browser.post(
        f"/admin/accounts/provisioningconnection/{entra.connection.pk}/client-secrets/new/", {}, follow=True
    )

    assert [str(m) for m in response.context["messages"]] == [TOO_MANY_SECRETS]


def test_connect_sets_the_first_client_secrets_expiry(admin_browser, organization):
    day = (timezone.now() + timedelta(days=60)).date()

    response = admin_browser.post(
        "/admin/accounts/provisioningconnection/add/",
        {"name": "Entra test", "extra_redirect_uris": "", "secret_expires_on": day.isoformat()},
    )

    assert response.status_code == 200
    [credential] = ConnectionClientSecret.objects.filter(connection__name="Entra test")
    assert credential.expires_at == expiry_on(day)


def test_connect_with_an_expiry_in_the_past_keeps_what_was_typed(admin_browser, organization):
    response = admin_browser.post(
        "/admin/accounts/provisioningconnection/add/",
        {"name": "Entra test", "extra_redirect_uris": "", "secret_expires_on": "2020-01-01"},
    )

    assert response.context["form"].errors == {
        "secret_expires_on": ["Choose a day after today, or leave it empty for no expiry."]
    }
    assert 'value="Entra test"' in response.content.decode()
    assert not ProvisioningConnection.objects.filter(name="Entra test").exists()


# Commands -----------------------------------------------------------------------------------------


def test_create_client_secret_command_prints_a_second_working_secret(entra):
    out = StringIO()

    call_command(
        "create_client_secret", "contoso", "--connection", "Entra prod", "--expires-days", "90", stdout=out
    )

    secret = out.getvalue().strip()
    assert _token(entra.client_id, secret).status_code == 200
    assert _token(entra.client_id, entra.client_secret).status_code == 200
    newest = ConnectionClientSecret.objects.get(prefix=secret[:8])
    assert timedelta(days=89) < newest.expires_at - timezone.now() <= timedelta(days=90)


def test_revoke_client_secret_command_revokes_the_one_it_names(entra):
    second = client_secret_create(connection=entra.connection)

    printed = _revoke_the_first_secret_by_command(entra)

    assert printed == (
        f"Revoked client secret {entra.client_secret[:8]}… of Entra prod (contoso); "
        "it had no live access tokens.\n"
    )
    assert _token(entra.client_id, entra.client_secret).json() == INVALID_CLIENT
    assert _token(entra.client_id, second.secret).status_code == 200


def test_revoke_client_secret_command_refuses_an_unknown_prefix(entra):
    with pytest.raises(CommandError) as refused:
        call_command("revoke_client_secret", "contoso", "nothing1", "--connection", "Entra prod")

    assert str(refused.value) == "This client secret does not exist or is revoked already."


def test_create_entra_client_command_sets_the_secrets_expiry(organization):
    call_command(
        "create_entra_client",
        "contoso",
        "--base-url",
        "https://accounts.example.com",
        "--secret-expires-days",
        "30",
        stdout=StringIO(),
    )

    [credential] = ConnectionClientSecret.objects.all()
    assert timedelta(days=29) < credential.expires_at - timezone.now() <= timedelta(days=30)


# Expiry reminders ---------------------------------------------------------------------------------


@pytest.fixture
def expiring_token(organization):
    notification_settings_save(
        connection=None, organization=organization, addresses="ops@contoso.com", send_on_failure=False
    )
    return scim_token_create(organization=organization, label="entra", expires_days=30).token


@pytest.fixture
def remind(django_capture_on_commit_callbacks):
    """Run the periodic job at these many days before the credential's expiry: how many it queued."""

    def run(credential, *days_before: float) -> list[int]:
        queued = []
        for days in days_before:
            with django_capture_on_commit_callbacks(execute=True):
                now = credential.expires_at - timedelta(days=days)
                queued.append(credential_expiry_reminders_send(now=now))
        return queued

    return run


def test_reminder_14_days_before_is_mailed_once(expiring_token, smtp_sink, remind):
    expires = expiring_token.expires_at

    assert remind(expiring_token, 13.9, 13.5, 4) == [1, 0, 0]

    [received] = smtp_sink.wait_for(1)
    assert received.rcpt_tos == ("ops@contoso.com",)
    assert received.subject == (
        f"[Work Accounts] Contoso · Microsoft Entra ID: secret token entra ({expiring_token.prefix}…) "
        f"expires {expires:%Y-%m-%d}"
    )
    assert f"expires on {expires:%Y-%m-%d %H:%M} UTC, in 13 days." in received.text


def test_reminder_3_days_before_is_mailed_once_after_the_14_day_one(expiring_token, smtp_sink, remind):
    assert remind(expiring_token, 14, 3, 2.5, 1) == [1, 1, 0, 0]

    assert len(smtp_sink.wait_for(2)) == 2
    assert sorted(OutboxMessage.objects.values_list("status", flat=True)) == [OutboxStatus.SENT] * 2


def test_a_credential_first_seen_within_3_days_gets_only_the_3_day_reminder(
    expiring_token, smtp_sink, remind
):
    assert remind(expiring_token, 2, 1) == [1, 0]

    [received] = smtp_sink.wait_for(1)
    assert "in 2 days." in received.text


def test_no_reminder_for_a_revoked_credential(expiring_token, smtp_sink, remind):
    scim_token_revoke(organization=expiring_token.connection.organization, label="entra")

    assert remind(expiring_token, 14, 3) == [0, 0]
    assert smtp_sink.messages == []


def test_no_reminder_for_a_credential_without_expiry(organization, smtp_sink):
    scim_token_create(organization=organization, label="forever")

    assert credential_expiry_reminders_send(now=timezone.now() + timedelta(days=3650)) == 0
    assert smtp_sink.messages == []


def test_client_secret_reminder_goes_to_the_admins_without_notification_addresses(
    organization, smtp_sink, remind
):
    admin_create(organization=organization, email="admin@contoso.com", password=PASSWORD)
    issued = entra_client_create(
        organization=organization, name="Entra prod", secret_expires_at=timezone.now() + timedelta(days=20)
    )
    [credential] = issued.connection.client_secrets.all()

    assert remind(credential, 14) == [1]
    [received] = smtp_sink.wait_for(1)
    assert received.rcpt_tos == ("admin@contoso.com",)
    assert received.subject == (
        f"[Work Accounts] Contoso · Entra prod: client secret {credential.prefix}… "
        f"expires {credential.expires_at:%Y-%m-%d}"
    )


def test_the_reminders_run_hourly_on_celery_beat():
    from config.celery import app

    entry = django_settings.CELERY_BEAT_SCHEDULE["credential-expiry-reminders"]
    assert entry == {"task": "provisioning_logs.credential_expiry_reminders", "schedule": 3600}
    assert "provisioning_logs.credential_expiry_reminders" in app.tasks


# Concurrency (PostgreSQL: separate connections in separate threads) --------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_rotations_cannot_make_three_live_tokens(organization):
    if database.vendor != "postgresql":
        pytest.skip("needs concurrent database connections: runs in the PostgreSQL pass")
    scim_token_create(organization=organization, label="old")
    racers = 4
    barrier = threading.Barrier(racers)
    outcomes = {}

    def rotate(number):
        try:
            barrier.wait()
            scim_token_create(organization=organization, label=f"new-{number}")
            outcomes[number] = "issued"
        except UniquenessConflict as exc:
            outcomes[number] = exc.message
        finally:
            database.close()  # this thread's own connection

    threads = [threading.Thread(target=rotate, args=(number,)) for number in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes.values()) == sorted(["issued"] + [TOO_MANY_TOKENS] * (racers - 1))
    assert ScimSecretToken.objects.filter(live()).count() == 2
