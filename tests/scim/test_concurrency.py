"""Concurrent clients against a real multi-worker server: uniqueness holds and no update is lost."""

import json
import threading
import urllib.request

import pytest

from tests.live_server import live_server


pytestmark = pytest.mark.live_server_process  # starts gunicorn with several workers


def _send(base_url, token, method, path, body=None):
    request = urllib.request.Request(
        f"{base_url}/scim/v2{path}",
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        # As Entra (its group PATCHes answer 204); urllib's own agent would be a generic client.
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/scim+json",
            "User-Agent": "Azure Active Directory SCIM Client",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def _all_at_once(calls):
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(index, call):
        barrier.wait()
        results[index] = call()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_concurrent_creates_of_case_variant_usernames_create_exactly_one(tmp_path):
    names = ["race@contoso.com", "RACE@contoso.com", "Race@Contoso.com", "rAcE@contoso.COM"] * 2
    with live_server(tmp_path) as (base_url, token):
        results = _all_at_once(
            [lambda n=n: _send(base_url, token, "POST", "/Users", {"userName": n}) for n in names]
        )
        listed = _send(base_url, token, "GET", '/Users?filter=userName+eq+"race@contoso.com"')

    statuses = sorted(status for status, _ in results)
    assert statuses == [201] + [409] * (len(names) - 1)
    conflicts = [body for status, body in results if status == 409]
    assert all(body["scimType"] == "uniqueness" and body["status"] == "409" for body in conflicts)
    assert listed[1]["totalResults"] == 1


def test_concurrent_patches_of_different_attributes_lose_neither(tmp_path):
    with live_server(tmp_path) as (base_url, token):
        _, created = _send(base_url, token, "POST", "/Users", {"userName": "pat@contoso.com"})
        path = f"/Users/{created['id']}"
        updates = [("title", f"Title {i}") if i % 2 else ("displayName", f"Name {i}") for i in range(6)]
        _all_at_once(
            [
                lambda a=a, v=v: _send(
                    base_url,
                    token,
                    "PATCH",
                    path,
                    {
                        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                        "Operations": [{"op": "Replace", "path": a, "value": v}],
                    },
                )
                for a, v in updates
            ]
        )
        _, final = _send(base_url, token, "GET", path)

    assert final["title"] in {v for a, v in updates if a == "title"}
    assert final["displayName"] in {v for a, v in updates if a == "displayName"}
    # Every one of the six PATCHes was applied on top of the previous one.
    assert final["meta"]["version"] == 'W/"7"'


def test_concurrent_member_adds_to_one_group_lose_none(tmp_path):
    with live_server(tmp_path) as (base_url, token):
        user_ids = [
            _send(base_url, token, "POST", "/Users", {"userName": f"member{i}@contoso.com"})[1]["id"]
            for i in range(6)
        ]
        _, group = _send(base_url, token, "POST", "/Groups", {"displayName": "Race group"})
        path = f"/Groups/{group['id']}"
        results = _all_at_once(
            [
                lambda u=u: _send(
                    base_url,
                    token,
                    "PATCH",
                    path,
                    {
                        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                        "Operations": [{"op": "Add", "path": "members", "value": [{"value": u}]}],
                    },
                )
                for u in user_ids
            ]
        )
        _, final = _send(base_url, token, "GET", path)

    assert [status for status, _ in results] == [204] * len(user_ids)
    assert sorted(m["value"] for m in final["members"]) == sorted(user_ids)
    assert final["meta"]["version"] == f'W/"{1 + len(user_ids)}"'
