"""
Single sign-on with SAML 2.0 against a real identity provider run in-process (tests/accounts/
saml_idp.py, pysaml2 with its own keys): SP- and IdP-initiated sign-in, every way a response is
refused (each with its page, its status and no session), the sign-in page's branch to the IdP,
the password rules around it, the admin configuration and our metadata.
"""

import base64
import xml.etree.ElementTree as ET
from datetime import timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from django.utils.html import escape

from accounts.connections.services import ENTRA_REDIRECT_URI, entra_client_create
from accounts.models import OrganizationRole, SamlAssertionSeen, SsoConfiguration, WorkAccount
from accounts.services.signin import WRONG_CREDENTIALS
from accounts.sso import refusals
from accounts.sso.metadata import MD
from accounts.sso.services import sso_configuration_save
from tests.accounts.saml_idp import UPN_CLAIM, TestIdentityProvider, expire, for_audience, rename
from tests.conftest import PORTAL_PASSWORD


pytestmark = pytest.mark.django_db

BASE = "http://testserver"
ENTITY_ID = f"{BASE}/sso/contoso/metadata/"
ACS_URL = f"{BASE}/sso/contoso/acs/"
ACS_PATH = "/sso/contoso/acs/"
ADMIN_INDEX = "/admin/"


# Fixtures ----------------------------------------------------------------------------------------


@pytest.fixture
def idp(tmp_path) -> TestIdentityProvider:
    return TestIdentityProvider(tmp_path)


def _configure(organization, idp: TestIdentityProvider, **options) -> SsoConfiguration:
    configuration = sso_configuration_save(
        configuration=SsoConfiguration(
            organization=organization,
            enabled=True,
            idp_entity_id=idp.entity_id,
            idp_sso_url=idp.sso_url,
            idp_certificate=idp.certificate_pem,
            **options,
        )
    )
    # What the admin does in Entra: upload our metadata.
    idp.trust(Client().get(f"/sso/{organization.slug}/metadata/").content.decode())
    return configuration


@pytest.fixture
def sso(organization, idp) -> SsoConfiguration:
    return _configure(organization, idp)


@pytest.fixture
def alice(make_account, organization):
    return make_account("alice@contoso.com", organization=organization)


@pytest.fixture
def admin(make_account, organization):
    return make_account("admin@contoso.com", organization=organization, role=OrganizationRole.ADMIN)


@pytest.fixture
def support(make_account, organization):
    return make_account("support@contoso.com", organization=organization, role=OrganizationRole.SUPPORT)


# Helpers -----------------------------------------------------------------------------------------


def _continue(client: Client, username: str, next_url: str | None = None):
    query = "?" + urlencode({"next": next_url}) if next_url else ""
    return client.post("/signin/" + query, {"username": username})


def _to_idp(client: Client, username: str = "alice@contoso.com", next_url: str | None = None) -> str:
    """Step 1 with Continue, then our SP-initiated start: the IdP URL the browser is sent to."""
    response = _continue(client, username, next_url)
    assert response.status_code == 302
    assert urlsplit(response["Location"]).path == "/sso/contoso/login/"
    response = client.get(response["Location"])
    assert response.status_code == 302
    return response["Location"]


def _post(client: Client, posted, **extra):
    assert posted.acs_url == ACS_URL
    return client.post(ACS_PATH, {**posted.fields, **extra})


def _unsolicited(idp, user_name="alice@contoso.com", **options):
    return idp.unsolicited(user_name, acs_url=ACS_URL, audience=ENTITY_ID, **options)


def _signed_in_as(client: Client):
    return client.session.get("_auth_user_id")


def assert_refused(response, reason: refusals.Reason, status: int | None = None):
    assert response.status_code == (status or reason.status), response.content.decode()[:500]
    page = response.content.decode()
    assert f'data-reason="{reason.code}"' in page
    assert escape(reason.title) in page
    assert "Traceback" not in page
    assert "_auth_user_id" not in response.client.session


# SP-initiated and IdP-initiated sign-in ----------------------------------------------------------


