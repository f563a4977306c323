"""
The portal's pages for people (issue 16): a member's own page, where the site's root and signing
out lead, the 403 page, the designed work-account and group pages, the admin index's sections,
the Connect form's default name and create_entra_client's output.
"""

import json
import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from accounts.attributes import AccountAttributes, ContactValue, GroupAttributes
from accounts.connections.services import DEFAULT_CONNECTION_NAME, connection_get_or_create
from accounts.models import GroupMembership, OrganizationRole, WorkAccount
from accounts.services import account_create, group_create
from tests.conftest import PORTAL_PASSWORD


pytestmark = pytest.mark.django_db


def sign_in_with_password(client: Client, username: str, next_url: str = "/admin/"):
    client.post(f"/signin/?next={next_url}", {"username": username})
    return client.post("/signin/password/", {"password": PORTAL_PASSWORD, "next": next_url})


def text_of(html: str, element_id: str) -> str:
    match = re.search(rf'id="{element_id}"[^>]*>(.*?)</', html, re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", match.group(1))).strip()


# A member's own page -------------------------------------------------------------------------------


def test_a_member_who_signs_in_lands_on_their_own_page(make_account, organization):
    make_account("ada@contoso.com", organization=organization)
    client = Client()

    response = sign_in_with_password(client, "ada@contoso.com")

    assert (response.status_code, response["Location"]) == (302, "/me/")


def test_a_signed_in_member_sent_to_the_portal_goes_to_their_page_not_the_username_form(
    make_account, organization
):
    make_account("ada@contoso.com", organization=organization)
    client = Client()
    sign_in_with_password(client, "ada@contoso.com")

    response = client.get("/admin/", follow=True)

    assert response.redirect_chain[-1] == ("/me/", 302)


def test_the_member_page_says_who_they_are_their_organization_and_that_entra_manages_it(organization):
    account_create(
        organization=organization,
        attributes=AccountAttributes(
            user_name="ada@contoso.com",
            display_name="Ada Lovelace",
            title="Engineer",
            password=PORTAL_PASSWORD,
            emails=(ContactValue(value="ada@contoso.com", type="work", primary=True),),
        ),
    )
    client = Client()
    assert client.login(username="ada@contoso.com", password=PORTAL_PASSWORD)

    html = client.get("/me/").content.decode()

    assert text_of(html, "page-heading") == "Ada Lovelace"
    assert text_of(html, "my-organization") == "Contoso"
    assert "<dt>Job title</dt><dd>Engineer</dd>" in html
    assert "<dt>E-mail</dt><dd>ada@contoso.com (work, primary)</dd>" in html
    assert "manages this work account through Microsoft Entra ID" in text_of(html, "my-managed-by")
    assert '<form method="post" action="/signout/">' in html


def test_the_member_page_needs_a_signed_in_account(db):
    response = Client().get("/me/")

    assert (response.status_code, response["Location"]) == (302, "/signin/?next=/me/")


# The root, signing out, 403 ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "location"),
    [
        (OrganizationRole.ADMIN, "/admin/"),
        (OrganizationRole.SUPPORT, "/admin/"),
        (OrganizationRole.MEMBER, "/me/"),
    ],
)
def test_view_site_sends_each_person_to_their_start_page(portal_client, role, location):
    response = portal_client(role).get("/")

    assert (response.status_code, response["Location"]) == (302, location)


def test_view_site_sends_a_visitor_to_the_sign_in_page(db):
    response = Client().get("/")

    assert (response.status_code, response["Location"]) == (302, "/signin/")


def test_signing_out_lands_on_a_page_with_a_sign_in_link(admin_browser):
    response = admin_browser.post("/signout/", follow=True)

    html = response.content.decode()
    assert text_of(html, "page-heading") == "You are signed out"
    assert '<a class="button" href="/signin/" id="sign-in-again">Sign in again</a>' in html


def test_the_admins_log_out_lands_on_the_same_page(admin_browser):
    html = admin_browser.post("/admin/logout/").content.decode()

    assert text_of(html, "page-heading") == "You are signed out"


