"""
The service-provider side of SAML 2.0 Web Browser SSO (saml-profiles-2.0-os §4.1) with pysaml2.

pysaml2 checks the XML signature (with xmlsec1, against the configured certificates only), the
time window (NotBefore/NotOnOrAfter with CLOCK_SKEW_SECONDS of slack) and the Destination. On the
verified assertion we then require what the profile demands and pysaml2 lets pass: the issuer is
the configured IdP, an AudienceRestriction names our entity id, the bearer Recipient is our ACS
URL, a NotOnOrAfter bounds the assertion, and InResponseTo (when present) answers a request this
browser made (the view checks that against the session). Replay is accounts.sso.services' concern.

pysaml2 is imported where it is used: loading it (and its XML schemas) takes over a second, which
every process would otherwise pay at start-up, SSO or not.
"""

import base64
import binascii
import calendar
import datetime
import logging
import os
import re
import shutil
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring
from django.conf import settings

from accounts.models import SsoConfiguration
from accounts.sso import refusals
from accounts.sso.locations import sp_acs_url, sp_entity_id
from accounts.sso.metadata import idp_metadata_xml
from accounts.sso.refusals import SsoRefused


logger = logging.getLogger(__name__)

XMLSEC_BINARY = shutil.which("xmlsec1") or "/usr/bin/xmlsec1"
PROTOCOL_NS = "urn:oasis:names:tc:SAML:2.0:protocol"
STATUS_CODE = re.compile(r"urn:oasis:names:tc:SAML:2\.0:status:(\w+)\s*$")
# Base64 of a response; Entra's are a few KiB. Larger input never reaches xmlsec1.
RESPONSE_MAX_CHARS = 256 * 1024


def clock_skew_seconds() -> int:
    """Slack for the IdP's and our clocks on NotBefore/NotOnOrAfter (2 minutes by default)."""
    return settings.SSO_CLOCK_SKEW_SECONDS


@dataclass(frozen=True)
class ServiceProvider:
    """Our side for one organization, at one base URL."""

    configuration: SsoConfiguration
    entity_id: str
    acs_url: str

    @classmethod
    def at(cls, configuration: SsoConfiguration, base: str) -> "ServiceProvider":
        organization = configuration.organization
        return cls(configuration, sp_entity_id(organization, base), sp_acs_url(organization, base))

    @property
    def organization(self):
        return self.configuration.organization


@dataclass(frozen=True)
class ResponseOutline:
    """What an unverified response says about itself: enough to route it, never to trust it."""

    in_response_to: str | None
    destination: str | None


@dataclass(frozen=True)
class VerifiedAssertion:
    assertion_id: str
    name_id: str | None
    attributes: dict[str, list[str]]
    # Every InResponseTo the response carries (Response and bearer SubjectConfirmationData).
    in_response_to: frozenset[str]
    expires_at: datetime.datetime


def _write(directory: str, name: str, content: str) -> str:
    path = os.path.join(directory, name)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(content)
    return path


@contextmanager
def _client(provider: ServiceProvider):
    """
    A pysaml2 client for this organization. pysaml2 reads keys from files only: they live in a
    private temporary directory for the duration of one request.
    """
    from saml2 import BINDING_HTTP_POST
    from saml2.client import Saml2Client
    from saml2.config import SPConfig

    configuration = provider.configuration
    with tempfile.TemporaryDirectory(prefix="sso-") as directory:
        config = SPConfig().load(
            {
                "entityid": provider.entity_id,
                "name": "Meta Work Accounts",
                "xmlsec_binary": XMLSEC_BINARY,
                "key_file": _write(directory, "sp.key", configuration.sp_private_key),
                "cert_file": _write(directory, "sp.crt", configuration.sp_certificate),
                "metadata": {
                    "inline": [
                        idp_metadata_xml(
                            entity_id=configuration.idp_entity_id,
                            sso_url=configuration.idp_sso_url,
                            certificate_pem=configuration.idp_certificate,
                        )
                    ]
                },
                "accepted_time_diff": clock_skew_seconds(),
                "allow_unknown_attributes": True,
                "service": {
                    "sp": {
                        "endpoints": {"assertion_consumer_service": [(provider.acs_url, BINDING_HTTP_POST)]},
                        # IdP-initiated sign-in has no InResponseTo; ours is checked afterwards.
                        "allow_unsolicited": True,
                        "authn_requests_signed": configuration.want_signed_authn_request,
                        # Entra signs the assertion by default, or the response, or both.
                        "want_response_signed": False,
                        "want_assertions_signed": False,
                        "want_assertions_or_response_signed": True,
                        # Never trust a certificate that the message itself carries.
                        "only_use_keys_in_metadata": True,
                    }
                },
            }
        )
        yield Saml2Client(config=config)