def test_continue_sends_an_sso_account_to_its_identity_provider(sso, alice, idp):
    client = Client()
    location = _to_idp(client, "ALICE@contoso.com", next_url="/admin/accounts/")
    assert location.startswith(idp.sso_url + "?")
    request, query = idp.parse_request(location)
    assert request.message.issuer.text == ENTITY_ID
    assert request.message.assertion_consumer_service_url == ACS_URL
    assert request.message.destination == idp.sso_url
    # No NameIDPolicy: Entra then sends the NameID it is configured with (the UPN by default).
    assert request.message.name_id_policy is None
    assert query["RelayState"] == "/admin/accounts/"
    assert "Signature" not in query


def test_sp_initiated_sign_in_signs_in_and_follows_next(sso, support, idp):
    client = Client()
    location = _to_idp(client, "support@contoso.com", next_url="/admin/accounts/")
    response = _post(client, idp.answer(location, "support@contoso.com"))
    assert (response.status_code, response["Location"]) == (302, "/admin/accounts/")
    assert _signed_in_as(client) == str(support.pk)


def test_a_member_signed_in_for_the_portal_lands_on_their_own_page(sso, alice, idp):
    # Members may not open the admin portal: sent there, they would bounce to the sign-in page.
    client = Client()
    location = _to_idp(client, next_url="/admin/accounts/")
    response = _post(client, idp.answer(location, "alice@contoso.com"))
    assert (response.status_code, response["Location"]) == (302, "/me/")
    assert _signed_in_as(client) == str(alice.pk)


def test_sp_initiated_sign_in_matches_the_username_ignoring_case(sso, alice, idp):
    client = Client()
    response = _post(client, idp.answer(_to_idp(client), "Alice@CONTOSO.com"))
    assert response.status_code == 302
    assert _signed_in_as(client) == str(alice.pk)


def test_idp_initiated_sign_in_signs_in_to_the_portal(sso, support, idp):
    client = Client()
    response = _post(client, _unsolicited(idp, "support@contoso.com"))
    assert (response.status_code, response["Location"]) == (302, ADMIN_INDEX)
    assert _signed_in_as(client) == str(support.pk)
    assert client.get(ADMIN_INDEX).status_code == 200


def test_idp_initiated_sign_in_follows_a_relay_state_on_this_site(sso, support, idp):
    client = Client()
    response = _post(client, _unsolicited(idp, "support@contoso.com", relay_state="/admin/accounts/"))
    assert response["Location"] == "/admin/accounts/"


@pytest.mark.parametrize("relay_state", ["https://evil.example/", "//evil.example/x", "javascript:alert(1)"])
def test_relay_state_off_site_is_ignored(sso, support, idp, relay_state):
    response = _post(Client(), _unsolicited(idp, "support@contoso.com", relay_state=relay_state))
    assert (response.status_code, response["Location"]) == (302, ADMIN_INDEX)


def test_next_off_site_never_reaches_the_relay_state(sso, alice, idp):
    client = Client()
    location = _to_idp(client, next_url="https://evil.example/")
    assert parse_qs(urlsplit(location).query)["RelayState"] == [ADMIN_INDEX]
    response = _post(client, idp.answer(location, "alice@contoso.com"))
    # alice is a member: the portal's start page is her own page.
    assert response["Location"] == "/me/"


def test_sp_initiated_sign_in_returns_to_the_next_it_started_with_whatever_the_relay_state(sso, support, idp):
    client = Client()
    location = _to_idp(client, "support@contoso.com", next_url="/admin/accounts/")
    posted = idp.answer(location, "support@contoso.com")
    response = _post(client, posted, RelayState="/admin/")
    assert response["Location"] == "/admin/accounts/"


def test_response_signed_on_the_response_only_is_accepted(sso, alice, idp):
    client = Client()
    response = _post(client, _unsolicited(idp, sign_assertion=False, sign_response=True))
    assert response.status_code == 302
    assert _signed_in_as(client) == str(alice.pk)


def test_claim_as_identifier(organization, idp, alice):
    _configure(organization, idp, identifier=UPN_CLAIM)
    client = Client()
    response = _post(client, _unsolicited(idp, claims={UPN_CLAIM: ["alice@contoso.com"]}))
    assert response.status_code == 302
    assert _signed_in_as(client) == str(alice.pk)


def test_missing_claim_is_refused(organization, idp, alice):
    _configure(organization, idp, identifier="userName")
    response = _post(Client(), _unsolicited(idp))
    assert_refused(response, refusals.NO_IDENTIFIER)
    assert "the claim “userName”" in response.content.decode()


