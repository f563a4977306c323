"""
Cursor paging (RFC 9865) on /Users and /Groups: an empty cursor starts, nextCursor walks on,
previousCursor walks back, each row is seen once however rows are inserted and deleted meanwhile;
forged, expired and foreign cursors are 400 with RFC 9865's scimTypes.
"""

import re
import threading
import time
from datetime import timedelta
from urllib.parse import quote

import pytest
from django.core import signing
from django.db import connection as database
from django.utils import timezone

from accounts.models import WorkAccount
from tests.conftest import ScimClient


LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
SEARCH_REQUEST = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
INVALID_CURSOR = (
    "The cursor is not valid for this query: send an empty cursor for the first page, then the "
    "nextCursor or previousCursor of a page, with the same filter, sortBy and sortOrder."
)
UNRESERVED = re.compile(r"[A-Za-z0-9._~-]+")  # RFC 3986 §2.3, as RFC 9865 §2 requires


def seed(organization, count: int, *, prefix: str = "user", start=None) -> list[str]:
    """`count` accounts created a second apart (bulk, as a large directory is); their ids in order."""
    start = start or timezone.now() - timedelta(days=30)
    accounts = [
        WorkAccount(
            organization=organization,
            user_name=f"{prefix}{n:05}@contoso.com",
            date_joined=start + timedelta(seconds=n),
            updated_at=start + timedelta(seconds=n),
        )
        for n in range(count)
    ]
    WorkAccount.objects.bulk_create(accounts, batch_size=1000)
    return [str(a.id) for a in accounts]


def ids(response) -> list[str]:
    assert response.status_code == 200, response.body
    return [resource["id"] for resource in response.body["Resources"]]


def walk(scim: ScimClient, path: str, between=None) -> tuple[list[str], int]:
    """Follow nextCursor from an empty cursor to the last page; the ids seen and the pages read."""
    seen, pages, cursor = [], 0, ""
    while cursor is not None:
        separator = "&" if "?" in path else "?"
        response = scim.get(f"{path}{separator}cursor={cursor}")
        seen += ids(response)
        pages += 1
        cursor = response.body.get("nextCursor")
        if between is not None:
            between(pages)
    return seen, pages


def invalid(detail: str, scim_type: str) -> dict:
    return {"schemas": [ERROR], "status": "400", "scimType": scim_type, "detail": detail}


@pytest.fixture
def users(organization) -> list[str]:
    return seed(organization, 25)


pytestmark = pytest.mark.django_db


# The walk -------------------------------------------------------------------------------------


def test_first_page_of_an_empty_cursor_has_a_next_cursor_and_no_start_index(scim, users):
    response = scim.get("/Users?cursor=&count=10&attributes=userName")
    assert response.status_code == 200
    body = response.body
    assert UNRESERVED.fullmatch(body["nextCursor"])
    assert body == {
        "schemas": [LIST_RESPONSE],
        "totalResults": 25,
        "itemsPerPage": 10,
        "nextCursor": body["nextCursor"],
        "Resources": [
            {
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "id": users[n],
                "userName": f"user{n:05}@contoso.com",
            }
            for n in range(10)
        ],
    }


def test_a_cursor_without_a_value_starts_the_walk(scim, users):
    assert ids(scim.get("/Users?cursor&count=5")) == users[:5]


def test_walk_returns_every_user_once_in_creation_order(scim, users):
    assert walk(scim, "/Users?count=10") == (users, 3)


def test_last_page_has_a_previous_cursor_and_no_next_cursor(scim, users):
    first = scim.get("/Users?cursor=&count=20").body
    last = scim.get(f"/Users?cursor={first['nextCursor']}&count=20").body
    assert sorted(last) == ["Resources", "itemsPerPage", "previousCursor", "schemas", "totalResults"]
    assert [r["id"] for r in last["Resources"]] == users[20:]
    assert (last["itemsPerPage"], last["totalResults"]) == (5, 25)


def test_a_single_short_page_has_no_cursors(scim, users):
    body = scim.get("/Users?cursor=&count=100").body
    assert sorted(body) == ["Resources", "itemsPerPage", "schemas", "totalResults"]


def test_previous_cursor_walks_back_to_the_first_page(scim, users):
    page1 = scim.get("/Users?cursor=&count=10").body
    page2 = scim.get(f"/Users?cursor={page1['nextCursor']}&count=10").body
    page3 = scim.get(f"/Users?cursor={page2['nextCursor']}&count=10").body
    back2 = scim.get(f"/Users?cursor={page3['previousCursor']}&count=10")
    assert ids(back2) == users[10:20]
    back1 = scim.get(f"/Users?cursor={back2.body['previousCursor']}&count=10")
    assert ids(back1) == users[:10]
    assert "previousCursor" not in back1.body
    assert ids(scim.get(f"/Users?cursor={back1.body['nextCursor']}&count=10")) == users[10:20]


