"""
The python-scim compliance suite (scim2-tester, what `scim2 test` runs) against a real gunicorn
process: every Users and discovery check must report SUCCESS.
"""

import pytest
from httpx2 import Client
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server

from tests.live_server import live_server


pytestmark = pytest.mark.live_server_process  # starts gunicorn


def test_scim2_tester_passes_every_users_and_discovery_check(tmp_path):
    with live_server(tmp_path) as (base_url, token):
        headers = {"Authorization": f"Bearer {token}"}
        with Client(base_url=f"{base_url}/scim/v2", headers=headers) as http:
            results = check_server(SyncSCIMClient(http), resource_types=["User"])

    assert len(results) > 90
    failures = [f"{r.status.name} {r.title}: {r.reason}" for r in results if r.status != Status.SUCCESS]
    assert failures == []