def test_signed_authn_request_verifies_with_the_certificate_in_our_metadata(organization, idp, alice):
    _configure(organization, idp, want_signed_authn_request=True)
    client = Client()
    location = _to_idp(client)
    query = parse_qs(urlsplit(location).query)
    assert query["SigAlg"] == ["http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"]
    request, _ = idp.parse_request(location, verify_signature=True)
    assert request.message.issuer.text == ENTITY_ID
    response = _post(client, idp.answer(location, "alice@contoso.com"))
    assert _signed_in_as(client) == str(alice.pk), response.content


def test_identity_provider_cross_site_post_is_posted_again_from_our_page(sso, alice, idp):
    browser = Client()
    posted = idp.answer(_to_idp(browser), "alice@contoso.com")
    # The IdP's cross-site POST arrives without the SameSite=Lax session cookie.
    without_cookie = Client().post(ACS_PATH, posted.fields)
    assert without_cookie.status_code == 200
    page = without_cookie.content.decode()
    assert f'action="{ACS_PATH}"' in page and 'name="continued" value="1"' in page
    assert escape(posted.fields["SAMLResponse"]) in page
    # Our page posts it again, same-site, with the cookie.
    response = _post(browser, posted, continued="1")
    assert response.status_code == 302
    assert _signed_in_as(browser) == str(alice.pk)


# Refusals ----------------------------------------------------------------------------------------


def test_response_changed_after_signing_is_refused(sso, alice, make_account, organization, idp):
    make_account("mallory@contoso.com", organization=organization)
    client = Client()
    posted = idp.answer(_to_idp(client), "alice@contoso.com", after_signing=rename("mallory@contoso.com"))
    assert "mallory@contoso.com" in posted.xml
    assert_refused(_post(client, posted), refusals.SIGNATURE)


def test_response_signed_by_another_key_is_refused(sso, alice, idp, tmp_path):
    rogue = TestIdentityProvider(tmp_path, entity_id=idp.entity_id, sso_url=idp.sso_url, key_name="rogue")
    rogue.trust(Client().get("/sso/contoso/metadata/").content.decode())
    assert_refused(_post(Client(), _unsolicited(rogue)), refusals.SIGNATURE)


def test_unsigned_response_is_refused(sso, alice, idp):
    assert_refused(_post(Client(), _unsolicited(idp, sign_assertion=False)), refusals.SIGNATURE)


def test_response_of_another_identity_provider_is_refused(sso, alice, tmp_path):
    other = TestIdentityProvider(
        tmp_path, entity_id="https://sts.windows.net/another-tenant/", key_name="other"
    )
    other.trust(Client().get("/sso/contoso/metadata/").content.decode())
    assert_refused(_post(Client(), _unsolicited(other)), refusals.WRONG_ISSUER)


def test_response_for_another_audience_is_refused(sso, alice, idp):
    response = _post(Client(), _unsolicited(idp, mutate=for_audience("https://other.example/sp")))
    assert_refused(response, refusals.AUDIENCE)
    assert ENTITY_ID in response.content.decode()


def test_response_for_another_recipient_is_refused(sso, alice, idp):
    def elsewhere(assertion):
        for confirmation in assertion.subject.subject_confirmation:
            confirmation.subject_confirmation_data.recipient = "https://other.example/acs"

    assert_refused(_post(Client(), _unsolicited(idp, mutate=elsewhere)), refusals.RECIPIENT)


def test_response_with_another_destination_is_refused(sso, alice, idp):
    posted = _unsolicited(idp)
    tampered = posted.xml.replace(f'Destination="{ACS_URL}"', 'Destination="https://other.example/acs"')
    fields = {"SAMLResponse": base64.b64encode(tampered.encode()).decode()}
    assert_refused(Client().post(ACS_PATH, fields), refusals.RECIPIENT)


def test_identity_provider_refusal_shows_its_status_code_only(sso, alice, idp):
    client = Client()
    posted = idp.refuse(_to_idp(client), "Call +1 555 0100 to unlock your account")
    response = _post(client, posted)
    assert_refused(response, refusals.IDP_STATUS)
    page = response.content.decode()
    assert "(RequestDenied)" in page
    assert "555" not in page


