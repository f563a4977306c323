"""Disabling an account blocks sign-in and ends its sessions and tokens at once."""

import dataclasses
from datetime import timedelta

import pytest
from django.contrib.auth import authenticate
from django.test import Client
from django.utils import timezone
from oauth2_provider.models import AccessToken, Application, RefreshToken

from accounts.models import OrganizationRole
from accounts.services import account_delete, account_update, admin_create


pytestmark = pytest.mark.django_db
PASSWORD = "a-long-enough-passphrase-42"


@pytest.fixture
def admin_account(organization):
    return admin_create(organization=organization, email="admin@contoso.com", password=PASSWORD)


def _set_active(organization, account, active):
    return account_update(
        organization=organization,
        account_id=account.pk,
        transform=lambda current: dataclasses.replace(current, active=active),
    ).account


def _signed_in_client(account) -> Client:
    client = Client()
    assert client.login(username=account.user_name, password=PASSWORD)
    return client


def test_active_admin_can_sign_in_to_the_portal(admin_account):
    client = _signed_in_client(admin_account)
    assert client.get("/admin/").status_code == 200
    assert admin_account.role == OrganizationRole.ADMIN


def test_disabled_account_cannot_sign_in(organization, admin_account):
    _set_active(organization, admin_account, False)
    assert authenticate(username=admin_account.user_name, password=PASSWORD) is None


def test_account_with_active_removed_cannot_sign_in(organization, admin_account):
    _set_active(organization, admin_account, None)
    assert authenticate(username=admin_account.user_name, password=PASSWORD) is None


def test_disabling_ends_an_open_session_on_its_next_request(organization, admin_account):
    client = _signed_in_client(admin_account)
    _set_active(organization, admin_account, False)
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_disable_then_reenable_still_requires_a_new_sign_in(organization, admin_account):
    client = _signed_in_client(admin_account)
    _set_active(organization, admin_account, False)
    _set_active(organization, admin_account, True)
    assert client.get("/admin/").status_code == 302


def test_disabling_revokes_oauth_tokens_of_the_account(organization, admin_account):
    _signed_in_client(admin_account)  # OAuth tokens are issued only after a sign-in
    admin_account.refresh_from_db()
    application = Application.objects.create(
        name="Entra",
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris="https://portal.azure.com/TokenAuthorize",
    )
    access = AccessToken.objects.create(
        user=admin_account,
        application=application,
        token="access-token-value",
        expires=timezone.now() + timedelta(hours=1),
        scope="scim",
    )
    RefreshToken.objects.create(
        user=admin_account, application=application, token="refresh-token-value", access_token=access
    )

    _set_active(organization, admin_account, False)

    assert not AccessToken.objects.filter(user=admin_account).exists()
    assert all(t.revoked is not None for t in RefreshToken.objects.filter(user=admin_account))


def test_deleting_ends_the_session(organization, admin_account):
    client = _signed_in_client(admin_account)
    account_delete(organization=organization, account_id=admin_account.pk)
    assert client.get("/admin/").status_code == 302
