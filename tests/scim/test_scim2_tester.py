"""
The python-scim compliance suite, scim2-tester, against a real gunicorn process: through its
Python API (every check must report SUCCESS) and through `scim2 test` of scim2-cli (exit 0).
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from httpx2 import Client
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server

from tests.live_server import live_server


pytestmark = pytest.mark.live_server_process  # starts gunicorn


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    # The suites send their checks back to back and do not honour 429 (above 100 requests/s with
    # Redis, the connection's default limit), so the rate limit is off for them.
    with live_server(tmp_path_factory.mktemp("scim2-tester"), environment={"SCIM_RATE_LIMIT": "0"}) as (
        base_url,
        token,
    ):
        yield f"{base_url}/scim/v2", token


def test_scim2_tester_passes_every_users_groups_and_discovery_check(server):
    scim_url, token = server
    # httpx waits 5 s by default; a loaded CI machine can take longer for one request.
    with Client(base_url=scim_url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as http:
        results = check_server(SyncSCIMClient(http), resource_types=["User", "Group"])

    assert len(results) > 110
    assert {r.resource_type for r in results if r.resource_type} >= {"User", "Group"}
    failures = [f"{r.status.name} {r.title}: {r.reason}" for r in results if r.status != Status.SUCCESS]
    assert failures == []


def test_scim2_cli_test_command_exits_zero(server):
    scim_url, token = server
    scim2 = Path(sys.executable).with_name("scim2")
    # The token goes through the environment, not argv, where other users could read it.
    env = {**os.environ, "SCIM_CLI_URL": scim_url, "SCIM_CLI_HEADERS": f"Authorization: Bearer {token}"}
    # stdin closed: scim2-cli reads a body from a piped stdin, and pytest-xdist workers have one.
    result = subprocess.run(
        [str(scim2), "test"], env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=300
    )
    # What failed, not the last page of successes: each check is a status line and a reason line.
    lines = result.stdout.splitlines()
    failed = [
        f"{line} {reason.strip()}"
        for line, reason in zip(lines, lines[1:] + [""], strict=True)
        if line.startswith(("DEVIATION", "ERROR", "CRITICAL"))
    ]
    assert result.returncode == 0, (failed, result.stderr[-2000:])
    assert "SUCCESS" in result.stdout
