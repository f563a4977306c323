"""Portal roles change only through account_set_role; losing Admin ends sessions and OAuth tokens."""

import pytest
from django.test import Client
from oauth2_provider.models import AccessToken, RefreshToken, get_application_model

from accounts.exceptions import InvalidAttributeValue
from accounts.models import OrganizationRole, WorkAccount
from accounts.services import account_set_role
from tests.conftest import PORTAL_PASSWORD


pytestmark = pytest.mark.django_db
CHANGELIST = "/admin/accounts/workaccount/"


@pytest.fixture
def admin(make_account, organization):
    return make_account("admin@contoso.com", organization=organization, role=OrganizationRole.ADMIN)


@pytest.fixture
def second_admin(make_account, organization):
    return make_account("second@contoso.com", organization=organization, role=OrganizationRole.ADMIN)


def _signed_in(account) -> Client:
    client = Client()
    assert client.login(username=account.user_name, password=PORTAL_PASSWORD)
    return client


def _oauth_tokens_for(account):
    application = get_application_model().objects.create(
        name="app", client_type="confidential", authorization_grant_type="authorization-code"
    )
    access = AccessToken.objects.create(
        user=account, application=application, token="a" * 40, expires="2999-01-01T00:00Z", scope="scim"
    )
    RefreshToken.objects.create(user=account, application=application, token="r" * 40, access_token=access)


def test_promoting_a_member_gives_portal_access(admin, make_account, organization):
    member = make_account("member@contoso.com", organization=organization)
    account_set_role(account=member, role=OrganizationRole.SUPPORT)
    assert _signed_in(member).get("/admin/").status_code == 200


def test_demoting_an_admin_revokes_the_oauth_tokens_they_authorized(admin, second_admin):
    _signed_in(admin)  # sets last_login: tokens are only issued after a sign-in
    admin.refresh_from_db()
    _oauth_tokens_for(admin)
    account_set_role(account=admin, role=OrganizationRole.MEMBER)
    assert not AccessToken.objects.filter(user=admin).exists()
    assert not RefreshToken.objects.filter(user=admin, revoked__isnull=True).exists()


def test_demoting_an_admin_ends_their_sessions(admin, second_admin):
    browser = _signed_in(admin)
    account_set_role(account=admin, role=OrganizationRole.SUPPORT)
    assert browser.get("/admin/").status_code == 302


def test_the_last_admin_cannot_be_demoted(admin):
    with pytest.raises(InvalidAttributeValue, match="Contoso needs at least one admin"):
        account_set_role(account=admin, role=OrganizationRole.MEMBER)
    assert WorkAccount.objects.get(pk=admin.pk).role == OrganizationRole.ADMIN


def test_an_unknown_role_is_refused(admin):
    with pytest.raises(InvalidAttributeValue, match="'owner' is not a role"):
        account_set_role(account=admin, role="owner")


def test_admin_changes_a_role_with_the_changelist_action(admin, make_account, organization):
    member = make_account("member@contoso.com", organization=organization)
    response = _signed_in(admin).post(
        CHANGELIST, {"action": "make_support", "_selected_action": [str(member.pk)]}, follow=True
    )
    assert "1 account(s) now have the Support role." in response.content.decode()
    assert WorkAccount.objects.get(pk=member.pk).role == OrganizationRole.SUPPORT


def test_changelist_action_reports_why_the_last_admin_stays_admin(admin):
    response = _signed_in(admin).post(
        CHANGELIST, {"action": "make_member", "_selected_action": [str(admin.pk)]}, follow=True
    )
    assert (
        "Role of admin@contoso.com not changed: Contoso needs at least one admin" in response.content.decode()
    )


def test_support_staff_cannot_change_roles(admin, make_account, organization):
    support = make_account("support@contoso.com", organization=organization, role=OrganizationRole.SUPPORT)
    member = make_account("member@contoso.com", organization=organization)
    response = _signed_in(support).post(
        CHANGELIST, {"action": "make_admin", "_selected_action": [str(member.pk)]}
    )
    assert response.status_code in (200, 302, 403)
    assert WorkAccount.objects.get(pk=member.pk).role == OrganizationRole.MEMBER


def test_admin_cannot_change_roles_in_another_organization(admin, make_account, other_organization):
    outsider = make_account("member@fabrikam.com", organization=other_organization)
    _signed_in(admin).post(CHANGELIST, {"action": "make_admin", "_selected_action": [str(outsider.pk)]})
    assert WorkAccount.objects.get(pk=outsider.pk).role == OrganizationRole.MEMBER


def test_account_page_has_no_save_button(admin):
    page = _signed_in(admin).get(f"{CHANGELIST}{admin.pk}/change/").content.decode()
    assert 'name="_save"' not in page


@pytest.mark.django_db
def test_a_platform_superuser_without_organization_gets_a_role():
    root = WorkAccount.objects.create_superuser("root@platform.example", PORTAL_PASSWORD)

    changed = account_set_role(account=root, role=OrganizationRole.SUPPORT)

    assert changed.role == OrganizationRole.SUPPORT
    assert WorkAccount.objects.get(pk=root.pk).role == OrganizationRole.SUPPORT
