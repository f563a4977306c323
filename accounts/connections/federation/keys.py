"""
Where a federated credential's signing keys come from: its JWKS URL, fetched and cached for as
long as its Cache-Control max-age says (bounded by FEDERATION_JWKS_CACHE_MIN/MAX_SECONDS, in the
cache every worker shares), or the JWK Set an admin pasted. Keys are parsed by PyJWT; only public
RSA (2048 bits or more) and EC P-256 signature keys are used.
"""

import hashlib
import http.client
import ipaddress
import json
import re
import socket
import urllib.error
import urllib.request
from dataclasses import dataclass
from urllib.parse import urlsplit

import jwt
from django.conf import settings
from django.core.cache import caches
from jwt.exceptions import PyJWTError

from accounts.exceptions import InvalidAttributeValue


# RFC 7517 §6.3: members only a private key has. A pasted or served set must not carry them.
PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
MAX_JWKS_BYTES = 64 * 1024
MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*\"?(\d+)\"?\s*(?:,|$)", re.IGNORECASE)

NOT_A_JWKS = "This is not a JWK Set: it must be a JSON object with a “keys” list."
NO_USABLE_KEY = "The JWK Set has no usable signing key: RSA (2048 bits or more) or EC P-256 public keys."
PRIVATE_KEY = "The JWK Set contains a private key. Paste the public keys only (never the private part)."
BAD_JWKS_URL = "The JWKS URL must be an absolute https:// URL, for example {example}."
PRIVATE_JWKS_URL = "The JWKS URL must name a host on the public internet, for example {example}."
NOT_PUBLIC = "{host} has no public internet address (only {addresses})"
ENTRA_JWKS_EXAMPLE = "https://login.microsoftonline.com/<tenant id>/discovery/v2.0/keys"


class KeysUnavailable(Exception):
    """The JWKS URL could not be fetched, or did not answer a usable JWK Set."""


@dataclass(frozen=True)
class SigningKey:
    kid: str | None
    kty: str
    alg: str | None  # the JWK's own "alg", when it names one
    key: object  # a cryptography public key

    def fits(self, alg: str) -> bool:
        """RFC 7518 §3.1: RS256 needs an RSA key, ES256 an EC P-256 key (no alg confusion)."""
        if self.alg is not None and self.alg != alg:
            return False
        return (alg, self.kty) in {("RS256", "RSA"), ("ES256", "EC")}


