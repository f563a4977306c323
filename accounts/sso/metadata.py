"""
SAML 2.0 metadata (OASIS saml-metadata-2.0-os): reading the identity provider's federation
metadata as Entra publishes it, and writing ours (what the admin gives Entra) and a minimal one of
the IdP that pysaml2 trusts. Untrusted XML is parsed with defusedxml: no DTDs, no entities.
"""

import xml.etree.ElementTree as ET
from dataclasses import dataclass

from cryptography.hazmat.primitives.serialization import Encoding
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from accounts.sso.certificates import CertificateError, certificate_from_base64, certificates_base64


MD = "urn:oasis:names:tc:SAML:2.0:metadata"
DS = "http://www.w3.org/2000/09/xmldsig#"
PROTOCOL = "urn:oasis:names:tc:SAML:2.0:protocol"
BINDING_HTTP_REDIRECT = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
BINDING_HTTP_POST = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
METADATA_MAX_BYTES = 1024 * 1024

ET.register_namespace("md", MD)
ET.register_namespace("ds", DS)


class MetadataError(ValueError):
    """The metadata cannot be used; the message says what is wrong, in plain words."""


@dataclass(frozen=True)
class IdpSettings:
    entity_id: str
    sso_url: str
    certificate_pem: str


def _tag(namespace: str, name: str) -> str:
    return f"{{{namespace}}}{name}"


def _describe(tag: str) -> str:
    if tag.startswith("{"):
        namespace, local = tag[1:].split("}", 1)
        return f"<{local}> ({namespace})"
    return f"<{tag}> (no namespace)"


def _parse(xml: bytes | str):
    if len(xml) > METADATA_MAX_BYTES:
        raise MetadataError(f"The metadata is larger than {METADATA_MAX_BYTES // 1024} KiB.")
    if isinstance(xml, str):
        xml = xml.encode("utf-8")
    if not xml.strip():
        raise MetadataError("The metadata is empty.")
    try:
        return fromstring(xml, forbid_dtd=True)
    except DefusedXmlException as exc:
        raise MetadataError(
            "The metadata contains a DTD or entity declarations, which are not allowed."
        ) from exc
    except ET.ParseError as exc:
        line, column = exc.position
        reason = str(exc).split(":")[0]
        raise MetadataError(
            f"The metadata is not well-formed XML ({reason}, line {line}, column {column})."
        ) from exc


def _idp_entity(root):
    """The one EntityDescriptor holding an IDPSSODescriptor (also inside an EntitiesDescriptor)."""
    if root.tag == _tag(MD, "EntityDescriptor"):
        entities = [root]
    elif root.tag == _tag(MD, "EntitiesDescriptor"):
        entities = list(root.iter(_tag(MD, "EntityDescriptor")))
    else:
        raise MetadataError(
            f"This XML is not SAML metadata: its root element is {_describe(root.tag)}, expected "
            f"<EntityDescriptor> ({MD})."
        )
    idps = [entity for entity in entities if entity.find(_tag(MD, "IDPSSODescriptor")) is not None]
    if not idps:
        raise MetadataError(
            "The metadata has no IDPSSODescriptor, so it does not describe an identity provider. In "
            "Entra, download “Federation Metadata XML” from the application's Single sign-on page."
        )
    if len(idps) > 1:
        raise MetadataError(
            f"The metadata describes {len(idps)} identity providers; upload the one of yours."
        )
    return idps[0]


def _signing_certificates(descriptor) -> list[str]:
    found = []
    for key_descriptor in descriptor.findall(_tag(MD, "KeyDescriptor")):
        # A KeyDescriptor without `use` serves both signing and encryption (metadata §2.4.1.1).
        if key_descriptor.get("use", "signing") != "signing":
            continue
        for element in key_descriptor.iter(_tag(DS, "X509Certificate")):
            text = "".join((element.text or "").split())
            if text and text not in found:
                found.append(text)
    return found