def authn_request_redirect(provider: ServiceProvider, *, relay_state: str) -> tuple[str, str]:
    """
    An AuthnRequest for the HTTP-Redirect binding, signed (RSA-SHA256 over the query) when the
    configuration asks for it: the request id to remember and the IdP URL to send the browser to.
    No NameIDPolicy: Entra then sends its configured NameID (by default the user principal name).
    """
    from saml2 import BINDING_HTTP_REDIRECT
    from saml2.xmldsig import SIG_RSA_SHA256

    signed = provider.configuration.want_signed_authn_request
    with _client(provider) as client:
        request_id, info = client.prepare_for_authenticate(
            entityid=provider.configuration.idp_entity_id,
            relay_state=relay_state,
            binding=BINDING_HTTP_REDIRECT,
            sign=signed,
            sigalg=SIG_RSA_SHA256 if signed else None,
        )
    return request_id, dict(info["headers"])["Location"]


def response_outline(saml_response: str) -> ResponseOutline:
    """Decode and parse the posted SAMLResponse (unverified); MALFORMED when it is not one."""
    if len(saml_response) > RESPONSE_MAX_CHARS:
        raise SsoRefused(refusals.MALFORMED)
    try:
        xml = base64.b64decode("".join(saml_response.split()), validate=True)
        root = fromstring(xml, forbid_dtd=True)
    except (binascii.Error, ValueError, ParseError, DefusedXmlException) as exc:
        raise SsoRefused(refusals.MALFORMED) from exc
    if root.tag != f"{{{PROTOCOL_NS}}}Response":
        raise SsoRefused(refusals.MALFORMED)
    return ResponseOutline(in_response_to=root.get("InResponseTo"), destination=root.get("Destination"))


def _timestamp(value: str) -> datetime.datetime:
    from saml2.time_util import str_to_time

    return datetime.datetime.fromtimestamp(calendar.timegm(str_to_time(value)), tz=datetime.UTC)


def _details(provider: ServiceProvider, **extra) -> dict:
    return {
        "organization": provider.organization.name,
        "idp_entity_id": provider.configuration.idp_entity_id,
        "entity_id": provider.entity_id,
        "acs_url": provider.acs_url,
        **extra,
    }


def _refusal_for(provider: ServiceProvider, error: Exception) -> SsoRefused:
    """pysaml2 says what failed through exception classes, and for a few checks only in words."""
    from saml2.response import StatusError, UnsolicitedResponse, VerificationError
    from saml2.sigver import MissingKey, SigverError
    from saml2.validate import ResponseLifetimeExceed, ToEarly

    details = _details(provider)
    if isinstance(error, StatusError):
        # Only the status code: the message text is unsigned and anyone could post it here.
        code = STATUS_CODE.search(str(error).splitlines()[-1])
        return SsoRefused(refusals.IDP_STATUS, **details, status=code.group(1) if code else "no reason given")
    if isinstance(error, ResponseLifetimeExceed | ToEarly):
        return SsoRefused(refusals.EXPIRED, **details)
    if isinstance(error, UnsolicitedResponse):
        return SsoRefused(refusals.UNSOLICITED, **details)
    if isinstance(error, MissingKey):
        return SsoRefused(refusals.WRONG_ISSUER, **details)
    if isinstance(error, SigverError):
        return SsoRefused(refusals.SIGNATURE, **details)
    text = str(error)
    if isinstance(error, VerificationError) and "recipient" in text:
        return SsoRefused(refusals.RECIPIENT, **details)
    if "AudienceRestrictions" in text:
        return SsoRefused(refusals.AUDIENCE, **details)
    logger.warning("SAML response of %s refused: %r", provider.organization.slug, error)
    return SsoRefused(refusals.NOT_VERIFIED, **details)


