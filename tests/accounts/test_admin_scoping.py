import pytest
from django.test import Client

from accounts.attributes import AccountAttributes
from accounts.services import account_create, admin_create


pytestmark = pytest.mark.django_db
PASSWORD = "a-long-enough-passphrase-42"


def test_admin_sees_only_accounts_of_their_organization(organization, other_organization):
    account_create(organization=organization, attributes=AccountAttributes(user_name="mine@contoso.com"))
    account_create(
        organization=other_organization, attributes=AccountAttributes(user_name="theirs@fabrikam.com")
    )
    admin_create(organization=organization, email="admin@contoso.com", password=PASSWORD)
    client = Client()
    client.login(username="admin@contoso.com", password=PASSWORD)

    page = client.get("/admin/accounts/workaccount/").content.decode()

    assert "mine@contoso.com" in page
    assert "theirs@fabrikam.com" not in page


def test_member_cannot_use_the_portal(organization):
    account_create(
        organization=organization,
        attributes=AccountAttributes(user_name="member@contoso.com", password=PASSWORD),
    )
    client = Client()
    assert client.login(username="member@contoso.com", password=PASSWORD)
    assert client.get("/admin/").status_code == 302


def test_account_page_shows_its_groups(organization):
    from accounts.attributes import GroupAttributes
    from accounts.services import group_create

    member = account_create(
        organization=organization, attributes=AccountAttributes(user_name="member@contoso.com")
    ).account
    group_create(
        organization=organization,
        attributes=GroupAttributes(display_name="Engineering"),
        member_ids=frozenset({member.pk}),
    )
    admin_create(organization=organization, email="admin@contoso.com", password=PASSWORD)
    client = Client()
    client.login(username="admin@contoso.com", password=PASSWORD)

    page = client.get(f"/admin/accounts/workaccount/{member.pk}/change/").content.decode()

    assert "Engineering" in page
    assert "Groups (managed by Microsoft Entra ID)" in page


def test_group_list_shows_member_count_of_own_organization_only(organization, other_organization):
    from accounts.attributes import GroupAttributes
    from accounts.services import group_create

    group_create(organization=organization, attributes=GroupAttributes(display_name="Sales"))
    group_create(organization=other_organization, attributes=GroupAttributes(display_name="Hidden"))
    admin_create(organization=organization, email="admin@contoso.com", password=PASSWORD)
    client = Client()
    client.login(username="admin@contoso.com", password=PASSWORD)

    page = client.get("/admin/accounts/workgroup/").content.decode()

    assert "Sales" in page
    assert "Hidden" not in page