def idp_metadata_parse(xml: bytes | str) -> IdpSettings:
    """The IdP's entity id, HTTP-Redirect sign-on URL and signing certificates, or MetadataError."""
    entity = _idp_entity(_parse(xml))
    entity_id = (entity.get("entityID") or "").strip()
    if not entity_id:
        raise MetadataError("The EntityDescriptor has no entityID attribute.")
    descriptor = entity.find(_tag(MD, "IDPSSODescriptor"))
    if PROTOCOL not in (descriptor.get("protocolSupportEnumeration") or "").split():
        raise MetadataError("The IDPSSODescriptor does not support the SAML 2.0 protocol.")
    sso_urls = [
        (service.get("Location") or "").strip()
        for service in descriptor.findall(_tag(MD, "SingleSignOnService"))
        if service.get("Binding") == BINDING_HTTP_REDIRECT
    ]
    if not any(sso_urls):
        raise MetadataError("The IDPSSODescriptor has no SingleSignOnService with the HTTP-Redirect binding.")
    certificates = _signing_certificates(descriptor)
    if not certificates:
        raise MetadataError(
            "The IDPSSODescriptor has no signing certificate (a KeyDescriptor with an X509Certificate)."
        )
    pems = []
    for number, text in enumerate(certificates, start=1):
        try:
            pems.append(certificate_from_base64(text).public_bytes(Encoding.PEM).decode("ascii"))
        except CertificateError as exc:
            raise MetadataError(f"Signing certificate {number} in the metadata {exc}.") from exc
    return IdpSettings(
        entity_id=entity_id, sso_url=next(url for url in sso_urls if url), certificate_pem="".join(pems)
    )


def _key_descriptor(parent, certificate_b64: str) -> None:
    key_descriptor = ET.SubElement(parent, _tag(MD, "KeyDescriptor"), {"use": "signing"})
    key_info = ET.SubElement(key_descriptor, _tag(DS, "KeyInfo"))
    x509_data = ET.SubElement(key_info, _tag(DS, "X509Data"))
    ET.SubElement(x509_data, _tag(DS, "X509Certificate")).text = certificate_b64


def _serialise(root) -> str:
    return ET.tostring(root, encoding="unicode", xml_declaration=False)


def sp_metadata_xml(
    *, entity_id: str, acs_url: str, certificate_pem: str, authn_requests_signed: bool
) -> str:
    """Our metadata, for Entra's "Upload metadata file" (it reads the entity id and reply URL)."""
    root = ET.Element(_tag(MD, "EntityDescriptor"), {"entityID": entity_id})
    descriptor = ET.SubElement(
        root,
        _tag(MD, "SPSSODescriptor"),
        {
            "AuthnRequestsSigned": "true" if authn_requests_signed else "false",
            "WantAssertionsSigned": "true",
            "protocolSupportEnumeration": PROTOCOL,
        },
    )
    for certificate in certificates_base64(certificate_pem):
        _key_descriptor(descriptor, certificate)
    ET.SubElement(
        descriptor,
        _tag(MD, "AssertionConsumerService"),
        {"Binding": BINDING_HTTP_POST, "Location": acs_url, "index": "0", "isDefault": "true"},
    )
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + _serialise(root) + "\n"


def idp_metadata_xml(*, entity_id: str, sso_url: str, certificate_pem: str) -> str:
    """The IdP as pysaml2 should trust it: only the stored settings, whatever the upload held."""
    root = ET.Element(_tag(MD, "EntityDescriptor"), {"entityID": entity_id})
    descriptor = ET.SubElement(root, _tag(MD, "IDPSSODescriptor"), {"protocolSupportEnumeration": PROTOCOL})
    for certificate in certificates_base64(certificate_pem):
        _key_descriptor(descriptor, certificate)
    ET.SubElement(
        descriptor, _tag(MD, "SingleSignOnService"), {"Binding": BINDING_HTTP_REDIRECT, "Location": sso_url}
    )
    return _serialise(root)
