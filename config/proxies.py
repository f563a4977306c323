"""
Behind a load balancer: which X-Forwarded-For / X-Forwarded-Proto to believe (TRUSTED_PROXIES).

TRUSTED_PROXIES is empty (the default: nothing forwarded is believed, the client is the socket's
peer), a count of proxies in front of every node (each appends to X-Forwarded-For; the client is
the one the outermost proxy saw), or a comma-separated list of addresses / CIDR networks of the
proxies (the client is the nearest hop outside them). The peer that connected to us must be a
trusted proxy, else every forwarded header is dropped here, before anything reads it: Django's
SECURE_PROXY_SSL_HEADER is then believed from trusted proxies only.
"""

import ipaddress
from dataclasses import dataclass
from types import SimpleNamespace

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from ipware import get_client_ip


CLIENT_ADDRESS_KEY = "portal.client_address"  # in the WSGI environ: gunicorn's access log shows it
_FORWARDED_HEADERS = (
    "HTTP_X_FORWARDED_FOR",
    "HTTP_X_FORWARDED_PROTO",
    "HTTP_X_FORWARDED_HOST",
    "HTTP_FORWARDED",
)
_CHAIN = "HTTP_X_PORTAL_FORWARDED_CHAIN"  # X-Forwarded-For with the peer appended, for ipware


@dataclass(frozen=True)
class TrustedProxies:
    count: int = 0
    networks: tuple = ()

    def trusts(self, address: str) -> bool:
        if self.count:
            return True  # a count: every node is reachable through the proxies only
        return _in(address, self.networks)

    def hops_to_skip(self, chain: list[str]) -> int:
        """How many of the chain's last entries (the peer last) are trusted proxies."""
        if self.count:
            return self.count
        skipped = 0
        for address in reversed(chain):
            if not _in(address, self.networks):
                break
            skipped += 1
        return skipped


def _in(address: str, networks) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip().strip("[]"))
    except ValueError:
        return False
    return any(ip in network for network in networks)


def parse_trusted_proxies(value: str) -> TrustedProxies:
    value = value.strip()
    if not value:
        return TrustedProxies()
    if value.isdigit():
        return TrustedProxies(count=int(value))
    try:
        networks = tuple(
            ipaddress.ip_network(item.strip(), strict=False) for item in value.split(",") if item.strip()
        )
    except ValueError as exc:
        raise ImproperlyConfigured(
            f"TRUSTED_PROXIES must be a number of proxies or addresses/CIDR networks, not {value!r}."
        ) from exc
    return TrustedProxies(networks=networks)


def client_address(request) -> str:
    """The real client's address (set by TrustedProxyMiddleware; the peer's outside a request cycle)."""
    return request.META.get(CLIENT_ADDRESS_KEY) or request.META.get("REMOTE_ADDR", "")


def _forwarded_client(meta: dict, proxies: TrustedProxies) -> str:
    peer = meta.get("REMOTE_ADDR", "")
    forwarded = meta.get("HTTP_X_FORWARDED_FOR", "").strip()
    if not forwarded:
        return peer
    chain = [item.strip() for item in f"{forwarded},{peer}".split(",") if item.strip()]
    skip = min(proxies.hops_to_skip(chain), len(chain) - 1)
    # django-ipware parses the chain (ports, brackets, IPv6, junk) and picks the hop before the
    # trusted ones; strict=False: more hops than proxies means the client sent some itself.
    ip, _routable = get_client_ip(
        SimpleNamespace(META={_CHAIN: ", ".join(chain)}),
        proxy_count=skip,
        request_header_order=[_CHAIN],
        strict=False,
    )
    return ip or peer


class TrustedProxyMiddleware:
    """First in MIDDLEWARE: everything after it sees only what trusted proxies said."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.proxies = settings.TRUSTED_PROXIES

    def __call__(self, request):
        meta = request.META
        if self.proxies.trusts(meta.get("REMOTE_ADDR", "")):
            meta[CLIENT_ADDRESS_KEY] = _forwarded_client(meta, self.proxies)
        else:
            for header in _FORWARDED_HEADERS:
                meta.pop(header, None)
            meta[CLIENT_ADDRESS_KEY] = meta.get("REMOTE_ADDR", "")
        return self.get_response(request)
