"""
Federated credentials (Workload Identity Federation, RFC 7523 §2.2): an identity provider's signed
JWT gets a connection a `scim` token at /o/token/ instead of a client secret. Keys are made here;
the issuer's JWKS is served by a real HTTP server on 127.0.0.1.
"""

import base64
import functools
import hashlib
import hmac
import json
import re
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import StringIO

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection as database
from django.test import Client
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from accounts.connections.federation.keys import PRIVATE_JWKS_URL, cache_seconds, jwks_url_clean
from accounts.connections.federation.models import FederatedCredential, UsedAssertion
from accounts.connections.federation.services import federated_credential_create
from accounts.connections.services import connection_get_or_create, entra_client_create
from accounts.exceptions import InvalidAttributeValue


pytestmark = pytest.mark.django_db

BASE = "https://portal.example.com"
TOKEN_URL = f"{BASE}/o/token/"
ISSUER = "https://login.microsoftonline.com/11111111-2222-3333-4444-555555555555/v2.0"
SUBJECT = "a7b8c9d0-sync-fabric"
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
INVALID_CLIENT = {"error": "invalid_client"}
REFUSED_EVENT = "client_assertion_refused"
PORTS = range(12500, 12600)


@functools.cache
def issuer_keys():
    """Made once per test run: RSA key generation is slow, and the keys are never changed."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048), ec.generate_private_key(
        ec.SECP256R1()
    )


class Issuer:
    """An identity provider: its keys, its JWKS served over HTTP, and the assertions it signs."""

    def __init__(self):
        self.rsa, self.ec = issuer_keys()
        self.keys = [
            {**RSAAlgorithm.to_jwk(self.rsa.public_key(), as_dict=True), "kid": "rsa-1", "use": "sig"},
            {**ECAlgorithm.to_jwk(self.ec.public_key(), as_dict=True), "kid": "ec-1", "use": "sig"},
        ]
        self.cache_control = "max-age=3600"
        self.fetches = 0
        self.path = f"/{uuid.uuid4().hex}/discovery/v2.0/keys"  # caches are shared: one URL per test
        self.server = None
        self.port = None

    @property
    def jwks(self) -> dict:
        return {"keys": self.keys}

    @property
    def jwks_url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.path}"

    def start(self):
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                issuer.fetches += 1
                body = json.dumps(issuer.jwks).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Cache-Control", issuer.cache_control)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        ports = [self.port] if self.port else PORTS
        for port in ports:
            try:
                self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
            except OSError:
                continue
            self.port = port
            break
        else:
            raise RuntimeError("no free port in 12500-12599")
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def claims(self, **overrides) -> dict:
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "sub": SUBJECT,
            "aud": TOKEN_URL,
            "iat": now,
            "nbf": now,
            "exp": now + 600,
            "jti": uuid.uuid4().hex,
        }
        claims.update(overrides)
        return {name: value for name, value in claims.items() if value is not None}

    def assertion(self, alg="RS256", kid=None, **overrides) -> str:
        key = self.rsa if alg == "RS256" else self.ec
        kid = kid or ("rsa-1" if alg == "RS256" else "ec-1")
        return jwt.encode(self.claims(**overrides), key, algorithm=alg, headers={"kid": kid})

    def public_pem(self) -> bytes:
        return self.rsa.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


@pytest.fixture
def issuer():
    issuer = Issuer()
    issuer.start()
    yield issuer
    issuer.stop()


@pytest.fixture(autouse=True)
def federation_settings(settings):
    settings.PORTAL_BASE_URL = BASE
    settings.FEDERATION_JWKS_ALLOW_HTTP = True
    settings.FEDERATION_JWKS_ALLOW_PRIVATE_ADDRESSES = True  # the issuer serves on 127.0.0.1
    settings.FEDERATION_JWKS_TIMEOUT_SECONDS = 2


@pytest.fixture
def entra(organization):
    return entra_client_create(organization=organization, name="Entra prod")


@pytest.fixture
def credential(entra, issuer):
    return federated_credential_create(
        connection=entra.connection, issuer=ISSUER, subject=SUBJECT, base=BASE, jwks_url=issuer.jwks_url
    )


def token_request(assertion: str, **extra):
    data = {
        "grant_type": "client_credentials",
        "client_assertion_type": JWT_BEARER,
        "client_assertion": assertion,
        "scope": "scim",
        **extra,
    }
    return Client().post("/o/token/", data)


@pytest.fixture
def refused(caplog):
    """Asserts a token request was refused with invalid_client, and returns the logged reason."""

    def check(response) -> str:
        assert response.status_code == 401
        assert response.json() == INVALID_CLIENT
        reasons = [
            r.reason for r in caplog.records if getattr(r, "event", None) == "client_assertion_refused"
        ]
        assert len(reasons) == 1
        return reasons[0]

    return check


def scim_users(token: str):
    return Client().get("/scim/v2/Users", headers={"Authorization": f"Bearer {token}"})


# --- a valid assertion ------------------------------------------------------------------------


def test_a_valid_assertion_gets_a_scim_token_for_an_hour(credential, issuer):
    response = token_request(issuer.assertion())

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "expires_in", "token_type", "scope"}
    assert (body["token_type"], body["expires_in"], body["scope"]) == ("Bearer", 3600, "scim")


def test_the_token_of_an_assertion_works_on_scim_for_its_organization(credential, issuer, create_user):
    mine = create_user("mine@contoso.com")["id"]
    token = token_request(issuer.assertion()).json()["access_token"]

    response = scim_users(token)

    assert response.status_code == 200
    assert [user["id"] for user in json.loads(response.content)["Resources"]] == [mine]


def test_an_es256_assertion_gets_a_token(credential, issuer):
    assert token_request(issuer.assertion(alg="ES256")).status_code == 200


def test_an_assertion_with_the_connections_client_id_gets_a_token(credential, issuer, entra):
    assert token_request(issuer.assertion(), client_id=entra.client_id).status_code == 200


def test_a_pasted_jwks_verifies_assertions_without_any_fetch(entra, issuer):
    federated_credential_create(
        connection=entra.connection, issuer=ISSUER, subject=SUBJECT, base=BASE, jwks=json.dumps(issuer.jwks)
    )

    assert token_request(issuer.assertion()).status_code == 200
    assert issuer.fetches == 0


def test_an_audience_in_a_list_is_accepted(credential, issuer):
    response = token_request(issuer.assertion(aud=["api://something-else", TOKEN_URL]))

    assert response.status_code == 200


def test_an_iat_within_the_clock_skew_is_accepted(credential, issuer, settings):
    settings.SCIM_ASSERTION_CLOCK_SKEW = 60
    now = int(time.time())

    assert token_request(issuer.assertion(iat=now + 30, nbf=now + 30)).status_code == 200


def test_a_used_assertion_is_recorded_until_it_expires(credential, issuer):
    exp = int(time.time()) + 600

    token_request(issuer.assertion(exp=exp))

    (used,) = UsedAssertion.objects.all()
    assert used.expires_at.timestamp() == exp + 60


def test_a_token_marks_the_credential_used(credential, issuer):
    token_request(issuer.assertion())

    credential.refresh_from_db()
    assert credential.last_used_at is not None


# --- refusals: each invalid_client, with the reason logged -------------------------------------


def test_a_wrong_issuer_is_refused(credential, issuer, refused):
    reason = refused(token_request(issuer.assertion(iss="https://login.example.net/other/v2.0")))

    assert reason == "no federated credential trusts the issuer https://login.example.net/other/v2.0"


def test_a_wrong_subject_is_refused(credential, issuer, refused):
    reason = refused(token_request(issuer.assertion(sub="someone-else")))

    assert reason == f"no federated credential of the issuer {ISSUER} trusts the subject someone-else"


def test_a_wrong_audience_is_refused(credential, issuer, refused):
    reason = refused(token_request(issuer.assertion(aud="https://other.example.com/o/token/")))

    assert reason == f"aud does not contain {TOKEN_URL}"


def test_an_expired_assertion_is_refused(credential, issuer, refused):
    now = int(time.time())

    reason = refused(token_request(issuer.assertion(iat=now - 900, nbf=now - 900, exp=now - 120)))

    assert reason.startswith(f"the assertion expired (exp {now - 120}, now ")


def test_an_assertion_not_yet_valid_is_refused(credential, issuer, refused):
    now = int(time.time())

    reason = refused(token_request(issuer.assertion(nbf=now + 300)))

    assert reason.startswith(f"the assertion is not yet valid (nbf {now + 300}, now ")


def test_an_iat_in_the_future_beyond_the_clock_skew_is_refused(credential, issuer, refused):
    now = int(time.time())

    reason = refused(token_request(issuer.assertion(iat=now + 300, nbf=None, exp=now + 900)))

    assert reason.startswith(f"the assertion is issued in the future (iat {now + 300}, now ")


def test_an_assertion_living_longer_than_allowed_is_refused(credential, issuer, refused, settings):
    settings.SCIM_ASSERTION_MAX_LIFETIME = 3600
    now = int(time.time())

    reason = refused(token_request(issuer.assertion(iat=now, exp=now + 3601)))

    assert reason == "the assertion's lifetime of 3601 s is longer than 3600 s"


def test_a_replayed_jti_is_refused(credential, issuer, refused):
    assertion = issuer.assertion(jti="once-only")
    assert token_request(assertion).status_code == 200

    reason = refused(token_request(assertion))

    assert reason == 'jti "once-only" was already used'


def test_the_same_jti_in_a_new_assertion_is_refused(credential, issuer, refused):
    assert token_request(issuer.assertion(jti="once-only")).status_code == 200

    reason = refused(token_request(issuer.assertion(jti="once-only")))

    assert reason == 'jti "once-only" was already used'


def test_an_assertion_without_jti_is_refused(credential, issuer, refused):
    reason = refused(token_request(issuer.assertion(jti=None)))

    assert reason == "the assertion has no jti claim"


def test_an_assertion_without_exp_is_refused(credential, issuer, refused):
    reason = refused(token_request(issuer.assertion(exp=None)))

    assert reason == "the assertion has no exp claim"


def test_an_unsigned_assertion_is_refused(credential, issuer, refused):
    unsigned = jwt.encode(issuer.claims(), None, algorithm="none", headers={"kid": "rsa-1"})

    reason = refused(token_request(unsigned))

    assert reason == 'signing algorithm "none" is not allowed (RS256 or ES256 only)'


def test_an_hs256_assertion_keyed_with_the_public_key_is_refused(credential, issuer, refused):
    # The alg confusion attack: HMAC "signed" with the issuer's public key, which anyone has.
    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    signing_input = b64(json.dumps({"alg": "HS256", "kid": "rsa-1", "typ": "JWT"}).encode())
    signing_input += "." + b64(json.dumps(issuer.claims()).encode())
    mac = hmac.new(issuer.public_pem(), signing_input.encode(), hashlib.sha256).digest()

    reason = refused(token_request(f"{signing_input}.{b64(mac)}"))

    assert reason == 'signing algorithm "HS256" is not allowed (RS256 or ES256 only)'


def test_an_es256_header_on_an_rsa_key_is_refused(credential, issuer, refused):
    forged = jwt.encode(issuer.claims(), issuer.ec, algorithm="ES256", headers={"kid": "rsa-1"})

    reason = refused(token_request(forged))

    assert reason == 'signing key "rsa-1" is not a ES256 key'


def test_an_assertion_signed_by_another_key_is_refused(credential, issuer, refused):
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(issuer.claims(), stranger, algorithm="RS256", headers={"kid": "rsa-1"})

    reason = refused(token_request(forged))

    assert reason == "signature does not verify"


def test_an_unknown_kid_refetches_the_jwks_once_then_is_refused(credential, issuer, refused):
    assert token_request(issuer.assertion()).status_code == 200
    assert issuer.fetches == 1

    reason = refused(token_request(issuer.assertion(kid="rotated-away")))

    assert reason == 'unknown signing key: the issuer\'s keys have no kid "rotated-away"'
    assert issuer.fetches == 2


def test_unknown_kids_do_not_refetch_again_within_the_refetch_interval(credential, issuer):
    token_request(issuer.assertion())
    token_request(issuer.assertion(kid="rotated-away"))

    token_request(issuer.assertion(kid="another-unknown"))

    assert issuer.fetches == 2


def test_a_key_the_issuer_rotated_in_is_found_by_the_refetch(credential, issuer):
    token_request(issuer.assertion())
    new_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    issuer.keys.append({**RSAAlgorithm.to_jwk(new_key.public_key(), as_dict=True), "kid": "rsa-2"})

    signed = jwt.encode(issuer.claims(), new_key, algorithm="RS256", headers={"kid": "rsa-2"})

    assert token_request(signed).status_code == 200


def test_an_unreachable_jwks_is_refused_and_works_again_when_reachable(credential, issuer, refused, caplog):
    issuer.stop()

    reason = refused(token_request(issuer.assertion()))
    assert reason == "signing keys unavailable"

    issuer.start()
    assert token_request(issuer.assertion()).status_code == 200


def test_a_jwks_on_a_non_public_address_is_never_fetched(credential, issuer, refused, settings, caplog):
    settings.FEDERATION_JWKS_ALLOW_PRIVATE_ADDRESSES = False

    reason = refused(token_request(issuer.assertion()))

    assert reason == "signing keys unavailable"
    assert issuer.fetches == 0
    assert "127.0.0.1 has no public internet address (only 127.0.0.1)" in caplog.text


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/keys",
        "https://169.254.169.254/latest/meta-data",
        "https://10.1.2.3/keys",
        "https://[::1]/keys",
        "https://[fd00::1]/keys",
        "https://localhost/keys",
        "https://issuer.localhost/keys",
    ],
)
def test_a_jwks_url_naming_a_non_public_host_is_refused_as_typed(url, settings):
    settings.FEDERATION_JWKS_ALLOW_PRIVATE_ADDRESSES = False

    with pytest.raises(InvalidAttributeValue) as refusal:
        jwks_url_clean(url)
    assert str(refusal.value) == PRIVATE_JWKS_URL.format(
        example="https://login.microsoftonline.com/<tenant id>/discovery/v2.0/keys"
    )


def test_a_jwks_url_naming_a_public_host_is_accepted(settings):
    settings.FEDERATION_JWKS_ALLOW_PRIVATE_ADDRESSES = False
    url = "https://login.microsoftonline.com/contoso/discovery/v2.0/keys"

    assert jwks_url_clean(url) == url


def test_the_jwks_is_cached_for_its_max_age(credential, issuer):
    token_request(issuer.assertion())

    token_request(issuer.assertion())

    assert issuer.fetches == 1


def test_a_client_id_of_another_client_is_refused(credential, issuer, organization, refused):
    other = entra_client_create(organization=organization, name="Entra test")

    reason = refused(token_request(issuer.assertion(), client_id=other.client_id))

    assert reason == (
        f"client_id {other.client_id} is not the client of the connection that trusts this issuer and subject"
    )


def test_an_assertion_with_a_client_secret_as_well_is_refused(credential, issuer, entra, refused):
    response = token_request(issuer.assertion(), client_id=entra.client_id, client_secret=entra.client_secret)

    reason = refused(response)

    assert reason == "the request uses a client assertion and another client authentication method"


def test_a_wrong_client_assertion_type_is_refused(credential, issuer, refused):
    reason = refused(token_request(issuer.assertion(), client_assertion_type="urn:example:saml"))

    assert reason == f"client_assertion_type is not {JWT_BEARER}"


def test_a_malformed_assertion_is_refused(credential, refused):
    reason = refused(token_request("not.a.jwt"))

    assert reason == "client_assertion is not a signed JWT"


def test_a_refused_assertion_issues_no_token_and_uses_no_jti(credential, issuer, refused):
    refused(token_request(issuer.assertion(aud="https://other.example.com/")))

    assert not UsedAssertion.objects.exists()


def test_a_client_secret_still_gets_a_token_on_a_connection_with_a_federated_credential(credential, entra):
    response = Client().post(
        "/o/token/",
        {
            "grant_type": "client_credentials",
            "client_id": entra.client_id,
            "client_secret": entra.client_secret,
        },
    )

    assert response.status_code == 200


# --- the JWKS cache lifetime -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("cache_control", "seconds"),
    [
        ("public, max-age=86400", 86400),
        ("max-age=600, private", 600),
        ("max-age=5", 300),  # at least the minimum
        ("max-age=9999999", 86400),  # at most the maximum
        ("no-cache", 300),
        (None, 300),
    ],
)
def test_the_jwks_cache_lifetime_follows_max_age_within_bounds(cache_control, seconds, settings):
    settings.FEDERATION_JWKS_CACHE_MIN_SECONDS = 300
    settings.FEDERATION_JWKS_CACHE_MAX_SECONDS = 86400

    assert cache_seconds(cache_control) == seconds


# --- adding credentials: rules, command ------------------------------------------------------


def test_the_audience_defaults_to_our_token_url(credential):
    assert credential.audience == TOKEN_URL


def test_a_pasted_private_key_is_refused(entra, issuer):
    private = RSAAlgorithm.to_jwk(issuer.rsa, as_dict=True)

    with pytest.raises(Exception, match="contains a private key"):
        federated_credential_create(
            connection=entra.connection,
            issuer=ISSUER,
            subject=SUBJECT,
            base=BASE,
            jwks=json.dumps({"keys": [private]}),
        )
    assert not FederatedCredential.objects.exists()


def test_the_command_adds_a_credential_and_prints_it(entra, issuer):
    out = StringIO()

    call_command(
        "add_federated_credential",
        "contoso",
        "--connection",
        "Entra prod",
        "--issuer",
        ISSUER,
        "--subject",
        SUBJECT,
        "--jwks-url",
        issuer.jwks_url,
        stdout=out,
    )

    credential = FederatedCredential.objects.get()
    assert json.loads(out.getvalue()) == {
        "id": credential.pk,
        "organization": "contoso",
        "connection": "Entra prod",
        "client_id": entra.client_id,
        "token_url": TOKEN_URL,
        "issuer": ISSUER,
        "subject": SUBJECT,
        "audience": TOKEN_URL,
        "jwks_url": issuer.jwks_url,
    }


def test_the_command_reads_a_jwks_file_and_an_audience(entra, issuer, tmp_path):
    jwks_file = tmp_path / "jwks.json"
    jwks_file.write_text(json.dumps(issuer.jwks))
    out = StringIO()

    call_command(
        "add_federated_credential",
        "contoso",
        "--connection=Entra prod",
        f"--issuer={ISSUER}",
        f"--subject={SUBJECT}",
        "--audience=api://provisioning",
        f"--jwks-file={jwks_file}",
        stdout=out,
    )

    printed = json.loads(out.getvalue())
    assert (printed["audience"], printed["jwks_keys"]) == ("api://provisioning", ["rsa-1", "ec-1"])


def test_the_command_refuses_an_unknown_connection(entra, issuer):
    with pytest.raises(
        CommandError, match="Organization 'contoso' has no provisioning connection named 'Nope'"
    ):
        call_command(
            "add_federated_credential",
            "contoso",
            "--connection=Nope",
            f"--issuer={ISSUER}",
            f"--subject={SUBJECT}",
            f"--jwks-url={issuer.jwks_url}",
        )


def test_the_command_refuses_a_plain_http_jwks_url_in_production(entra, settings):
    settings.FEDERATION_JWKS_ALLOW_HTTP = False

    with pytest.raises(CommandError, match="The JWKS URL must be an absolute https:// URL"):
        call_command(
            "add_federated_credential",
            "contoso",
            "--connection=Entra prod",
            f"--issuer={ISSUER}",
            f"--subject={SUBJECT}",
            "--jwks-url=http://keys.example.com/jwks",
        )
    assert not FederatedCredential.objects.exists()


# --- metadata (RFC 8414) ----------------------------------------------------------------------


def test_the_authorization_server_metadata_says_what_the_server_supports(db, settings):
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "OIDC_ISS_ENDPOINT": BASE}

    response = Client().get("/.well-known/oauth-authorization-server")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"] == "public, max-age=3600"
    assert response.json() == {
        "issuer": BASE,
        "authorization_endpoint": f"{BASE}/o/authorize/",
        "token_endpoint": f"{BASE}/o/token/",
        "revocation_endpoint": f"{BASE}/o/revoke_token/",
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code", "client_credentials", "refresh_token"],
        "scopes_supported": ["audit:read", "scim"],
        "token_endpoint_auth_methods_supported": [
            "client_secret_basic",
            "client_secret_post",
            "private_key_jwt",
        ],
        "token_endpoint_auth_signing_alg_values_supported": ["RS256", "ES256"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": True,
        "client_id_metadata_document_supported": False,
    }


# --- the connection page ----------------------------------------------------------------------


def page_of(connection) -> str:
    return f"/admin/accounts/provisioningconnection/{connection.pk}"


def add_form(**overrides) -> dict:
    return {
        "issuer": ISSUER,
        "subject": SUBJECT,
        "audience": TOKEN_URL,
        "jwks_url": "",
        "jwks": "",
        **overrides,
    }


def test_the_connection_page_lists_federated_credentials_with_their_key_source(admin_browser, credential):
    html = admin_browser.get(f"{page_of(credential.connection)}/change/").content.decode()

    row = re.search(rf'id="federated-credential-{credential.pk}">(.*?)</tr>', html, re.S).group(1)
    cells = [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td>(.*?)</td>", row, re.S)]
    assert cells[:4] + cells[5:6] == [ISSUER, SUBJECT, TOKEN_URL, credential.jwks_url, "never"]
    assert 'id="add-federated-credential-link"' in html


def test_the_add_page_offers_our_token_url_as_audience_and_says_what_to_enter_in_entra(admin_browser, entra):
    html = admin_browser.get(f"{page_of(entra.connection)}/federated-credentials/new/").content.decode()

    assert f'name="audience" value="{TOKEN_URL}"' in html
    assert f'id="federated-client-id">{entra.client_id}<' in html
    assert f'id="federated-token-url">{TOKEN_URL}<' in html


def test_an_admin_adds_a_federated_credential_with_a_jwks_url(admin_browser, entra, issuer):
    response = admin_browser.post(
        f"{page_of(entra.connection)}/federated-credentials/new/", add_form(jwks_url=issuer.jwks_url)
    )

    assert response.status_code == 302
    assert response["Location"] == f"{page_of(entra.connection)}/change/#federated-credentials"
    credential = FederatedCredential.objects.get()
    assert (credential.issuer, credential.subject, credential.audience, credential.jwks_url) == (
        ISSUER,
        SUBJECT,
        TOKEN_URL,
        issuer.jwks_url,
    )


def test_a_refused_form_says_why_and_keeps_what_was_typed(admin_browser, entra):
    response = admin_browser.post(
        f"{page_of(entra.connection)}/federated-credentials/new/", add_form(subject="sync-fabric-42")
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert "Say where the signing keys come from: a JWKS URL, or paste a JWK Set." in html
    assert f'name="issuer" value="{ISSUER}"' in html
    assert 'name="subject" value="sync-fabric-42"' in html
    assert not FederatedCredential.objects.exists()


def test_a_pasted_private_key_is_refused_on_the_form_field(admin_browser, entra, issuer):
    private = json.dumps({"keys": [RSAAlgorithm.to_jwk(issuer.rsa, as_dict=True)]})

    response = admin_browser.post(
        f"{page_of(entra.connection)}/federated-credentials/new/", add_form(jwks=private)
    )

    field = re.search(r'<div class="form-row errors">(.*?)</div>', response.content.decode(), re.S).group(1)
    assert "contains a private key" in field
    assert not FederatedCredential.objects.exists()


def test_an_admin_removes_a_federated_credential_after_confirming(admin_browser, credential):
    url = f"{page_of(credential.connection)}/federated-credentials/{credential.pk}/remove/"
    question = admin_browser.get(url).content.decode()
    assert f"Remove the federated credential {SUBJECT} of {ISSUER}?" in question

    response = admin_browser.post(url, {"confirm": "yes"})

    assert response.status_code == 302
    assert not FederatedCredential.objects.exists()


def test_removing_a_federated_credential_ends_the_access_tokens_it_got(
    admin_browser, credential, issuer, entra
):
    tokens = [token_request(issuer.assertion()).json()["access_token"] for _ in range(2)]
    by_secret = (
        Client()
        .post(
            "/o/token/",
            {"grant_type": "client_credentials", "scope": "scim"},
            headers={
                "Authorization": "Basic "
                + base64.b64encode(f"{entra.client_id}:{entra.client_secret}".encode()).decode()
            },
        )
        .json()["access_token"]
    )
    assert [scim_users(token).status_code for token in tokens] == [200, 200]
    url = f"{page_of(credential.connection)}/federated-credentials/{credential.pk}/remove/"

    asked = admin_browser.get(url).content.decode()
    done = admin_browser.post(url, {"confirm": "yes"}, follow=True).content.decode()

    assert "the access tokens it already got stop working at once" in asked
    assert f"Federated credential {SUBJECT} removed; the 2 access tokens it got stopped working." in done
    assert [scim_users(token).status_code for token in tokens] == [401, 401]
    assert scim_users(by_secret).status_code == 200  # the connection's client secret got this one


def test_support_staff_see_federated_credentials_but_cannot_add_them(support_browser, credential):
    html = support_browser.get(f"{page_of(credential.connection)}/change/").content.decode()
    assert f'id="federated-credential-{credential.pk}"' in html
    assert 'id="add-federated-credential-link"' not in html

    response = support_browser.get(f"{page_of(credential.connection)}/federated-credentials/new/")

    assert response.status_code == 403


def test_another_organizations_admin_cannot_add_to_the_connection(portal_client, entra, other_organization):
    outsider = portal_client("admin", organization=other_organization)

    response = outsider.post(f"{page_of(entra.connection)}/federated-credentials/new/", add_form(jwks_url=""))

    assert response.status_code == 404


# --- used once, across workers (PostgreSQL: separate connections in separate threads) ----------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_one_assertion_sent_by_many_clients_at_once_gets_exactly_one_token(organization, issuer):
    if database.vendor != "postgresql":
        pytest.skip("needs concurrent database connections: runs in the PostgreSQL pass")
    entra = entra_client_create(organization=organization, name="Entra prod")
    federated_credential_create(
        connection=entra.connection, issuer=ISSUER, subject=SUBJECT, base=BASE, jwks=json.dumps(issuer.jwks)
    )
    assertion = issuer.assertion()
    racers = 8
    barrier = threading.Barrier(racers)
    statuses = []

    def send():
        try:
            barrier.wait()
            statuses.append(token_request(assertion).status_code)
        finally:
            database.close()  # this thread's own connection

    threads = [threading.Thread(target=send) for _ in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(statuses) == [200] + [401] * (racers - 1)


def test_an_assertion_for_a_connection_whose_oauth_client_was_deleted_is_refused(credential, issuer, refused):
    credential.connection.application.delete()

    reason = refused(token_request(issuer.assertion()))

    assert reason == "the connection of this credential has no OAuth client"


def test_an_assertion_without_kid_is_refused_when_the_issuer_has_several_keys(credential, issuer, refused):
    unnamed = jwt.encode(issuer.claims(), issuer.rsa, algorithm="RS256")

    reason = refused(token_request(unnamed))

    assert reason == "the assertion has no kid and the issuer has several signing keys"


def test_an_assertion_without_kid_is_verified_by_the_issuers_only_key(entra, issuer):
    only_key = {"keys": [issuer.keys[0]]}
    federated_credential_create(
        connection=entra.connection, issuer=ISSUER, subject=SUBJECT, base=BASE, jwks=json.dumps(only_key)
    )

    unnamed = jwt.encode(issuer.claims(), issuer.rsa, algorithm="RS256")

    assert token_request(unnamed).status_code == 200


def test_an_assertion_with_another_grant_is_refused(credential, issuer, refused):
    response = token_request(issuer.assertion(), grant_type="refresh_token", refresh_token="whatever")

    reason = refused(response)

    assert reason == "client assertions are accepted with the client_credentials grant only"


def test_a_refusal_log_line_cannot_be_forged_with_a_line_break(credential, issuer, refused):
    reason = refused(token_request(issuer.assertion(iss="https://evil.example\nCRITICAL all good")))

    assert reason == "no federated credential trusts the issuer https://evil.example\\nCRITICAL all good"


def test_a_connection_without_an_oauth_client_says_why_it_cannot_have_federated_credentials(
    admin_browser, organization
):
    connection = connection_get_or_create(organization=organization)

    html = admin_browser.get(f"{page_of(connection)}/change/").content.decode()

    assert 'id="add-federated-credential-link"' not in html
    assert "this connection has none: use Connect Microsoft Entra ID" in re.sub(r"<[^>]+>", "", html)