def _attributes(assertion) -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    for statement in assertion.attribute_statement:
        for attribute in statement.attribute:
            texts = [(value.text or "").strip() for value in attribute.attribute_value]
            for name in {attribute.name, attribute.friendly_name} - {None, ""}:
                values.setdefault(name, []).extend(texts)
    return values


def response_verify(provider: ServiceProvider, saml_response: str) -> VerifiedAssertion:
    """The one verified assertion of a posted SAMLResponse, or SsoRefused saying why not."""
    from saml2 import BINDING_HTTP_POST
    from saml2.saml import SCM_BEARER

    outline = response_outline(saml_response)
    details = _details(provider)
    if outline.destination and outline.destination != provider.acs_url:
        raise SsoRefused(refusals.RECIPIENT, **details)
    try:
        with _client(provider) as client:
            response = client.parse_authn_request_response(saml_response, BINDING_HTTP_POST)
    except Exception as exc:  # pysaml2 raises plain Exception for some checks
        raise _refusal_for(provider, exc) from exc
    if response is None or response.assertion is None:
        raise SsoRefused(refusals.NOT_VERIFIED, **details)
    assertion = response.assertion

    idp = provider.configuration.idp_entity_id
    issuers = {(part.issuer.text or "").strip() for part in (response.response, assertion) if part.issuer}
    if issuers != {idp}:
        raise SsoRefused(refusals.WRONG_ISSUER, **details)

    conditions = assertion.conditions
    audiences = {
        (audience.text or "").strip()
        for restriction in (conditions.audience_restriction if conditions else [])
        for audience in restriction.audience
    }
    if provider.entity_id not in audiences:
        raise SsoRefused(refusals.AUDIENCE, **details)

    bearer = [
        confirmation.subject_confirmation_data
        for confirmation in assertion.subject.subject_confirmation
        if confirmation.method == SCM_BEARER and confirmation.subject_confirmation_data is not None
    ]
    # pysaml2 compares Recipient only when given conversation info; the ACS URL is what counts.
    if not bearer or any(data.recipient != provider.acs_url for data in bearer):
        raise SsoRefused(refusals.RECIPIENT, **details)
    not_on_or_after = [data.not_on_or_after for data in bearer if data.not_on_or_after]
    if conditions and conditions.not_on_or_after:
        not_on_or_after.append(conditions.not_on_or_after)
    if not not_on_or_after:
        # saml-profiles §4.1.4.2: a bearer confirmation must bound the assertion in time.
        raise SsoRefused(refusals.EXPIRED, **details)
    expires_at = min(_timestamp(value) for value in not_on_or_after)

    in_response_to = {data.in_response_to for data in bearer if data.in_response_to}
    if response.response.in_response_to:
        in_response_to.add(response.response.in_response_to)

    name_id = (
        response.name_id.text.strip() if response.name_id is not None and response.name_id.text else None
    )
    return VerifiedAssertion(
        assertion_id=assertion.id,
        name_id=name_id,
        attributes=_attributes(assertion),
        in_response_to=frozenset(in_response_to),
        expires_at=expires_at + datetime.timedelta(seconds=clock_skew_seconds()),
    )
