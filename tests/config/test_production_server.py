"""
The production web process, started with the Procfile's own `release` and `web` commands and
production settings (DEBUG off, behind a trusted proxy on loopback): static files served by
WhiteNoise with hashed names and far-future cache headers, long SCIM filters let through, the
access log, meta.location from PORTAL_BASE_URL, and slow clients that never starve it (issue 12).
"""

import json
import re
import time

import pytest

from benchmarks.slow_clients import HeldConnections, normal_requests
from tests.config.server_process import Server, base_environment, free_port, procfile, run


pytestmark = [pytest.mark.live_server_process, pytest.mark.sqlite_pass_only]
PUBLIC_HOST = "portal.example.com"
PORTAL_BASE_URL = "https://portal.example.com"
# What the balancer adds: TLS ended there, the client's address.
THROUGH_BALANCER = {"Host": PUBLIC_HOST, "X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"}
IMMUTABLE = "max-age=315360000, public, immutable"


@pytest.fixture(scope="module")
def production(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("production")
    port = free_port()
    env = base_environment(
        DJANGO_SETTINGS_MODULE="config.settings.production",
        DJANGO_SECRET_KEY="p" * 20 + "a-production-like-random-secret-value-0123456789",
        DJANGO_ALLOWED_HOSTS=f"{PUBLIC_HOST},127.0.0.1",
        DATABASE_URL=f"sqlite:///{tmp / 'production.sqlite3'}",
        REDIS_URL="redis://127.0.0.1:1/0",  # required; no request below reaches the broker
        PORTAL_BASE_URL=PORTAL_BASE_URL,
        TRUSTED_PROXIES="127.0.0.0/8",
        DJANGO_STATIC_ROOT=str(tmp / "static"),
        PORT=str(port),
        WEB_CONCURRENCY="2",
        GUNICORN_THREADS="4",
    )
    commands = procfile()
    run(commands["release"], env)
    run("python manage.py create_org contoso --name Contoso", env)
    token = run("python manage.py create_scim_token contoso", env).strip()
    server = Server(commands["web"], env, port, tmp / "web.log")
    server.token = token
    server.static_root = tmp / "static"
    yield server
    server.stop()


def test_the_stylesheets_are_served_with_hashed_names_and_far_future_cache_headers(production):
    page = production.get("/signin/", THROUGH_BALANCER).body.decode()
    stylesheets = re.findall(r'<link rel="stylesheet" href="([^"]+)"', page)

    assert stylesheets
    for href in stylesheets:
        assert re.fullmatch(r"/static/.+\.[0-9a-f]{12}\.css", href), href
        response = production.get(href, THROUGH_BALANCER)
        assert response.status == 200
        assert response.getheader("Content-Type").startswith("text/css")
        assert response.getheader("Cache-Control") == IMMUTABLE


def test_the_dashboard_script_is_served_compressed_under_its_hashed_name(production):
    manifest = json.loads((production.static_root / "staticfiles.json").read_text())["paths"]
    hashed = manifest["portal/dashboard.js"]

    response = production.get(f"/static/{hashed}", {**THROUGH_BALANCER, "Accept-Encoding": "gzip"})

    assert re.fullmatch(r"portal/dashboard\.[0-9a-f]{12}\.js", hashed)
    assert response.status == 200
    assert response.getheader("Content-Type").startswith("text/javascript")
    assert response.getheader("Content-Encoding") == "gzip"
    assert response.getheader("Cache-Control") == IMMUTABLE


def test_the_sign_in_page_renders(production):
    response = production.get("/signin/", THROUGH_BALANCER)

    assert response.status == 200
    assert 'name="username"' in response.body.decode()


def test_a_missing_page_is_a_404_without_debug_information(production):
    response = production.get("/no-such-page/", THROUGH_BALANCER)

    assert response.status == 404
    assert "URLconf" not in response.body.decode()
    assert "DEBUG" not in response.body.decode()


def test_a_host_not_allowed_is_a_400_without_debug_information(production):
    response = production.get("/signin/", {**THROUGH_BALANCER, "Host": "evil.example.net"})

    assert response.status == 400
    assert "DisallowedHost" not in response.body.decode()
    assert "Traceback" not in response.body.decode()


def test_plain_http_from_outside_the_proxies_is_redirected_to_https(production):
    # Loopback is the trusted proxy here; without X-Forwarded-Proto the request was not over TLS.
    response = production.get("/signin/", {"Host": PUBLIC_HOST})

    assert response.status == 301
    assert response.getheader("Location") == "https://portal.example.com/signin/"


def test_the_balancers_plain_http_probe_by_node_address_is_answered(production):
    response = production.get("/healthz", {"Host": "10.1.2.3"})

    assert response.status == 200
    assert json.loads(response.body) == {"status": "ok", "checks": {"process": "ok"}}


def test_a_16_kib_scim_filter_reaches_django(production):
    value = "a" * 16 * 1024
    response = production.get(
        f"/scim/v2/Users?filter=userName+eq+%22{value}%22",
        {**THROUGH_BALANCER, "Authorization": f"Bearer {production.token}"},
    )

    # Answered by Django (the request id middleware ran), not refused by gunicorn's 4 KiB line limit.
    assert response.getheader("client-request-id")
    assert response.getheader("Content-Type") == "application/scim+json"


def test_scim_meta_location_comes_from_portal_base_url_not_the_host_header(production):
    response = production.get(
        "/scim/v2/ServiceProviderConfig",
        {**THROUGH_BALANCER, "Host": "127.0.0.1", "Authorization": f"Bearer {production.token}"},
    )

    assert response.status == 200
    assert json.loads(response.body)["meta"]["location"] == f"{PORTAL_BASE_URL}/scim/v2/ServiceProviderConfig"


def test_the_access_log_shows_the_real_client_address_and_the_request_id(production):
    production.get("/signin/", {**THROUGH_BALANCER, "client-request-id": "probe-4242"})

    deadline = time.monotonic() + 5
    while "request_id=probe-4242" not in production.log() and time.monotonic() < deadline:
        time.sleep(0.1)
    line = next(line for line in production.log().splitlines() if "request_id=probe-4242" in line)
    assert line.startswith('203.0.113.7 "GET /signin/ HTTP/1.1" 200 ')


def test_with_60_idle_and_trickling_connections_held_every_normal_request_is_answered_within_20_s(production):
    with HeldConnections("127.0.0.1", production.port, idle=30, trickling=30):
        time.sleep(2)
        report = normal_requests("127.0.0.1", production.port, 10, path="/healthz")

    assert [outcome.status for outcome in report.outcomes] == [200] * 10
    assert max(outcome.seconds for outcome in report.outcomes) < 20
    assert production.process.poll() is None
