"""
A real SAML 2.0 identity provider, run in-process with pysaml2's `saml2.server.Server`, with its
own RSA key and self-signed certificate made at test time. It stands in for Microsoft Entra ID:
it publishes federation metadata, answers our AuthnRequests (HTTP-Redirect binding) with signed
responses for the HTTP-POST binding, signs in unsolicited (IdP-initiated), and makes the broken
responses an attacker or a misconfiguration would: altered after signing, meant for another
audience, expired, signed by another key.
"""

import base64
import datetime
import functools
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT, class_name
from saml2.config import IdPConfig
from saml2.metadata import entity_descriptor
from saml2.s_utils import sid
from saml2.saml import NAMEID_FORMAT_UNSPECIFIED, NameID
from saml2.samlp import response_from_string
from saml2.server import Server
from saml2.sigver import pre_signature_part, signed_instance_factory
from saml2.xmldsig import DIGEST_SHA256, SIG_RSA_SHA256


XMLSEC = "/usr/bin/xmlsec1"
# Shaped like Entra's https://sts.windows.net/<tenant>/ and https://login.microsoftonline.com/<tenant>/saml2
IDP_ENTITY_ID = "https://sts.windows.net/6b1c0c5e-0d3a-4c43-8f2e-idp-test/"
IDP_SSO_URL = "https://idp.test/6b1c0c5e/saml2"
PASSWORD_PROTECTED = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
UPN_CLAIM = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name"
_files = itertools.count(1)


@functools.cache
def key_material(name: str) -> tuple[bytes, bytes]:
    """An RSA key and its self-signed certificate (PEM), made once per name and test process."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"Test IdP {name}")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return key_pem, certificate.public_bytes(serialization.Encoding.PEM)


def key_pair(directory: Path, name: str) -> tuple[Path, Path]:
    """The key and certificate as files: pysaml2 reads keys from files only."""
    key_pem, cert_pem = key_material(name)
    key_file, cert_file = directory / f"{name}-{next(_files)}.key", directory / f"{name}-{next(_files)}.crt"
    key_file.write_bytes(key_pem)
    cert_file.write_bytes(cert_pem)
    return key_file, cert_file


@dataclass(frozen=True)
class PostedResponse:
    """What the IdP's auto-submitting form posts to the ACS."""

    acs_url: str
    fields: dict[str, str]

    @property
    def xml(self) -> str:
        return base64.b64decode(self.fields["SAMLResponse"]).decode()


def _saml_time(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def expire(assertion, minutes_ago: int = 10) -> None:
    """A mutation: every NotOnOrAfter of the assertion lies in the past."""
    past = _saml_time(datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=minutes_ago))
    assertion.conditions.not_before = _saml_time(
        datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=minutes_ago + 60)
    )
    assertion.conditions.not_on_or_after = past
    for confirmation in assertion.subject.subject_confirmation:
        confirmation.subject_confirmation_data.not_on_or_after = past


def for_audience(entity_id: str) -> Callable:
    """A mutation: the assertion is meant for another service provider."""

    def mutate(assertion) -> None:
        for restriction in assertion.conditions.audience_restriction:
            for audience in restriction.audience:
                audience.text = entity_id

    return mutate


def rename(user_name: str) -> Callable[[str], str]:
    """Tampering after signing: the NameID (and the UPN claim) now name someone else."""

    def tamper(xml: str) -> str:
        marker = "NameID"
        start = xml.index(">", xml.index(marker)) + 1
        end = xml.index("<", start)
        original = xml[start:end]
        return xml.replace(f">{original}<", f">{user_name}<")

    return tamper