def test_expired_assertion_is_refused(sso, alice, idp):
    assert_refused(_post(Client(), _unsolicited(idp, mutate=expire)), refusals.EXPIRED)


def test_assertion_within_the_clock_skew_is_accepted(sso, alice, idp):
    client = Client()
    response = _post(client, _unsolicited(idp, mutate=lambda assertion: expire(assertion, minutes_ago=1)))
    assert response.status_code == 302
    assert _signed_in_as(client) == str(alice.pk)


def test_replayed_assertion_is_refused(sso, alice, idp):
    posted = _unsolicited(idp)
    assert _post(Client(), posted).status_code == 302
    assert_refused(_post(Client(), posted), refusals.REPLAYED)


def test_replayed_sp_initiated_response_is_refused_in_the_same_browser(sso, alice, idp):
    client = Client()
    posted = idp.answer(_to_idp(client), "alice@contoso.com")
    assert _post(client, posted).status_code == 302
    client.logout()
    assert_refused(_post(client, posted, continued="1"), refusals.UNSOLICITED)


def test_seen_assertion_is_kept_until_it_expires_and_expired_ones_are_dropped(sso, alice, idp):
    SamlAssertionSeen.objects.create(
        assertion_id="old", organization=sso.organization, expires_at=timezone.now() - timedelta(seconds=1)
    )
    _post(Client(), _unsolicited(idp))
    seen = SamlAssertionSeen.objects.get()
    # The test IdP's assertions live 60 minutes; the row outlives them by the clock skew (2 minutes).
    now = timezone.now()
    assert now + timedelta(minutes=61) < seen.expires_at <= now + timedelta(minutes=62)


def test_response_to_a_request_of_another_browser_is_refused(sso, alice, idp):
    posted = idp.answer(_to_idp(Client()), "alice@contoso.com")
    other_browser = Client()
    _continue(other_browser, "nobody@contoso.com")  # a session of its own, without that request
    assert_refused(_post(other_browser, posted), refusals.UNSOLICITED)


def test_unknown_user_is_refused_and_not_created(sso, idp):
    response = _post(Client(), _unsolicited(idp, "nobody@contoso.com"))
    assert_refused(response, refusals.UNKNOWN_ACCOUNT)
    assert "nobody@contoso.com" in response.content.decode()
    assert not WorkAccount.objects.filter(user_name__iexact="nobody@contoso.com").exists()


@pytest.mark.parametrize("active", [False, None])
def test_disabled_user_is_refused(sso, alice, idp, active):
    WorkAccount.objects.filter(pk=alice.pk).update(is_active=active)
    assert_refused(_post(Client(), _unsolicited(idp)), refusals.DISABLED_ACCOUNT)


def test_deleted_user_is_refused(sso, alice, idp):
    WorkAccount.objects.filter(pk=alice.pk).update(deleted_at=timezone.now())
    assert_refused(_post(Client(), _unsolicited(idp)), refusals.DELETED_ACCOUNT)


def test_user_of_another_organization_is_refused(sso, idp, make_account, other_organization):
    make_account("bob@fabrikam.com", organization=other_organization)
    assert_refused(_post(Client(), _unsolicited(idp, "bob@fabrikam.com")), refusals.UNKNOWN_ACCOUNT)


def test_same_username_in_another_organization_signs_in_this_organizations_account(
    sso, idp, make_account, other_organization, alice
):
    make_account("alice@contoso.com", organization=other_organization)
    client = Client()
    _post(client, _unsolicited(idp))
    assert _signed_in_as(client) == str(alice.pk)


def test_another_organizations_identity_provider_cannot_sign_in_here(
    sso, alice, make_account, other_organization, tmp_path
):
    fabrikam_idp = TestIdentityProvider(
        tmp_path, entity_id="https://sts.windows.net/fabrikam/", key_name="fabrikam"
    )
    _configure(other_organization, fabrikam_idp)
    fabrikam_idp.trust(Client().get("/sso/contoso/metadata/").content.decode())
    posted = fabrikam_idp.unsolicited("alice@contoso.com", acs_url=ACS_URL, audience=ENTITY_ID)
    assert_refused(_post(Client(), posted), refusals.WRONG_ISSUER)


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({}, refusals.MISSING),
        ({"SAMLResponse": "not base64 at all!"}, refusals.MALFORMED),
        ({"SAMLResponse": "PGZvbz48L2Zvbz4="}, refusals.MALFORMED),  # <foo></foo>
        ({"SAMLResponse": "PD94bWw="}, refusals.MALFORMED),  # <?xml
    ],
    ids=["missing", "not-base64", "not-a-response", "not-xml"],
)
def test_malformed_input_gets_400(sso, fields, reason):
    assert_refused(Client().post(ACS_PATH, fields), reason, status=400)


