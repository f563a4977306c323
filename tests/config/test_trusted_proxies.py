"""
Behind a proxy (TRUSTED_PROXIES): forwarded headers are believed from trusted proxies only, and the
real client's address is what sign-in throttling, the access log and the provisioning log use.
"""

import pytest
from django.test import Client, override_settings

from config.proxies import parse_trusted_proxies
from provisioning_logs.models import ProvisioningEvent
from tests.conftest import PORTAL_PASSWORD, SCIM_JSON, entra_user


pytestmark = pytest.mark.django_db
BALANCER = "10.0.0.2"
THROTTLED_TEXT = "Too many failed sign-in attempts"


@pytest.fixture
def admin(make_account, organization):
    return make_account("admin@contoso.com", organization=organization, role="admin")


def _sign_in(username: str, password: str, *, peer: str, forwarded_for: str | None = None):
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    client = Client(REMOTE_ADDR=peer, headers=headers)
    client.post("/signin/", {"username": username})
    return client.post("/signin/password/", {"password": password})


@override_settings(SIGNIN_MAX_FAILURES_PER_ADDRESS=3)
def test_a_client_spoofing_x_forwarded_for_without_a_trusted_proxy_is_throttled_by_its_real_address(admin):
    for number in range(3):
        _sign_in(
            f"user{number}@contoso.com", "wrong", peer="198.51.100.7", forwarded_for=f"203.0.113.{number}"
        )

    response = _sign_in(
        "admin@contoso.com", PORTAL_PASSWORD, peer="198.51.100.7", forwarded_for="203.0.113.99"
    )

    assert THROTTLED_TEXT in response.content.decode()


@override_settings(SIGNIN_MAX_FAILURES_PER_ADDRESS=3, TRUSTED_PROXIES=parse_trusted_proxies("1"))
def test_behind_one_trusted_proxy_the_forwarded_address_is_throttled_not_the_balancer(admin):
    for number in range(3):
        _sign_in(f"user{number}@contoso.com", "wrong", peer=BALANCER, forwarded_for="203.0.113.5")

    locked = _sign_in("admin@contoso.com", PORTAL_PASSWORD, peer=BALANCER, forwarded_for="203.0.113.5")
    other_client = _sign_in("admin@contoso.com", PORTAL_PASSWORD, peer=BALANCER, forwarded_for="203.0.113.6")

    assert THROTTLED_TEXT in locked.content.decode()
    assert other_client.status_code == 302 and other_client["Location"] == "/admin/"


@override_settings(SIGNIN_MAX_FAILURES_PER_ADDRESS=3, TRUSTED_PROXIES=parse_trusted_proxies("1"))
def test_behind_one_proxy_addresses_the_client_prepended_itself_are_ignored(admin):
    # The balancer appends the address it saw; whatever came before it is the client's own text.
    for number in range(3):
        _sign_in(
            f"user{number}@contoso.com",
            "wrong",
            peer=BALANCER,
            forwarded_for=f"192.0.2.{number}, 203.0.113.5",
        )

    response = _sign_in("admin@contoso.com", PORTAL_PASSWORD, peer=BALANCER, forwarded_for="203.0.113.5")

    assert THROTTLED_TEXT in response.content.decode()


@override_settings(SIGNIN_MAX_FAILURES_PER_ADDRESS=3, TRUSTED_PROXIES=parse_trusted_proxies("10.0.0.0/8"))
def test_with_proxy_networks_a_peer_outside_them_is_not_believed(admin):
    for number in range(3):
        _sign_in(
            f"user{number}@contoso.com", "wrong", peer="198.51.100.7", forwarded_for=f"203.0.113.{number}"
        )

    response = _sign_in(
        "admin@contoso.com", PORTAL_PASSWORD, peer="198.51.100.7", forwarded_for="203.0.113.99"
    )

    assert THROTTLED_TEXT in response.content.decode()


@override_settings(SIGNIN_MAX_FAILURES_PER_ADDRESS=3, TRUSTED_PROXIES=parse_trusted_proxies("10.0.0.0/8"))
def test_with_proxy_networks_the_client_is_the_nearest_hop_outside_them(admin):
    for number in range(3):
        _sign_in(f"user{number}@contoso.com", "wrong", peer=BALANCER, forwarded_for="203.0.113.5, 10.9.9.9")

    locked = _sign_in("admin@contoso.com", PORTAL_PASSWORD, peer=BALANCER, forwarded_for="203.0.113.5")
    other_client = _sign_in("admin@contoso.com", PORTAL_PASSWORD, peer=BALANCER, forwarded_for="203.0.113.6")

    assert THROTTLED_TEXT in locked.content.decode()
    assert other_client.status_code == 302


@override_settings(SECURE_SSL_REDIRECT=True)
def test_x_forwarded_proto_from_an_untrusted_client_is_not_believed():
    response = Client(REMOTE_ADDR="198.51.100.7", headers={"X-Forwarded-Proto": "https"}).get("/signin/")

    assert response.status_code == 301
    assert response["Location"] == "https://testserver/signin/"


@override_settings(SECURE_SSL_REDIRECT=True, TRUSTED_PROXIES=parse_trusted_proxies("10.0.0.0/8"))
def test_x_forwarded_proto_from_a_trusted_proxy_is_believed(db):
    response = Client(REMOTE_ADDR=BALANCER, headers={"X-Forwarded-Proto": "https"}).get("/signin/")

    assert response.status_code == 200


@override_settings(TRUSTED_PROXIES=parse_trusted_proxies("1"))
def test_the_provisioning_log_records_the_real_client_address(scim_token):
    client = Client(
        REMOTE_ADDR=BALANCER,
        headers={"Authorization": f"Bearer {scim_token}", "X-Forwarded-For": "203.0.113.5"},
    )

    response = client.post("/scim/v2/Users", data=entra_user(), content_type=SCIM_JSON)

    assert response.status_code == 201
    assert ProvisioningEvent.objects.get().client_address == "203.0.113.5"


def test_without_trusted_proxies_the_provisioning_log_records_the_peer(scim_token):
    client = Client(
        REMOTE_ADDR="198.51.100.7",
        headers={"Authorization": f"Bearer {scim_token}", "X-Forwarded-For": "203.0.113.5"},
    )

    client.post("/scim/v2/Users", data=entra_user(), content_type=SCIM_JSON)

    assert ProvisioningEvent.objects.get().client_address == "198.51.100.7"