def parse_jwks(document) -> list[SigningKey]:
    """The usable signing keys of a JWK Set (a dict); InvalidAttributeValue when there is none."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise InvalidAttributeValue(NOT_A_JWKS)
    keys = []
    for member in document["keys"]:
        if not isinstance(member, dict):
            continue
        if PRIVATE_MEMBERS & member.keys():
            raise InvalidAttributeValue(PRIVATE_KEY)
        if member.get("use", "sig") != "sig" or member.get("kty") not in ("RSA", "EC"):
            continue
        if member.get("kty") == "EC" and member.get("crv") != "P-256":
            continue
        try:
            parsed = jwt.PyJWK(member, algorithm="RS256" if member["kty"] == "RSA" else "ES256")
        except PyJWTError:
            continue
        if member["kty"] == "RSA" and parsed.key.key_size < 2048:
            continue
        kid = member.get("kid")
        keys.append(
            SigningKey(
                kid=kid if isinstance(kid, str) else None,
                kty=member["kty"],
                alg=member.get("alg") if isinstance(member.get("alg"), str) else None,
                key=parsed.key,
            )
        )
    if not keys:
        raise InvalidAttributeValue(NO_USABLE_KEY)
    return keys


def pasted_jwks_clean(text: str) -> str:
    """A pasted JWK Set, checked and stored as compact JSON."""
    try:
        document = json.loads(text)
    except ValueError:
        raise InvalidAttributeValue(NOT_A_JWKS) from None
    parse_jwks(document)
    return json.dumps(document, separators=(",", ":"))


def jwks_url_clean(url: str) -> str:
    url = url.strip()
    parts = urlsplit(url)
    allowed = ("https", "http") if settings.FEDERATION_JWKS_ALLOW_HTTP else ("https",)
    if parts.scheme not in allowed or not parts.netloc or parts.fragment or any(c.isspace() for c in url):
        raise InvalidAttributeValue(BAD_JWKS_URL.format(example=ENTRA_JWKS_EXAMPLE))
    if not settings.FEDERATION_JWKS_ALLOW_PRIVATE_ADDRESSES and _names_a_private_host(parts.hostname or ""):
        raise InvalidAttributeValue(PRIVATE_JWKS_URL.format(example=ENTRA_JWKS_EXAMPLE))
    return url


def _names_a_private_host(host: str) -> bool:
    """A literal non-public address or localhost: refused as typed (names are checked when fetched)."""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return not ipaddress.ip_address(host).is_global
    except ValueError:
        return False


def _public_connection(address, timeout=socket._GLOBAL_DEFAULT_TIMEOUT, source_address=None):
    """
    socket.create_connection to a public address of the host only (SSRF: an admin-typed URL must
    not reach the metadata service or the internal network). The address is vetted after
    resolution and connected to as vetted, so a DNS answer that changes in between cannot get by.
    """
    host, port = address
    refused, failure = [], None
    for family, kind, protocol, _name, peer in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
        if not ipaddress.ip_address(peer[0]).is_global:
            refused.append(peer[0])
            continue
        connection = socket.socket(family, kind, protocol)
        try:
            if timeout is not socket._GLOBAL_DEFAULT_TIMEOUT:
                connection.settimeout(timeout)
            if source_address:
                connection.bind(source_address)
            connection.connect(peer)
            return connection
        except OSError as exc:
            connection.close()
            failure = exc
    if failure is not None:
        raise failure
    raise OSError(NOT_PUBLIC.format(host=host, addresses=", ".join(dict.fromkeys(refused)) or "none"))


class _PublicHTTPConnection(http.client.HTTPConnection):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._create_connection = self._connect  # http.client's seam for opening the socket

    def _connect(self, address, *args):
        if self._tunnel_host:  # https through the operator's egress proxy: the proxy is connected to
            return socket.create_connection(address, *args)
        return _public_connection(address, *args)


class _PublicHTTPSConnection(http.client.HTTPSConnection, _PublicHTTPConnection):
    pass


class _PublicHTTPHandler(urllib.request.HTTPHandler):
    def http_open(self, request):
        return self.do_open(_PublicHTTPConnection, request)


class _PublicHTTPSHandler(urllib.request.HTTPSHandler):
    def https_open(self, request):
        return self.do_open(_PublicHTTPSConnection, request)


def _opener():
    if settings.FEDERATION_JWKS_ALLOW_PRIVATE_ADDRESSES:
        return urllib.request.build_opener()
    # Redirects are followed through the same handlers, so a redirect to a private host is refused too.
    return urllib.request.build_opener(_PublicHTTPHandler, _PublicHTTPSHandler)


def _cache():
    return caches[settings.FEDERATION_JWKS_CACHE]


def _cache_key(url: str, kind: str) -> str:
    return f"federation-jwks:{kind}:{hashlib.sha256(url.encode()).hexdigest()}"


def cache_seconds(cache_control: str | None) -> int:
    """RFC 9111 §5.2.2.1 max-age, clamped into the configured bounds (none given: the minimum)."""
    low, high = settings.FEDERATION_JWKS_CACHE_MIN_SECONDS, settings.FEDERATION_JWKS_CACHE_MAX_SECONDS
    match = MAX_AGE.search(cache_control or "")
    seconds = int(match.group(1)) if match else low
    return max(low, min(high, seconds))


def _fetch(url: str) -> tuple[dict, int]:
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    try:
        with _opener().open(request, timeout=settings.FEDERATION_JWKS_TIMEOUT_SECONDS) as response:
            body = response.read(MAX_JWKS_BYTES + 1)
            cache_control = response.headers.get("Cache-Control")
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise KeysUnavailable(f"{url}: {exc}") from None
    if len(body) > MAX_JWKS_BYTES:
        raise KeysUnavailable(f"{url}: larger than {MAX_JWKS_BYTES} bytes")
    try:
        document = json.loads(body)
        parse_jwks(document)
    except (ValueError, InvalidAttributeValue) as exc:
        raise KeysUnavailable(f"{url}: {exc}") from None
    return document, cache_seconds(cache_control)


def _fetched(url: str) -> dict:
    document, seconds = _fetch(url)
    _cache().set(_cache_key(url, "set"), document, timeout=seconds)
    return document


def credential_keys(credential, kid: str | None) -> list[SigningKey]:
    """
    The credential's signing keys. When the cached set lacks the assertion's `kid` (the issuer
    rotated its keys), fetch again, at most once per FEDERATION_JWKS_REFETCH_SECONDS for every
    worker together (cache.add is atomic), so unknown kids cannot make us hammer the issuer.
    """
    if not credential.jwks_url:
        return parse_jwks(json.loads(credential.jwks))
    url = credential.jwks_url
    document = _cache().get(_cache_key(url, "set"))
    fresh = document is None
    if fresh:
        document = _fetched(url)
    keys = parse_jwks(document)
    if (
        not fresh
        and kid is not None
        and all(key.kid != kid for key in keys)
        and _cache().add(_cache_key(url, "refetch"), 1, timeout=settings.FEDERATION_JWKS_REFETCH_SECONDS)
    ):
        keys = parse_jwks(_fetched(url))
    return keys