def test_get_on_the_acs_is_a_clear_400(sso):
    assert_refused(Client().get(ACS_PATH), refusals.MISSING, status=400)


def test_sso_turned_off_refuses_sign_in_and_start(sso, alice, idp):
    SsoConfiguration.objects.filter(pk=sso.pk).update(enabled=False)
    assert_refused(_post(Client(), _unsolicited(idp)), refusals.NOT_AVAILABLE, status=404)
    assert_refused(Client().get("/sso/contoso/login/"), refusals.NOT_AVAILABLE, status=404)


def test_unknown_organization_has_no_sso(db):
    assert_refused(Client().get("/sso/nowhere/login/"), refusals.NOT_AVAILABLE, status=404)
    assert Client().get("/sso/nowhere/metadata/").status_code == 404


# The sign-in page around SSO ---------------------------------------------------------------------


def test_unknown_username_goes_to_the_password_step_as_before(sso):
    response = _continue(Client(), "nobody@contoso.com")
    assert urlsplit(response["Location"]).path == "/signin/password/"


def test_disabled_account_of_an_sso_organization_goes_to_the_password_step(sso, alice):
    WorkAccount.objects.filter(pk=alice.pk).update(is_active=False)
    response = _continue(Client(), "alice@contoso.com")
    assert urlsplit(response["Location"]).path == "/signin/password/"


def test_account_of_an_organization_without_sso_goes_to_the_password_step(
    sso, make_account, other_organization
):
    make_account("bob@fabrikam.com", organization=other_organization)
    response = _continue(Client(), "bob@fabrikam.com")
    assert urlsplit(response["Location"]).path == "/signin/password/"


def test_without_require_sso_members_may_still_use_their_password(sso, alice):
    client = Client()
    _continue(client, "alice@contoso.com")
    response = client.post("/signin/password/", {"password": PORTAL_PASSWORD})
    assert response.status_code == 302
    assert _signed_in_as(client) == str(alice.pk)


@pytest.fixture
def required(sso):
    SsoConfiguration.objects.filter(pk=sso.pk).update(require_sso_for_non_admins=True)
    return sso


