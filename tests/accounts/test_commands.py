from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from accounts.models import Organization, OrganizationRole, WorkAccount


pytestmark = pytest.mark.django_db


def _call(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_create_org_creates_the_organization(db):
    assert _call("create_org", "acme", "--name", "Acme Corp") == "Created organization acme (Acme Corp).\n"
    assert Organization.objects.get(slug="acme").name == "Acme Corp"


def test_create_org_with_taken_slug_fails_with_message(organization):
    with pytest.raises(CommandError, match="An organization with the slug 'contoso' already exists."):
        _call("create_org", "contoso", "--name", "Again")


def test_create_admin_creates_an_admin_who_can_use_the_portal(organization):
    _call("create_admin", "contoso", "it@contoso.com", "--password", "correct-horse-battery-9")
    account = WorkAccount.objects.get(user_name="it@contoso.com")
    assert account.role == OrganizationRole.ADMIN
    client = Client()
    assert client.login(username="it@contoso.com", password="correct-horse-battery-9")
    assert client.get("/admin/accounts/workaccount/").status_code == 200


def test_create_admin_refuses_a_weak_password(organization):
    with pytest.raises(CommandError, match="too short"):
        _call("create_admin", "contoso", "it@contoso.com", "--password", "abc")
    assert not WorkAccount.objects.filter(user_name="it@contoso.com").exists()


def test_create_admin_for_unknown_organization_fails(db):
    with pytest.raises(CommandError, match="No organization has the slug 'nope'."):
        _call("create_admin", "nope", "it@nope.com", "--password", "correct-horse-battery-9")


def test_seed_demo_prints_scim_url_admin_sign_in_and_a_working_token(db):
    output = _call("seed_demo", "--base-url", "http://127.0.0.1:8000")
    token = next(line.strip() for line in output.splitlines() if line.strip().startswith("wat_"))
    assert "http://127.0.0.1:8000/scim/v2/" in output
    assert "admin@contoso.example" in output
    response = Client().get("/scim/v2/Users", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200


def test_seed_demo_twice_keeps_one_organization_and_issues_a_new_token(db):
    first = _call("seed_demo")
    second = _call("seed_demo")
    assert Organization.objects.filter(slug="contoso").count() == 1
    assert first != second


def test_seed_demo_prints_an_admin_password_that_signs_in(db):
    output = _call("seed_demo")
    line = next(line for line in output.splitlines() if "Admin sign-in" in line)
    password = line.rsplit(" / ", 1)[1].strip()
    assert Client().login(username="admin@contoso.example", password=password)
    second = _call("seed_demo")
    new_password = next(line for line in second.splitlines() if "Admin sign-in" in line).rsplit(" / ", 1)[1]
    assert new_password.strip() != password
    assert Client().login(username="admin@contoso.example", password=new_password.strip())
