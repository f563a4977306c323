"""
Kept SCIM tokens (accounts.connections.token_cache, issue 15): a process skips the token's
statement for a token it authenticated, and every change to a token, its connection or its
organization is seen at the very next request. Against the real Redis (REDIS_URL, which CI sets),
under an epoch key of each test's own; tests/config/test_token_cache_server.py checks the same
across the production web command's processes.
"""

import uuid
from datetime import timedelta

import pytest
import redis as redis_py
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.connections import token_cache
from accounts.connections.models import ProvisioningConnection, ScimSecretToken
from accounts.connections.services import connection_client_profile_set, scim_token_create, scim_token_revoke
from config import ratelimit
from scim import constants
from tests.conftest import ScimClient


ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"
TOKEN_TABLE = "accounts_scimsecrettoken"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


@pytest.fixture
def epoch_key(settings, monkeypatch, redis_url):
    """The cache on, as in production, with an epoch key no other test (or xdist worker) renews."""
    key = f"credentials:test-{uuid.uuid4().hex}"
    monkeypatch.setattr(token_cache, "EPOCH_KEY", key)
    settings.REDIS_URL = redis_url
    settings.SCIM_TOKEN_CACHE_SECONDS = 10
    token_cache.forget_all()
    ratelimit.rate_limit_reset()
    client = redis_py.Redis.from_url(redis_url)
    yield key
    client.delete(key)
    client.close()
    token_cache.forget_all()
    ratelimit.rate_limit_reset()


@pytest.fixture
def epoch(epoch_key, redis_url):
    client = redis_py.Redis.from_url(redis_url)
    yield lambda: client.get(epoch_key)
    client.close()


def token_reads(scim: ScimClient) -> tuple[int, object]:
    """The response to a Test Connection-shaped request, and how many statements read a token."""
    with CaptureQueriesContext(db_connection) as queries:
        response = scim.get('/Users?filter=userName eq "nobody@contoso.com"')
    reads = [query["sql"] for query in queries.captured_queries if query["sql"].startswith("SELECT")]
    return sum(TOKEN_TABLE in sql for sql in reads), response


def keep_token(scim: ScimClient) -> None:
    """Authenticate once, and check that the token is kept: the next request reads none."""
    token_reads(scim)
    assert token_reads(scim)[0] == 0


def error(status: int, detail: str) -> dict:
    return {"schemas": [ERROR_SCHEMA], "status": str(status), "detail": detail}


def test_a_token_authenticated_once_is_not_read_again(epoch_key, scim):
    first, _ = token_reads(scim)
    second, response = token_reads(scim)

    assert (first, second) == (1, 0)
    assert response.status_code == 200
    assert response.body["totalResults"] == 0


def test_without_the_cache_every_request_reads_its_token(epoch_key, settings, scim):
    settings.SCIM_TOKEN_CACHE_SECONDS = 0

    reads = [token_reads(scim)[0] for _ in range(3)]

    assert reads == [1, 1, 1]


def test_without_redis_every_request_reads_its_token(epoch_key, settings, scim):
    settings.REDIS_URL = ""

    reads = [token_reads(scim)[0] for _ in range(3)]

    assert reads == [1, 1, 1]


def test_a_revoked_token_is_refused_at_the_next_request(epoch_key, organization, scim):
    keep_token(scim)

    scim_token_revoke(organization=organization, label="entra")
    response = scim.get("/Users")

    assert response.status_code == 401
    assert response.body == error(401, constants.INVALID_TOKEN)


def test_a_connection_disabled_by_a_save_is_refused_at_the_next_request(epoch_key, organization, scim):
    keep_token(scim)

    connection = ProvisioningConnection.objects.get(organization=organization)
    connection.enabled = False
    connection.save()
    response = scim.get("/Users")

    assert response.status_code == 403
    assert response.body == error(403, constants.CONNECTION_DISABLED)


def test_a_deleted_connection_refuses_its_tokens_at_the_next_request(epoch_key, organization, scim):
    keep_token(scim)

    ProvisioningConnection.objects.filter(organization=organization).delete()
    response = scim.get("/Users")

    assert response.status_code == 401
    assert response.body == error(401, constants.INVALID_TOKEN)


def test_a_token_whose_expiry_passes_while_kept_is_refused(epoch_key, organization, monkeypatch):
    issued = scim_token_create(
        organization=organization, label="short", expires_at=timezone.now() + timedelta(hours=1)
    )
    scim = ScimClient(issued.secret)
    keep_token(scim)

    later = timezone.now() + timedelta(hours=2)
    monkeypatch.setattr("accounts.connections.models.timezone.now", lambda: later)
    response = scim.get("/Users")

    assert response.status_code == 401
    assert response.body == error(401, constants.INVALID_TOKEN)