@pytest.mark.parametrize("username", ["alice@contoso.com", "support@contoso.com"])
def test_require_sso_blocks_password_sign_in_for_non_admins(required, alice, support, username):
    client = Client()
    _continue(client, username)
    page = client.get("/signin/password/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Contoso requires single sign-on" in html
    assert 'name="password"' not in html
    assert "/sso/contoso/login/?next=" in html
    response = client.post("/signin/password/", {"password": PORTAL_PASSWORD})
    assert response.status_code == 403
    assert "_auth_user_id" not in client.session


def test_require_sso_leaves_admins_their_password(required, admin):
    client = Client()
    response = _continue(client, "admin@contoso.com")
    assert urlsplit(response["Location"]).path == "/sso/contoso/login/"
    # The IdP is broken: the admin opens the password step instead.
    page = client.get("/signin/password/")
    assert 'name="password"' in page.content.decode()
    response = client.post("/signin/password/", {"password": PORTAL_PASSWORD})
    assert (response.status_code, response["Location"]) == (302, ADMIN_INDEX)
    assert _signed_in_as(client) == str(admin.pk)


def test_use_a_password_instead_skips_sso_for_an_admin(required, admin):
    client = Client()
    response = client.post("/signin/", {"username": "admin@contoso.com", "method": "password"})
    assert urlsplit(response["Location"]).path == "/signin/password/"
    response = client.post("/signin/password/", {"password": PORTAL_PASSWORD})
    assert (response.status_code, _signed_in_as(client)) == (302, str(admin.pk))


def test_use_a_password_instead_still_refuses_members_when_sso_is_required(required, alice):
    client = Client()
    client.post("/signin/", {"username": "alice@contoso.com", "method": "password"})
    assert client.post("/signin/password/", {"password": PORTAL_PASSWORD}).status_code == 403
    assert "_auth_user_id" not in client.session


def test_sign_in_page_offers_a_password_instead(db):
    page = Client().get("/signin/").content.decode()
    assert 'name="method" value="password" class="secondary">Use a password instead</button>' in page


def test_require_sso_does_not_reveal_unknown_usernames(required):
    client = Client()
    _continue(client, "nobody@contoso.com")
    assert 'name="password"' in client.get("/signin/password/").content.decode()
    response = client.post("/signin/password/", {"password": "whatever-1"})
    assert WRONG_CREDENTIALS in response.content.decode()


def test_refusal_page_offers_the_password_step_and_the_way_back(sso, idp):
    page = _post(Client(), _unsolicited(idp, "nobody@contoso.com")).content.decode()
    assert 'href="/signin/?next=%2Fadmin%2F"' in page
    assert 'href="/signin/password/?next=%2Fadmin%2F"' in page


# OAuth authorization through SSO -----------------------------------------------------------------


def test_oauth_authorize_through_sso_ends_on_the_consent_page(sso, admin, idp):
    entra = entra_client_create(organization=sso.organization, name="Entra prod")
    query = {
        "response_type": "code",
        "client_id": entra.client_id,
        "redirect_uri": ENTRA_REDIRECT_URI,
        "state": "entra-state-1",
    }
    authorize = "/o/authorize/?" + urlencode(query)
    browser = Client()
    response = browser.get(authorize)
    assert response.status_code == 302
    signin = urlsplit(response["Location"])
    assert signin.path == "/signin/"
    next_url = parse_qs(signin.query)["next"][0]
    assert next_url == authorize

    location = _to_idp(browser, "admin@contoso.com", next_url=next_url)
    response = _post(browser, idp.answer(location, "admin@contoso.com"))
    assert (response.status_code, response["Location"]) == (302, authorize)
    consent = browser.get(authorize)
    assert consent.status_code == 200
    assert "Allow Entra prod to provision Contoso?" in consent.content.decode()


# Our metadata ------------------------------------------------------------------------------------


def test_our_metadata_names_the_entity_id_and_acs_url(sso):
    response = Client().get("/sso/contoso/metadata/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/samlmetadata+xml")
    root = ET.fromstring(response.content)
    assert root.tag == f"{{{MD}}}EntityDescriptor"
    assert root.get("entityID") == ENTITY_ID
    acs = root.find(f"{{{MD}}}SPSSODescriptor/{{{MD}}}AssertionConsumerService")
    assert acs.get("Location") == ACS_URL
    assert acs.get("Binding") == "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"


def test_our_metadata_downloads_as_a_file(sso):
    response = Client().get("/sso/contoso/metadata/?download")
    assert response["Content-Disposition"] == 'attachment; filename="contoso-meta-work-accounts-metadata.xml"'


def test_our_metadata_follows_portal_base_url(sso, settings):
    settings.PORTAL_BASE_URL = "https://portal.example.com"
    root = ET.fromstring(Client().get("/sso/contoso/metadata/").content)
    assert root.get("entityID") == "https://portal.example.com/sso/contoso/metadata/"


# Admin portal ------------------------------------------------------------------------------------

ADD_URL = "/admin/accounts/ssoconfiguration/add/"


def _admin_form(**overrides) -> dict:
    form = {
        "enabled": "on",
        "idp_metadata_xml": "",
        "idp_entity_id": "",
        "idp_sso_url": "",
        "idp_certificate": "",
        "identifier_kind": "nameid",
        "identifier_claim": "",
        "_save": "Save",
    }
    form.update(overrides)
    return form


def _signed_in(account) -> Client:
    client = Client()
    client.force_login(account)
    return client


@pytest.mark.parametrize(
    ("content", "error"),
    [
        (b"<EntityDescriptor><unclosed></EntityDescriptor>", "The metadata is not well-formed XML"),
        (b"<html><body>Sign in</body></html>", "This XML is not SAML metadata"),
        (
            b'<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="x"/>',
            "The metadata has no IDPSSODescriptor",
        ),
        (
            b'<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="x">'
            b'<IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">'
            b'<SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" '
            b'Location="https://idp.test/saml2"/></IDPSSODescriptor></EntityDescriptor>',
            "The IDPSSODescriptor has no signing certificate",
        ),
        (b'<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>', "DTD or entity declarations"),
    ],
    ids=["bad-xml", "not-metadata", "no-idp-descriptor", "no-signing-certificate", "entities"],
)
def test_metadata_upload_with_bad_xml_gets_a_form_error_and_saves_nothing(admin, content, error):
    upload = SimpleUploadedFile("metadata.xml", content, content_type="text/xml")
    response = _signed_in(admin).post(ADD_URL, _admin_form(metadata_file=upload))
    assert response.status_code == 200
    assert escape(error) in response.content.decode()
    assert not SsoConfiguration.objects.exists()


def test_pasted_metadata_with_bad_xml_gets_a_form_error(admin):
    response = _signed_in(admin).post(ADD_URL, _admin_form(idp_metadata_xml="<not xml"))
    assert "The metadata is not well-formed XML" in response.content.decode()
    assert not SsoConfiguration.objects.exists()


def test_admin_uploads_entras_metadata_and_sso_is_configured(admin, idp, organization):
    upload = SimpleUploadedFile("Contoso.xml", idp.entra_metadata_xml().encode(), content_type="text/xml")
    response = _signed_in(admin).post(ADD_URL, _admin_form(metadata_file=upload))
    assert response.status_code == 302, response.content.decode()[:3000]
    configuration = SsoConfiguration.objects.get()
    assert configuration.organization == organization
    assert (configuration.idp_entity_id, configuration.idp_sso_url) == (idp.entity_id, idp.sso_url)
    assert configuration.idp_certificate.strip() == idp.certificate_pem.strip()
    assert configuration.idp_metadata_xml.startswith("<?xml")
    assert configuration.enabled and configuration.uses_name_id
    assert "BEGIN PRIVATE KEY" in configuration.sp_private_key


def test_admin_enters_the_identity_provider_by_hand(admin, idp):
    form = _admin_form(
        idp_entity_id=idp.entity_id,
        idp_sso_url=idp.sso_url,
        idp_certificate=idp.certificate_pem,
        identifier_kind="claim",
        identifier_claim=UPN_CLAIM,
        require_sso_for_non_admins="on",
    )
    response = _signed_in(admin).post(ADD_URL, form)
    assert response.status_code == 302
    configuration = SsoConfiguration.objects.get()
    assert configuration.identifier == UPN_CLAIM
    assert configuration.require_sso_for_non_admins


def test_certificate_that_is_not_one_gets_a_form_error(admin, idp):
    form = _admin_form(idp_entity_id=idp.entity_id, idp_sso_url=idp.sso_url, idp_certificate="MIIBnotacert")
    response = _signed_in(admin).post(ADD_URL, form)
    assert "is not a valid base64-encoded X.509 certificate" in response.content.decode()
    assert not SsoConfiguration.objects.exists()


def test_the_three_fields_are_needed_without_metadata(admin):
    response = _signed_in(admin).post(ADD_URL, _admin_form())
    assert response.content.decode().count("Upload or paste the federation metadata XML") == 3
    assert not SsoConfiguration.objects.exists()


def test_change_page_shows_what_to_enter_in_entra(admin, sso):
    page = _signed_in(admin).get(f"/admin/accounts/ssoconfiguration/{sso.pk}/change/").content.decode()
    assert f'<code id="sp-entity-id">{ENTITY_ID}</code>' in page
    assert f'<code id="sp-acs-url">{ACS_URL}</code>' in page
    assert 'href="/sso/contoso/metadata/?download"' in page


def test_add_page_shows_the_entity_id_before_saving(admin):
    page = _signed_in(admin).get(ADD_URL).content.decode()
    assert f'<code id="sp-entity-id">{ENTITY_ID}</code>' in page


def test_our_certificate_downloads_from_the_admin(admin, sso):
    response = _signed_in(admin).get(f"/admin/accounts/ssoconfiguration/{sso.pk}/sp-certificate/")
    assert response.status_code == 200
    assert response.content.decode() == sso.sp_certificate


def test_support_reads_the_configuration_but_cannot_change_it(support, sso):
    client = _signed_in(support)
    url = f"/admin/accounts/ssoconfiguration/{sso.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200
    assert sso.idp_entity_id in page.content.decode()
    assert client.post(url, _admin_form(enabled="")).status_code == 403
    assert client.get(ADD_URL).status_code == 403
    assert SsoConfiguration.objects.get().enabled


def test_admin_of_another_organization_cannot_see_it(sso, make_account, other_organization):
    other_admin = make_account(
        "admin@fabrikam.com", organization=other_organization, role=OrganizationRole.ADMIN
    )
    client = _signed_in(other_admin)
    assert client.get(f"/admin/accounts/ssoconfiguration/{sso.pk}/change/").status_code == 302
    assert client.get(f"/admin/accounts/ssoconfiguration/{sso.pk}/sp-certificate/").status_code == 404
    assert sso.idp_entity_id not in client.get("/admin/accounts/ssoconfiguration/").content.decode()


def test_one_configuration_per_organization(admin, sso):
    assert _signed_in(admin).get(ADD_URL).status_code == 403


def test_admin_turns_sso_off(admin, sso):
    client = _signed_in(admin)
    url = f"/admin/accounts/ssoconfiguration/{sso.pk}/change/"
    response = client.post(
        url,
        _admin_form(
            enabled="",
            idp_metadata_xml=sso.idp_metadata_xml,
            idp_entity_id=sso.idp_entity_id,
            idp_sso_url=sso.idp_sso_url,
            idp_certificate=sso.idp_certificate,
        ),
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    configuration = SsoConfiguration.objects.get()
    assert not configuration.enabled
    assert configuration.sp_private_key == sso.sp_private_key


def test_superuser_configures_any_organization(db, organization, idp):
    root = WorkAccount.objects.create_superuser("root", password=PORTAL_PASSWORD)
    form = _admin_form(
        organization=organization.pk,
        idp_entity_id=idp.entity_id,
        idp_sso_url=idp.sso_url,
        idp_certificate=idp.certificate_pem,
    )
    assert _signed_in(root).post(ADD_URL, form).status_code == 302
    assert SsoConfiguration.objects.get().organization == organization


def test_saving_the_page_as_a_browser_posts_it_keeps_the_metadata(admin, idp):
    upload = SimpleUploadedFile("Contoso.xml", idp.entra_metadata_xml().encode(), content_type="text/xml")
    client = _signed_in(admin)
    client.post(ADD_URL, _admin_form(metadata_file=upload))
    stored = SsoConfiguration.objects.get()
    crlf = {
        name: getattr(stored, name).replace("\n", "\r\n") for name in ("idp_metadata_xml", "idp_certificate")
    }
    form = _admin_form(
        require_sso_for_non_admins="on",
        idp_entity_id=stored.idp_entity_id,
        idp_sso_url=stored.idp_sso_url,
        **crlf,
    )
    assert client.post(f"/admin/accounts/ssoconfiguration/{stored.pk}/change/", form).status_code == 302
    saved = SsoConfiguration.objects.get()
    assert saved.require_sso_for_non_admins
    assert saved.idp_metadata_xml == stored.idp_metadata_xml


def test_identity_provider_edited_by_hand_drops_the_stale_metadata(admin, sso, idp):
    sso.idp_metadata_xml = idp.entra_metadata_xml()
    sso.save()
    form = _admin_form(
        idp_metadata_xml=sso.idp_metadata_xml,
        idp_entity_id=sso.idp_entity_id,
        idp_sso_url="https://idp.test/new/saml2",
        idp_certificate=sso.idp_certificate,
    )
    response = _signed_in(admin).post(f"/admin/accounts/ssoconfiguration/{sso.pk}/change/", form)
    assert response.status_code == 302
    saved = SsoConfiguration.objects.get()
    assert (saved.idp_sso_url, saved.idp_metadata_xml) == ("https://idp.test/new/saml2", "")


def test_broken_configuration_gets_a_page_with_the_password_way_out(organization, idp, alice):
    configuration = _configure(organization, idp, want_signed_authn_request=True)
    SsoConfiguration.objects.filter(pk=configuration.pk).update(sp_private_key="not a key")
    client = Client()
    response = client.get(_continue(client, "alice@contoso.com")["Location"])
    assert_refused(response, refusals.MISCONFIGURED)
    assert 'href="/signin/password/?next=%2Fadmin%2F"' in response.content.decode()
