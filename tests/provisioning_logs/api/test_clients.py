"""API clients: `manage.py create_api_client` / `revoke_api_client` and the portal's "API clients"."""

import json
import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from accounts.models import OrganizationRole
from provisioning_logs.api.clients import NAME_TAKEN
from provisioning_logs.api.models import ApiClient
from tests.provisioning_logs.api.conftest import ApiClient as Api
from tests.provisioning_logs.api.conftest import token_response


pytestmark = pytest.mark.django_db
CLIENTS = "/admin/provisioning_logs/apiclient/"


def create_command(*args) -> dict:
    out = StringIO()
    call_command("create_api_client", *args, stdout=out)
    return json.loads(out.getvalue())


# manage.py ----------------------------------------------------------------------------------------


def test_create_api_client_prints_what_the_client_needs(organization, settings):
    settings.PORTAL_BASE_URL = "https://portal.example.com"

    printed = create_command("contoso", "--name", "Splunk")

    client = ApiClient.objects.get()
    assert printed == {
        "organization": "contoso",
        "name": "Splunk",
        "client_id": client.client_id,
        "client_secret": printed["client_secret"],
        "token_url": "https://portal.example.com/o/token/",
        "scope": "audit:read",
        "api_url": "https://portal.example.com/api/v1/",
    }
    assert len(printed["client_secret"]) >= 40
    assert client.application.client_secret != printed["client_secret"]  # stored hashed


def test_the_printed_credentials_get_a_token_that_reads_the_api(organization):
    printed = create_command("contoso", "--name", "Splunk", "--base-url", "https://x.example")
    token = token_response(printed["client_id"], printed["client_secret"]).json()["access_token"]

    assert Api(token).get("/events/").status_code == 200


def test_create_api_client_refuses_a_name_already_in_use(organization):
    create_command("contoso", "--name", "Splunk")

    with pytest.raises(CommandError, match=re.escape(NAME_TAKEN.format(name="Splunk"))):
        create_command("contoso", "--name", "Splunk")


def test_create_api_client_refuses_an_unknown_organization(db):
    with pytest.raises(CommandError, match="No organization has the slug 'nowhere'"):
        create_command("nowhere", "--name", "Splunk")


def test_a_revoked_clients_name_can_be_used_again(organization):
    first = create_command("contoso", "--name", "Splunk")
    call_command("revoke_api_client", "contoso", first["client_id"], stdout=StringIO())

    second = create_command("contoso", "--name", "Splunk")

    assert second["client_id"] != first["client_id"]


def test_revoke_api_client_ends_its_tokens(organization):
    printed = create_command("contoso", "--name", "Splunk")
    api = Api(token_response(printed["client_id"], printed["client_secret"]).json()["access_token"])
    out = StringIO()

    call_command("revoke_api_client", "contoso", printed["client_id"], stdout=out)

    assert out.getvalue().strip() == "API client 'Splunk' revoked; its tokens no longer work."
    assert api.get("/events/").status_code == 401


def test_revoke_api_client_only_in_its_organization(organization, other_organization):
    printed = create_command("contoso", "--name", "Splunk")

    with pytest.raises(CommandError, match="No API client with client id"):
        call_command("revoke_api_client", "fabrikam", printed["client_id"])


# The portal ---------------------------------------------------------------------------------------


def test_an_admin_creates_a_client_and_sees_its_secret_once(admin_browser):
    response = admin_browser.post(f"{CLIENTS}add/", {"name": "Splunk"})

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    html = response.content.decode()
    secret = re.search(r'<code id="client-secret">([^<]+)</code>', html).group(1)
    client_id = re.search(r'<code id="client-id">([^<]+)</code>', html).group(1)
    assert '<code id="token-url">http://testserver/o/token/</code>' in html
    assert '<code id="scope">audit:read</code>' in html
    assert token_response(client_id, secret).status_code == 200
    client = ApiClient.objects.get()
    assert (client.name, client.organization.slug, client.created_by.user_name) == (
        "Splunk",
        "contoso",
        "admin@contoso.com",
    )
    assert secret not in admin_browser.get(f"{CLIENTS}{client.pk}/change/").content.decode()


def test_the_add_form_keeps_the_name_and_says_what_to_fix(admin_browser):
    admin_browser.post(f"{CLIENTS}add/", {"name": "Splunk"})

    response = admin_browser.post(f"{CLIENTS}add/", {"name": "Splunk"})

    html = response.content.decode()
    assert NAME_TAKEN.format(name="Splunk").replace("'", "&#x27;") in html
    assert 'value="Splunk"' in html
    assert ApiClient.objects.count() == 1


def test_an_admin_revokes_a_client(admin_browser, organization):
    admin_browser.post(f"{CLIENTS}add/", {"name": "Splunk"})
    client = ApiClient.objects.get()

    response = admin_browser.post(f"{CLIENTS}{client.pk}/revoke/", follow=True)

    client.refresh_from_db()
    assert client.revoked_at is not None and client.application is None
    assert client.revoked_by.user_name == "admin@contoso.com"
    assert "revoked: its tokens no longer work" in response.content.decode()


def test_support_staff_read_the_clients_but_cannot_add_or_revoke(portal_client, admin_browser):
    admin_browser.post(f"{CLIENTS}add/", {"name": "Splunk"})
    client = ApiClient.objects.get()
    support = portal_client(OrganizationRole.SUPPORT)

    assert support.get(CLIENTS).status_code == 200
    assert 'id="revoke-api-client"' not in support.get(f"{CLIENTS}{client.pk}/change/").content.decode()
    assert support.get(f"{CLIENTS}add/").status_code == 403
    assert support.post(f"{CLIENTS}{client.pk}/revoke/").status_code == 403
    assert ApiClient.objects.get().revoked_at is None


def test_an_admin_sees_and_revokes_only_their_organizations_clients(admin_browser, other_organization):
    call_command("create_api_client", "fabrikam", "--name", "Theirs", stdout=StringIO())
    theirs = ApiClient.objects.get()

    assert "Theirs" not in admin_browser.get(CLIENTS).content.decode()
    assert admin_browser.post(f"{CLIENTS}{theirs.pk}/revoke/").status_code == 404
    assert ApiClient.objects.get().revoked_at is None