def test_walk_with_a_filter_pages_only_the_matches(scim, organization, users):
    path = "/Users?count=2&filter=" + quote('userName sw "user0001"')
    assert walk(scim, path) == (users[10:20], 5)


def test_count_zero_returns_no_resources_and_a_cursor_at_the_same_place(scim, users):
    body = scim.get("/Users?cursor=&count=0").body
    assert (body["itemsPerPage"], body["totalResults"], body["Resources"]) == (0, 25, [])
    assert "previousCursor" not in body
    assert ids(scim.get(f"/Users?cursor={body['nextCursor']}&count=0")) == []


def test_count_above_max_results_is_capped(scim, users, settings):
    settings.SCIM_MAX_RESULTS = 4
    assert ids(scim.get("/Users?cursor=&count=10")) == users[:4]


def test_search_pages_by_cursor_in_its_body(scim, users):
    body = {"schemas": [SEARCH_REQUEST], "cursor": "", "count": 20}
    first = scim.post("/Users/.search", body)
    assert ids(first) == users[:20]
    second = scim.post("/Users/.search", dict(body, cursor=first.body["nextCursor"]))
    assert ids(second) == users[20:]
    assert "nextCursor" not in second.body


def test_groups_page_by_cursor(scim, make_group):
    created = [make_group(f"Team {n:02}")["id"] for n in range(5)]
    first = scim.get("/Groups?cursor=&count=3&excludedAttributes=members")
    assert ids(first) == created[:3]
    second = scim.get(f"/Groups?cursor={first.body['nextCursor']}&count=3&excludedAttributes=members")
    assert ids(second) == created[3:]
    assert sorted(second.body) == ["Resources", "itemsPerPage", "previousCursor", "schemas", "totalResults"]


def test_start_index_paging_is_unchanged_beside_cursors(scim, users):
    body = scim.get("/Users?startIndex=21&count=10").body
    assert (body["startIndex"], body["itemsPerPage"], body["totalResults"]) == (21, 5, 25)
    assert "nextCursor" not in body


# Stable under concurrent inserts and deletes --------------------------------------------------


def test_walk_sees_each_lasting_user_once_while_users_come_and_go_between_pages(scim, organization):
    start = timezone.now() - timedelta(days=30)
    lasting = seed(organization, 500, start=start)
    doomed = seed(organization, 100, prefix="doomed", start=start + timedelta(milliseconds=500))

    def churn(page):
        # Delete some of the doomed (behind and ahead of the walk), insert new ones everywhere.
        WorkAccount.objects.filter(pk__in=doomed[page * 9 : page * 9 + 9]).update(deleted_at=timezone.now())
        seed(organization, 7, prefix=f"new{page:02}-", start=start + timedelta(milliseconds=250 + page))

    seen, _ = walk(scim, "/Users?count=50", between=churn)
    assert len(seen) == len(set(seen))
    assert [i for i in seen if i in set(lasting)] == lasting


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_walk_of_10000_users_sees_each_once_while_another_client_inserts_and_deletes(
    organization, scim_token
):
    if database.vendor != "postgresql":
        pytest.skip("needs concurrent database connections: runs in the PostgreSQL pass")
    start = timezone.now() - timedelta(days=30)
    lasting = seed(organization, 10_000, start=start)
    doomed = seed(organization, 2_000, prefix="doomed", start=start + timedelta(milliseconds=500))
    stop, churned = threading.Event(), []

    def churn():
        try:
            for round_number in range(2_000):
                if stop.is_set():
                    break
                WorkAccount.objects.filter(pk=doomed[round_number]).update(deleted_at=timezone.now())
                offset = timedelta(seconds=round_number * 5, milliseconds=250)
                churned.extend(seed(organization, 1, prefix=f"new{round_number:04}-", start=start + offset))
                time.sleep(0.005)
        finally:
            database.close()  # this thread's own connection

    thread = threading.Thread(target=churn)
    thread.start()
    try:
        seen, pages = walk(ScimClient(scim_token), "/Users?count=100&attributes=userName")
    finally:
        stop.set()
        thread.join(timeout=60)
    assert churned, "the other client inserted nothing during the walk"
    assert len(seen) == len(set(seen))
    assert [i for i in seen if i in set(lasting)] == lasting
    assert pages >= 100


# Refused cursors -------------------------------------------------------------------------------


def test_tampered_cursor_is_400_invalid_cursor(scim, users):
    cursor = scim.get("/Users?cursor=&count=10").body["nextCursor"]
    tampered = cursor[:-2] + ("AA" if cursor[-2:] != "AA" else "BB")
    response = scim.get(f"/Users?cursor={tampered}&count=10")
    assert (response.status_code, response.body) == (400, invalid(INVALID_CURSOR, "invalidCursor"))


@pytest.mark.parametrize("cursor", ["abc", "x" * 5000, "not~a~cursor", "%00"])
def test_garbage_cursor_is_400_invalid_cursor(scim, users, cursor):
    response = scim.get(f"/Users?cursor={cursor}")
    assert (response.status_code, response.body) == (400, invalid(INVALID_CURSOR, "invalidCursor"))


