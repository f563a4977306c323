"""Shared fixtures: organizations, SCIM tokens and a bearer-authenticated SCIM client."""

import json
import os

import pytest
from django.test import Client

from accounts.connections.services import scim_token_create
from accounts.services import organization_create
from tests.provisioning_logs.smtp_sink import SmtpSink


SCIM_BASE = "/scim/v2"
SCIM_JSON = "application/scim+json"


class ScimClient:
    """A Django test client that speaks SCIM: bearer token, scim+json bodies, parsed replies."""

    def __init__(self, token: str | None):
        self.client = Client()
        self.token = token

    def _headers(self, extra: dict | None) -> dict:
        headers = {}
        if self.token is not None:
            headers["Authorization"] = f"Bearer {self.token}"
        headers.update(extra or {})
        return headers

    def request(
        self,
        method: str,
        path: str,
        body=None,
        *,
        raw: bytes | str | None = None,
        headers=None,
        content_type: str = SCIM_JSON,
    ):
        url = path if path.startswith(SCIM_BASE) else SCIM_BASE + path
        data = raw if raw is not None else (json.dumps(body) if body is not None else None)
        call = getattr(self.client, method.lower())
        kwargs = {"headers": self._headers(headers)}
        if data is not None:
            kwargs.update(data=data, content_type=content_type)
        response = call(url, **kwargs)
        # Group responses stream their members; read them whole here.
        content = b"".join(response.streaming_content) if response.streaming else response.content
        response.raw_content = content
        response.body = json.loads(content) if content else None
        return response

    def get(self, path, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path, body=None, **kwargs):
        return self.request("POST", path, body, **kwargs)

    def put(self, path, body=None, **kwargs):
        return self.request("PUT", path, body, **kwargs)

    def patch(self, path, body=None, **kwargs):
        return self.request("PATCH", path, body, **kwargs)

    def delete(self, path, **kwargs):
        return self.request("DELETE", path, **kwargs)


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The real Redis (REDIS_URL, which CI sets): missing, a test fails in CI and is skipped elsewhere."""
    url = os.environ.get("REDIS_URL")
    if not url:
        if os.environ.get("CI"):
            pytest.fail("CI must set REDIS_URL")
        pytest.skip("REDIS_URL not set: this test needs the real Redis")
    return url


@pytest.fixture
def organization(db):
    return organization_create(slug="contoso", name="Contoso")


@pytest.fixture
def other_organization(db):
    return organization_create(slug="fabrikam", name="Fabrikam")


@pytest.fixture
def scim_token(organization) -> str:
    return scim_token_create(organization=organization, label="entra").secret


@pytest.fixture
def scim(scim_token) -> ScimClient:
    """SCIM client of the contoso organization."""
    return ScimClient(scim_token)


@pytest.fixture
def other_scim(other_organization) -> ScimClient:
    """SCIM client of the fabrikam organization."""
    return ScimClient(scim_token_create(organization=other_organization, label="entra").secret)


@pytest.fixture
def anonymous_scim(db) -> ScimClient:
    return ScimClient(None)


@pytest.fixture
def smtp_sink(settings):
    """A real SMTP server, and Django's SMTP backend pointed at it."""
    with SmtpSink() as sink:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = sink.host, sink.port
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
        yield sink


def entra_user(user_name: str = "alice@contoso.com", **overrides) -> dict:
    """Entra's documented create body (entra-scim.md §1.5), for a given userName."""
    body = {
        "schemas": [
            "urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
        ],
        "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
        "userName": user_name,
        "active": True,
        "emails": [{"primary": True, "type": "work", "value": user_name}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
        "roles": [],
    }
    body.update(overrides)
    return body


@pytest.fixture
def create_user(scim):
    """POST a user (Entra's create body, overridable) and return the response body."""

    def create(user_name: str = "alice@contoso.com", client: ScimClient | None = None, **overrides) -> dict:
        response = (client or scim).post("/Users", entra_user(user_name, **overrides))
        assert response.status_code == 201, response.body
        return response.body

    return create


PORTAL_PASSWORD = "a-long-enough-passphrase-42"


@pytest.fixture
def make_account(db):
    """A work account that can sign in to the portal with PORTAL_PASSWORD."""
    from accounts.attributes import AccountAttributes
    from accounts.models import OrganizationRole
    from accounts.services import account_create

    def make(user_name: str, *, organization, role=OrganizationRole.MEMBER, password=PORTAL_PASSWORD):
        return account_create(
            organization=organization,
            attributes=AccountAttributes(user_name=user_name, password=password),
            role=role,
        ).account

    return make


@pytest.fixture(autouse=True)
def _fresh_cycle_cache():
    """The recorder caches running cycles per process; tests must not see each other's."""
    from provisioning_logs.services import forget_running_cycles

    forget_running_cycles()
    yield
    forget_running_cycles()


@pytest.fixture
def without_provisioning_log(settings):
    """For tests that count the SCIM work itself; the log's own cost is tested separately."""
    settings.PROVISIONING_LOG_ENABLED = False


@pytest.fixture
def portal_client(make_account, organization):
    """A factory: a Django client signed in to the portal as a new account with the given role."""
    from django.test import Client

    def sign_in(role, *, organization=organization, user_name=None) -> Client:
        user_name = user_name or f"{role}@{organization.slug}.com"
        make_account(user_name, organization=organization, role=role)
        client = Client()
        assert client.login(username=user_name, password=PORTAL_PASSWORD)
        return client

    return sign_in


@pytest.fixture
def admin_browser(portal_client):
    return portal_client("admin")


@pytest.fixture
def support_browser(portal_client):
    return portal_client("support")


@pytest.fixture(autouse=True)
def eager_celery():
    """
    Tasks run in-process even when REDIS_URL is set (as in CI): no worker serves the test
    process, so a queued task would never run (and would pile up in the shared Redis). The
    delivery fault tests run a real worker in their own processes.
    """
    from config import celery_app

    conf = celery_app.conf
    saved = conf.task_always_eager, conf.task_eager_propagates
    conf.task_always_eager = conf.task_eager_propagates = True
    yield
    conf.task_always_eager, conf.task_eager_propagates = saved


def pytest_collection_modifyitems(config, items):
    # Tests that bring their own SQLite or no database at all (server processes, settings, unit
    # files) prove nothing more the second time: the PostgreSQL pass skips them (CI's budget).
    if not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        return
    once = pytest.mark.skip(reason="independent of the database: runs once, in the SQLite pass")
    for item in items:
        if item.get_closest_marker("sqlite_pass_only"):
            item.add_marker(once)