def test_a_new_client_profile_answers_the_next_patch(epoch_key, organization, scim):
    group = scim.post("/Groups", {"schemas": [GROUP_SCHEMA], "displayName": "Sales"}).body
    rename = {
        "schemas": [PATCH_SCHEMA],
        "Operations": [{"op": "replace", "path": "displayName", "value": "Sales EU"}],
    }
    as_entra = scim.patch(f"/Groups/{group['id']}", rename)

    connection = ProvisioningConnection.objects.get(organization=organization)
    connection_client_profile_set(connection=connection, profile="okta")
    as_okta = scim.patch(f"/Groups/{group['id']}", rename)

    assert as_entra.status_code == 204
    assert as_okta.status_code == 200
    assert as_okta.body["displayName"] == "Sales EU"


def test_an_organization_renamed_is_read_at_the_next_request(epoch_key, organization, scim):
    keep_token(scim)

    organization.name = "Contoso Ltd"
    organization.save()
    reads, _ = token_reads(scim)

    assert reads == 1


def test_a_querysets_update_of_what_a_request_decides_renews_the_epoch(epoch_key, organization, epoch, scim):
    keep_token(scim)
    before = epoch()

    ScimSecretToken.objects.filter(connection__organization=organization).update(label="renamed")

    assert epoch() != before


def test_recording_a_tokens_last_use_does_not_renew_the_epoch(epoch_key, organization, epoch, scim):
    keep_token(scim)
    before = epoch()

    ScimSecretToken.objects.filter(connection__organization=organization).update(last_used_at=timezone.now())

    assert epoch() == before


def test_a_change_announced_by_another_process_is_read_at_the_next_request(epoch_key, redis_url, scim):
    keep_token(scim)

    redis_py.Redis.from_url(redis_url).set(epoch_key, "set-by-another-process")
    reads, response = token_reads(scim)

    assert reads == 1
    assert response.status_code == 200


def test_an_epoch_lost_by_redis_is_read_as_a_change(epoch_key, redis_url, scim):
    keep_token(scim)

    redis_py.Redis.from_url(redis_url).delete(epoch_key)  # a Redis restarted without its data
    reads = [token_reads(scim)[0] for _ in range(2)]

    assert reads == [1, 0]


def test_a_kept_token_is_read_again_after_scim_token_cache_seconds(epoch_key, monkeypatch, scim):
    keep_token(scim)

    clock = token_cache.time.monotonic() + 11
    monkeypatch.setattr(token_cache.time, "monotonic", lambda: clock)
    reads, _ = token_reads(scim)

    assert reads == 1


def test_with_redis_unreachable_requests_are_served_reading_their_token(epoch_key, settings, scim):
    keep_token(scim)

    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    ratelimit.rate_limit_reset()
    reads = [token_reads(scim) for _ in range(2)]

    assert [count for count, _ in reads] == [1, 1]
    assert [response.status_code for _, response in reads] == [200, 200]


def test_a_change_made_while_redis_was_unreachable_is_seen_once_it_is_back(
    epoch_key, settings, organization, redis_url, scim
):
    keep_token(scim)
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    ratelimit.rate_limit_reset()
    token_reads(scim)  # Redis unreachable: this process forgets what it kept

    ScimSecretToken.objects.filter(connection__organization=organization).update(revoked_at=timezone.now())
    settings.REDIS_URL = redis_url
    ratelimit.rate_limit_reset()
    response = scim.get("/Users")

    assert response.status_code == 401


def test_a_change_is_announced_again_when_its_transaction_commits(
    epoch_key, organization, epoch, scim, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        ProvisioningConnection.objects.filter(organization=organization).update(name="renamed")
        renewed_at_once = epoch()
    for callback in callbacks:
        callback()

    assert renewed_at_once is not None
    assert epoch() != renewed_at_once


def test_a_disabled_connections_token_is_not_kept(epoch_key, organization, scim):
    ProvisioningConnection.objects.filter(organization=organization).update(enabled=False)

    statuses = [token_reads(scim) for _ in range(2)]

    assert [count for count, _ in statuses] == [1, 1]
    assert [response.status_code for _, response in statuses] == [403, 403]


def test_a_bearer_nobody_issued_is_never_kept(epoch_key, organization):
    scim = ScimClient("wat_" + "x" * 43)

    reads = [token_reads(scim)[0] for _ in range(2)]

    assert reads == [2, 2]  # the lookup, then the refused credential's connection for the log


def test_a_kept_tokens_next_use_is_recorded_and_it_stays_kept(epoch_key, organization, monkeypatch, scim):
    keep_token(scim)

    later = timezone.now() + timedelta(minutes=6)  # past LAST_USED_RESOLUTION
    monkeypatch.setattr("django.utils.timezone.now", lambda: later)
    recorded, response = token_reads(scim)
    after, _ = token_reads(scim)

    assert response.status_code == 200
    assert ScimSecretToken.objects.get(connection__organization=organization).last_used_at == later
    assert (recorded, after) == (0, 0)