def test_cursor_that_is_not_a_string_in_a_search_body_is_400_invalid_cursor(scim, users):
    response = scim.post("/Users/.search", {"schemas": [SEARCH_REQUEST], "cursor": 12})
    assert (response.status_code, response.body) == (400, invalid(INVALID_CURSOR, "invalidCursor"))


@pytest.fixture
def second_page_later(scim, users, settings, monkeypatch):
    """GET the second page `seconds` after its cursor was issued, with a cursorTimeout of 60."""
    settings.SCIM_CURSOR_TIMEOUT = 60
    cursor = scim.get("/Users?cursor=&count=10").body["nextCursor"]
    issued = time.time()

    def request(seconds: int):
        monkeypatch.setattr(signing.time, "time", lambda: issued + seconds)
        return scim.get(f"/Users?cursor={cursor}&count=10")

    return request


def test_expired_cursor_is_400_expired_cursor(second_page_later):
    response = second_page_later(62)
    detail = "The cursor has expired (cursorTimeout: 60 seconds); start again with an empty cursor."
    assert (response.status_code, response.body) == (400, invalid(detail, "expiredCursor"))


def test_cursor_within_its_timeout_is_accepted(second_page_later, users):
    assert ids(second_page_later(50)) == users[10:20]


def test_cursor_of_another_filter_is_400_invalid_cursor(scim, users):
    cursor = scim.get("/Users?cursor=&count=10").body["nextCursor"]
    response = scim.get(f"/Users?cursor={cursor}&count=10&filter=" + quote('userName sw "user"'))
    assert (response.status_code, response.body) == (400, invalid(INVALID_CURSOR, "invalidCursor"))


def test_cursor_of_another_sort_is_400_invalid_cursor(scim, users):
    cursor = scim.get("/Users?cursor=&count=10").body["nextCursor"]
    response = scim.get(f"/Users?cursor={cursor}&count=10&sortBy=userName")
    assert (response.status_code, response.body) == (400, invalid(INVALID_CURSOR, "invalidCursor"))


def test_cursor_of_users_is_400_invalid_cursor_on_groups(scim, users):
    cursor = scim.get("/Users?cursor=&count=10").body["nextCursor"]
    response = scim.get(f"/Groups?cursor={cursor}&count=10")
    assert (response.status_code, response.body) == (400, invalid(INVALID_CURSOR, "invalidCursor"))


def test_cursor_of_another_organization_is_400_invalid_cursor(scim, other_scim, users):
    cursor = scim.get("/Users?cursor=&count=10").body["nextCursor"]
    response = other_scim.get(f"/Users?cursor={cursor}&count=10")
    assert (response.status_code, response.body) == (400, invalid(INVALID_CURSOR, "invalidCursor"))


def test_cursor_with_another_count_is_400_invalid_count(scim, users):
    cursor = scim.get("/Users?cursor=&count=10").body["nextCursor"]
    response = scim.get(f"/Users?cursor={cursor}&count=20")
    detail = "'count' must stay 10 while paging with this cursor, as when it was issued."
    assert (response.status_code, response.body) == (400, invalid(detail, "invalidCount"))


def test_negative_count_with_a_cursor_is_400_invalid_count(scim, users):
    response = scim.get("/Users?cursor=&count=-1")
    detail = "'count' must be a whole number from 0 upwards with a cursor, not '-1'."
    assert (response.status_code, response.body) == (400, invalid(detail, "invalidCount"))


def test_count_that_is_not_a_number_with_a_cursor_is_400_invalid_count(scim, users):
    response = scim.get("/Users?cursor=&count=ten")
    detail = "'count' must be a whole number, not 'ten'."
    assert (response.status_code, response.body) == (400, invalid(detail, "invalidCount"))


def test_cursor_with_start_index_is_400_invalid_value(scim, users):
    response = scim.get("/Users?cursor=&startIndex=1")
    detail = "Send either startIndex (index paging) or cursor (cursor paging), not both."
    assert (response.status_code, response.body) == (400, invalid(detail, "invalidValue"))


def test_cursor_on_the_root_search_is_400_invalid_value(scim, users):
    response = scim.post("/.search", {"schemas": [SEARCH_REQUEST], "cursor": ""})
    detail = "'cursor' is served on /Users and /Groups; POST /.search pages Users, then Groups."
    assert (response.status_code, response.body) == (400, invalid(detail, "invalidValue"))


def test_a_cursor_that_names_a_deleted_user_still_walks_on(scim, users):
    first = scim.get("/Users?cursor=&count=10").body
    WorkAccount.objects.filter(pk=users[9]).update(deleted_at=timezone.now())
    assert ids(scim.get(f"/Users?cursor={first['nextCursor']}&count=10")) == users[10:20]