def test_support_staff_get_a_403_page_that_says_what_they_can_do(support_browser):
    response = support_browser.get("/admin/accounts/provisioningconnection/add/")

    html = response.content.decode()
    assert response.status_code == 403
    assert text_of(html, "page-heading") == "You can't do this here"
    assert text_of(html, "forbidden-reason") == (
        "Support staff read their organization's portal but change nothing. You can:"
    )
    can = re.sub(r"<[^>]+>|\s+", " ", re.search(r'id="forbidden-can">(.*?)</ul>', html, re.S).group(1))
    assert "read the provisioning logs and the provisioning dashboard" in re.sub(r" +", " ", can)
    assert 'href="/static/portal/pages.css"' in html


# The work-account page ------------------------------------------------------------------------------


@pytest.fixture
def ada(organization):
    manager = account_create(
        organization=organization, attributes=AccountAttributes(user_name="grace@contoso.com")
    ).account
    ada = account_create(
        organization=organization,
        attributes=AccountAttributes(
            user_name="ada@contoso.com",
            display_name="Ada Lovelace",
            department="Research",
            manager_id=manager.pk,
        ),
    ).account
    account_create(
        organization=organization,
        attributes=AccountAttributes(user_name="charles@contoso.com", manager_id=ada.pk),
    )
    group_create(
        organization=organization,
        attributes=GroupAttributes(display_name="Engineering"),
        member_ids=frozenset({ada.pk}),
    )
    return ada


def account_page(client, account) -> str:
    response = client.get(f"/admin/accounts/workaccount/{account.pk}/change/")
    assert response.status_code == 200
    return response.content.decode()


def test_the_account_page_is_titled_by_the_person_not_change_work_account(admin_browser, ada):
    html = account_page(admin_browser, ada)

    assert "<h1>Ada Lovelace</h1>" in html
    assert "Change work account" not in html
    assert "<title>Ada Lovelace | Ada Lovelace | Work Accounts</title>" not in html


def test_the_account_page_shows_only_the_fields_that_are_set_with_their_scim_names(admin_browser, ada):
    html = account_page(admin_browser, ada)

    profile = re.search(r'id="account-profile">(.*?)</dl>', html, re.S).group(1)
    labels = re.findall(r'<dt>([^<]+)<span class="scim-name">([^<]+)</span></dt>', profile)
    assert labels == [
        ("Display name", "displayName"),
        ("User name", "userName"),
        ("Department", "department"),
        ("Created", "meta.created"),
        ("Last changed", "meta.lastModified"),
        ("Id", "id"),
    ]
    for internal in ("Last login", "Superuser status", "Security stamp", "Save"):
        assert internal not in html


def test_the_account_page_shows_groups_manager_and_direct_reports(admin_browser, ada):
    html = account_page(admin_browser, ada)

    assert text_of(html, "account-groups").startswith("Groups (managed by Microsoft Entra ID)")
    assert ">Engineering</a>" in re.search(r'id="account-groups">(.*?)</div>', html, re.S).group(1)
    assert text_of(html, "manager-link") == "grace@contoso.com"
    assert ">charles@contoso.com</a>" in re.search(r'id="account-reports">(.*?)</div>', html, re.S).group(1)


@pytest.mark.parametrize(
    ("change", "status"),
    [({}, "Active"), ({"is_active": False}, "Disabled"), ({"deleted_at": timezone.now()}, "Deleted")],
)
def test_the_account_page_has_a_status_banner(admin_browser, ada, change, status):
    WorkAccount.objects.filter(pk=ada.pk).update(**change)

    html = account_page(admin_browser, ada)

    assert text_of(html, "account-status") == status


# The group page --------------------------------------------------------------------------------------


