"""
The sign-in pages: username and Continue, then the password. Errors never reveal whether a
username exists, and repeated failures lock the username (and, later, the address) out.
"""

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client, override_settings
from django.utils import timezone

from accounts.models import OrganizationRole, SignInFailure, WorkAccount
from accounts.services.signin import THROTTLED, WRONG_CREDENTIALS
from tests.conftest import PORTAL_PASSWORD


pytestmark = pytest.mark.django_db
ADMIN_INDEX = "/admin/"


@pytest.fixture
def admin(make_account, organization):
    return make_account("admin@contoso.com", organization=organization, role=OrganizationRole.ADMIN)


def _continue(client: Client, username: str, next_url: str | None = None):
    query = f"?next={next_url}" if next_url else ""
    return client.post("/signin/" + query, {"username": username})


def _sign_in(client: Client, username: str, password: str, next_url: str | None = None, **extra):
    _continue(client, username, next_url)
    data = {"password": password}
    if next_url:
        data["next"] = next_url
    return client.post("/signin/password/", data, **extra)


def test_step_one_asks_only_for_the_username_with_a_continue_button(db):
    page = Client().get("/signin/").content.decode()
    assert 'name="username"' in page and ">Continue</button>" in page
    assert 'name="password"' not in page


def test_empty_username_says_what_to_enter(db):
    response = _continue(Client(), "   ")
    assert response.status_code == 200
    assert "Enter your Meta Work Accounts username." in response.content.decode()


def test_continue_leads_to_the_password_step_for_that_username(admin):
    client = Client()
    response = _continue(client, "admin@contoso.com")
    assert response.status_code == 302
    assert urlsplit(response["Location"]).path == "/signin/password/"
    page = client.get(response["Location"]).content.decode()
    assert "admin@contoso.com" in page and 'name="password"' in page


def test_continue_with_an_unknown_username_looks_exactly_the_same(db):
    client = Client()
    response = _continue(client, "nobody@contoso.com")
    assert response.status_code == 302
    assert urlsplit(response["Location"]).path == "/signin/password/"


def test_password_step_without_a_username_goes_back_to_step_one(db):
    response = Client().get("/signin/password/")
    assert response.status_code == 302
    assert urlsplit(response["Location"]).path == "/signin/"


def test_right_password_signs_in_and_follows_next(admin):
    client = Client()
    response = _sign_in(client, "ADMIN@contoso.com", PORTAL_PASSWORD, next_url="/admin/accounts/")
    assert (response.status_code, response["Location"]) == (302, "/admin/accounts/")
    assert client.get("/admin/").status_code == 200


def test_next_pointing_to_another_site_is_ignored(admin):
    response = _sign_in(Client(), "admin@contoso.com", PORTAL_PASSWORD, next_url="https://evil.example/")
    assert response["Location"] == ADMIN_INDEX


def test_wrong_password_and_unknown_username_get_the_same_generic_error(admin):
    wrong = _sign_in(Client(), "admin@contoso.com", "not-it")
    unknown = _sign_in(Client(), "nobody@contoso.com", "not-it")
    for response in (wrong, unknown):
        assert response.status_code == 200
        assert WRONG_CREDENTIALS in response.content.decode()


def test_disabled_account_cannot_sign_in_and_gets_the_generic_error(admin):
    WorkAccount.objects.filter(pk=admin.pk).update(is_active=False)
    response = _sign_in(Client(), "admin@contoso.com", PORTAL_PASSWORD)
    assert WRONG_CREDENTIALS in response.content.decode()
    assert "_auth_user_id" not in response.client.session


@override_settings(SIGNIN_MAX_FAILURES_PER_USERNAME=3)
def test_repeated_failures_lock_the_username_even_for_the_right_password(admin):
    for _ in range(3):
        _sign_in(Client(), "admin@contoso.com", "wrong")
    response = _sign_in(Client(), "admin@contoso.com", PORTAL_PASSWORD)
    assert THROTTLED.format(minutes="15 minutes") in response.content.decode()
    assert "_auth_user_id" not in response.client.session


@override_settings(SIGNIN_MAX_FAILURES_PER_USERNAME=3)
def test_unknown_username_is_locked_the_same_way(db):
    for _ in range(3):
        _sign_in(Client(), "nobody@contoso.com", "wrong")
    response = _sign_in(Client(), "nobody@contoso.com", "wrong")
    assert THROTTLED.format(minutes="15 minutes") in response.content.decode()


@override_settings(SIGNIN_MAX_FAILURES_PER_USERNAME=3)
def test_username_lock_ends_when_the_failures_leave_the_window(admin):
    for _ in range(3):
        _sign_in(Client(), "admin@contoso.com", "wrong")
    SignInFailure.objects.update(failed_at=timezone.now() - timedelta(minutes=16))
    response = _sign_in(Client(), "admin@contoso.com", PORTAL_PASSWORD)
    assert response.status_code == 302


@override_settings(SIGNIN_MAX_FAILURES_PER_USERNAME=3)
def test_lock_is_case_insensitive_like_the_username(admin):
    for name in ("admin@contoso.com", "ADMIN@contoso.com", "Admin@Contoso.com"):
        _sign_in(Client(), name, "wrong")
    response = _sign_in(Client(), "admin@CONTOSO.com", PORTAL_PASSWORD)
    assert "Too many failed sign-in attempts" in response.content.decode()


@override_settings(SIGNIN_MAX_FAILURES_PER_ADDRESS=4)
def test_many_usernames_from_one_address_lock_the_address(admin):
    for number in range(4):
        _sign_in(Client(), f"user{number}@contoso.com", "wrong")
    response = _sign_in(Client(), "admin@contoso.com", PORTAL_PASSWORD)
    assert "Too many failed sign-in attempts" in response.content.decode()


@override_settings(SIGNIN_MAX_FAILURES_PER_USERNAME=3)
def test_a_successful_sign_in_clears_the_usernames_failures(admin):
    for _ in range(2):
        _sign_in(Client(), "admin@contoso.com", "wrong")
    assert _sign_in(Client(), "admin@contoso.com", PORTAL_PASSWORD).status_code == 302
    for _ in range(2):
        _sign_in(Client(), "admin@contoso.com", "wrong")
    assert _sign_in(Client(), "admin@contoso.com", PORTAL_PASSWORD).status_code == 302


def test_failures_store_no_username(db):
    _sign_in(Client(), "secret-name@contoso.com", "wrong")
    assert all("secret-name" not in key for key in SignInFailure.objects.values_list("key", flat=True))


def test_the_admin_login_page_sends_to_the_sign_in_page_keeping_next(db):
    response = Client().get("/admin/login/?next=/admin/accounts/")
    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert (location.path, parse_qs(location.query)) == ("/signin/", {"next": ["/admin/accounts/"]})


def test_sign_out_ends_the_session(admin):
    client = Client()
    _sign_in(client, "admin@contoso.com", PORTAL_PASSWORD)
    response = client.post("/signout/")
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 302


def test_sign_in_pages_require_csrf(admin):
    client = Client(enforce_csrf_checks=True)
    assert client.post("/signin/", {"username": "admin@contoso.com"}).status_code == 403


@override_settings(SIGNIN_MAX_FAILURES_PER_ADDRESS=3)
def test_successful_sign_ins_are_not_counted_against_the_address(admin):
    for _ in range(4):
        assert _sign_in(Client(), "admin@contoso.com", PORTAL_PASSWORD).status_code == 302
    assert not SignInFailure.objects.exists()