class TestIdentityProvider:
    __test__ = False  # not a pytest test class

    def __init__(
        self,
        directory: Path,
        *,
        entity_id: str = IDP_ENTITY_ID,
        sso_url: str = IDP_SSO_URL,
        key_name: str = "idp",
    ):
        """`key_name` picks the signing key: another name is another key (a rogue IdP)."""
        self.entity_id = entity_id
        self.sso_url = sso_url
        self.key_file, self.cert_file = key_pair(directory, key_name)
        self._sp_metadata: list[str] = []
        self._server = None
        self.last_request = None

    # Configuration ------------------------------------------------------------------------------

    def _config(self) -> dict:
        return {
            "entityid": self.entity_id,
            "xmlsec_binary": XMLSEC,
            "key_file": str(self.key_file),
            "cert_file": str(self.cert_file),
            "metadata": {"inline": list(self._sp_metadata)},
            "service": {
                "idp": {
                    "endpoints": {
                        "single_sign_on_service": [
                            (self.sso_url, BINDING_HTTP_REDIRECT),
                            (self.sso_url, BINDING_HTTP_POST),
                        ]
                    },
                    "policy": {"default": {"lifetime": {"minutes": 60}, "attribute_restrictions": None}},
                    "want_authn_requests_signed": False,
                }
            },
        }

    @property
    def server(self) -> Server:
        if self._server is None:
            self._server = Server(config=IdPConfig().load(self._config()))
        return self._server

    def trust(self, sp_metadata_xml: str) -> None:
        """Register our service provider from its metadata (what the admin uploads to Entra)."""
        self._sp_metadata.append(sp_metadata_xml)
        self._server = None

    @property
    def certificate_pem(self) -> str:
        return self.cert_file.read_text()

    def metadata_xml(self) -> str:
        """The IdP's federation metadata, as pysaml2 publishes it."""
        return str(entity_descriptor(self.server.config))

    def entra_metadata_xml(self) -> str:
        """Federation metadata shaped like Entra's (WS-Federation role descriptors, signing key, SSO)."""
        der = "".join(line for line in self.certificate_pem.splitlines() if "-----" not in line)
        wsfed = "http://docs.oasis-open.org/wsfed/federation/200706"
        bindings = "urn:oasis:names:tc:SAML:2.0:bindings"
        key = (
            '<KeyDescriptor use="signing"><KeyInfo xmlns="http://www.w3.org/2000/09/xmldsig#">'
            f"<X509Data><X509Certificate>{der}</X509Certificate></X509Data></KeyInfo></KeyDescriptor>"
        )
        return f"""\ufeff<?xml version="1.0" encoding="utf-8"?>
<EntityDescriptor ID="_4d8a1b0e" entityID="{self.entity_id}" xmlns="urn:oasis:names:tc:SAML:2.0:metadata">
  <RoleDescriptor xsi:type="fed:SecurityTokenServiceType" protocolSupportEnumeration="{wsfed}"
      xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:fed="{wsfed}">
    {key}
  </RoleDescriptor>
  <IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    {key}
    <SingleLogoutService Binding="{bindings}:HTTP-Redirect" Location="{self.sso_url}" />
    <SingleSignOnService Binding="{bindings}:HTTP-Redirect" Location="{self.sso_url}" />
    <SingleSignOnService Binding="{bindings}:HTTP-POST" Location="{self.sso_url}" />
  </IDPSSODescriptor>
</EntityDescriptor>
"""

    # Responses ----------------------------------------------------------------------------------

    def parse_request(self, redirect_url: str, *, verify_signature: bool = False):
        """Our AuthnRequest from the HTTP-Redirect URL the browser was sent to."""
        query = {name: values[0] for name, values in parse_qs(urlsplit(redirect_url).query).items()}
        if verify_signature:
            self.server.config.setattr("idp", "want_authn_requests_signed", True)
        try:
            request = self.server.parse_authn_request(
                query["SAMLRequest"],
                BINDING_HTTP_REDIRECT,
                relay_state=query.get("RelayState"),
                sigalg=query.get("SigAlg"),
                signature=query.get("Signature"),
            )
        finally:
            self.server.config.setattr("idp", "want_authn_requests_signed", False)
        self.last_request = request
        return request, query

    def answer(self, redirect_url: str, user_name: str, **options) -> PostedResponse:
        """Sign the user in for our AuthnRequest: the form the browser posts back to the ACS."""
        request, query = self.parse_request(redirect_url)
        message = request.message
        xml = self.response_xml(
            user_name,
            in_response_to=message.id,
            acs_url=message.assertion_consumer_service_url,
            audience=message.issuer.text,
            **options,
        )
        return self._posted(message.assertion_consumer_service_url, xml, query.get("RelayState"))

    def refuse(self, redirect_url: str, message: str) -> PostedResponse:
        """The IdP did not sign the user in (Entra: e.g. "not assigned to a role for the application")."""
        from saml2.samlp import STATUS_REQUEST_DENIED

        request, query = self.parse_request(redirect_url)
        acs_url = request.message.assertion_consumer_service_url
        response = self.server.create_error_response(
            in_response_to=request.message.id, destination=acs_url, info=(STATUS_REQUEST_DENIED, message)
        )
        return self._posted(acs_url, str(response), query.get("RelayState"))

    def unsolicited(
        self, user_name: str, *, acs_url: str, audience: str, relay_state: str | None = None, **options
    ) -> PostedResponse:
        """IdP-initiated sign-in (Entra's My Apps tile): a response to no request."""
        xml = self.response_xml(user_name, in_response_to=None, acs_url=acs_url, audience=audience, **options)
        return self._posted(acs_url, xml, relay_state)

    @staticmethod
    def _posted(acs_url: str, xml: str, relay_state: str | None) -> PostedResponse:
        fields = {"SAMLResponse": base64.b64encode(xml.encode()).decode()}
        if relay_state is not None:
            fields["RelayState"] = relay_state
        return PostedResponse(acs_url=acs_url, fields=fields)

    def response_xml(
        self,
        user_name: str,
        *,
        in_response_to: str | None,
        acs_url: str,
        audience: str,
        claims: dict[str, list[str]] | None = None,
        mutate: Callable | None = None,
        after_signing: Callable[[str], str] | None = None,
        sign_assertion: bool = True,
        sign_response: bool = False,
    ) -> str:
        """
        A Response with one Assertion for `user_name` (as NameID and as the UPN claim), built by
        pysaml2 and signed with this IdP's key. `mutate(assertion)` changes it before signing
        (a response the IdP really made); `after_signing(xml)` changes the signed text (tampering).
        """
        identity = {UPN_CLAIM: [user_name], **(claims or {})}
        unsigned = self.server.create_authn_response(
            identity=identity,
            in_response_to=in_response_to,
            destination=acs_url,
            sp_entity_id=audience,
            name_id=NameID(format=NAMEID_FORMAT_UNSPECIFIED, text=user_name),
            authn={"class_ref": PASSWORD_PROTECTED},
            sign_assertion=False,
            sign_response=False,
        )
        response = response_from_string(str(unsigned))
        assertion = response.assertion[0]
        assertion.id = sid()
        if mutate is not None:
            mutate(assertion)
        to_sign = []
        if sign_assertion:
            assertion.signature = self._signature_template(assertion.id)
            to_sign.append((class_name(assertion), assertion.id))
        if sign_response:
            response.signature = self._signature_template(response.id)
            to_sign.append((class_name(response), response.id))
        xml = signed_instance_factory(response, self.server.sec, to_sign) if to_sign else str(response)
        xml = xml if isinstance(xml, str) else str(xml)
        return after_signing(xml) if after_signing is not None else xml

    def _signature_template(self, ident: str):
        return pre_signature_part(
            ident, self.server.sec.my_cert, 1, sign_alg=SIG_RSA_SHA256, digest_alg=DIGEST_SHA256
        )