def test_the_group_page_lists_its_members_in_pages_with_links(admin_browser, organization):
    accounts = [
        account_create(
            organization=organization, attributes=AccountAttributes(user_name=f"u{n}@contoso.com")
        ).account
        for n in range(55)
    ]
    group = group_create(
        organization=organization,
        attributes=GroupAttributes(display_name="Everyone"),
        member_ids=frozenset(account.pk for account in accounts),
    ).group
    ordered = sorted(accounts, key=lambda account: account.pk)

    first = admin_browser.get(f"/admin/accounts/workgroup/{group.pk}/change/").content.decode()
    next_link = re.search(r'<a href="\?after=([0-9a-f-]+)" id="members-next"', first).group(1)
    second = admin_browser.get(
        f"/admin/accounts/workgroup/{group.pk}/change/?after={next_link}"
    ).content.decode()

    assert first.count('class="group-member"') == 50
    assert f'href="/admin/accounts/workaccount/{ordered[0].pk}/change/">{ordered[0].user_name}</a>' in first
    assert second.count('class="group-member"') == 5
    assert 'id="members-next"' not in second
    assert "<h2>Members (55)</h2>" in first
    assert GroupMembership.objects.filter(group=group).count() == 55


# The admin index ------------------------------------------------------------------------------------


def test_the_admin_index_files_organizations_and_sso_apart_from_work_accounts(admin_browser):
    html = admin_browser.get("/admin/").content.decode()

    sections = re.findall(r"<caption>\s*<a [^>]*>([^<]+)</a>\s*</caption>", html)
    assert sections == ["Directory", "Provisioning", "Organization settings"]
    directory = html.split("Directory</a>")[1].split("</table>")[0]
    assert "Work accounts" in directory and "Organizations" not in directory
    assert "Provisioning logs" in html and "Provisioning events" not in html


# Connect form and create_entra_client ---------------------------------------------------------------


def test_the_connect_form_offers_a_name_no_connection_has(admin_browser, organization):
    connection_get_or_create(organization=organization)

    html = admin_browser.get("/admin/accounts/provisioningconnection/add/").content.decode()

    assert f'value="{DEFAULT_CONNECTION_NAME} 2"' in html


def test_create_entra_client_numbers_the_default_name_when_it_is_taken(organization):
    connection_get_or_create(organization=organization)
    out = StringIO()

    call_command("create_entra_client", "contoso", "--base-url", "http://127.0.0.1:8000", stdout=out)

    assert json.loads(out.getvalue())["connection"] == f"{DEFAULT_CONNECTION_NAME} 2"


def test_create_entra_client_prints_the_tenant_url_with_the_port_of_portal_base_url(organization, settings):
    settings.PORTAL_BASE_URL = "http://127.0.0.1:8000"
    out = StringIO()

    call_command("create_entra_client", "contoso", stdout=out)

    assert json.loads(out.getvalue())["tenant_url"] == "http://127.0.0.1:8000/scim/v2/"


def test_create_entra_client_without_a_base_url_says_how_to_give_one_and_creates_nothing(
    organization, settings
):
    settings.PORTAL_BASE_URL = ""

    with pytest.raises(CommandError, match=r"--base-url http://HOST:PORT, or set PORTAL_BASE_URL"):
        call_command("create_entra_client", "contoso")
    assert not organization.connections.exists()


def test_the_account_page_shows_a_manager_that_is_not_provisioned_yet(admin_browser, organization):
    joy = account_create(
        organization=organization,
        attributes=AccountAttributes(user_name="joy@contoso.com", manager_reference="271"),
    ).account

    html = account_page(admin_browser, joy)

    manager = re.search(r'id="account-manager">(.*?)</div>', html, re.S).group(1)
    paragraphs = [re.sub(r"<[^>]+>", "", p).strip() for p in re.findall(r"<p[^>]*>(.*?)</p>", manager, re.S)]
    assert paragraphs == [
        "Manager: 271 — not yet provisioned.",
        "Entra named a manager that is not a work account of this organization yet. It is linked "
        "automatically as soon as an account with this id or externalId is provisioned.",
    ]
    assert "manager-link" not in html and "no-manager" not in html
