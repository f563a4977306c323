"""X.509 certificates as the IdP publishes them, and the service provider's own key pair."""

import base64
import binascii
import datetime
import re

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID


PEM_BLOCK = re.compile(r"-----BEGIN CERTIFICATE-----(.*?)-----END CERTIFICATE-----", re.DOTALL)
SP_KEY_BITS = 2048
SP_CERTIFICATE_YEARS = 10


class CertificateError(ValueError):
    pass


def certificate_from_base64(text: str) -> x509.Certificate:
    """One certificate from its base64 DER (the content of a metadata X509Certificate element)."""
    try:
        der = base64.b64decode("".join(text.split()), validate=True)
        return x509.load_der_x509_certificate(der)
    except (binascii.Error, ValueError) as exc:
        raise CertificateError("is not a valid base64-encoded X.509 certificate") from exc


def certificates_normalise(text: str) -> str:
    """
    One or more certificates as PEM, whether pasted as PEM blocks (Entra's "Certificate
    (Base64)" download) or as bare base64; raises CertificateError saying what is wrong.
    """
    text = (text or "").strip()
    if not text:
        raise CertificateError("Enter the IdP's signing certificate.")
    blocks = PEM_BLOCK.findall(text) if "-----BEGIN" in text else [text]
    if not blocks:
        raise CertificateError("The certificate must be PEM (-----BEGIN CERTIFICATE----- …) or base64.")
    pems = []
    for number, block in enumerate(blocks, start=1):
        try:
            certificate = certificate_from_base64(block)
        except CertificateError as exc:
            which = "The certificate" if len(blocks) == 1 else f"Certificate {number}"
            raise CertificateError(f"{which} {exc}.") from exc
        pems.append(certificate.public_bytes(serialization.Encoding.PEM).decode("ascii"))
    return "".join(pems)


def certificates_base64(pem_text: str) -> list[str]:
    """The base64 DER of each PEM certificate, as metadata's X509Certificate elements hold it."""
    return ["".join(block.split()) for block in PEM_BLOCK.findall(pem_text)]


def sp_key_pair_generate(common_name: str) -> tuple[str, str]:
    """A new RSA key and its self-signed certificate (PEM), for signing our AuthnRequests."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=SP_KEY_BITS)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64])])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=365 * SP_CERTIFICATE_YEARS))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")
    return key_pem, certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")
