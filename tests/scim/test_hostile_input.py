"""
Hostile input (issue 12): bounded JSON bodies, lone surrogates and NUL, extreme filters, paging
numbers of any size, and Django-level answers under /scim/v2/, each refused with the exact SCIM
error (RFC 7644 §3.12) in milliseconds, changing nothing, and recorded.
"""

import json
import time
from urllib.parse import urlencode

import pytest
from django.test import Client

from accounts.models import WorkAccount
from provisioning_logs.models import ProvisioningEvent
from tests.conftest import SCIM_JSON, entra_user


pytestmark = pytest.mark.django_db
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
TOO_DEEP = "The request body nests arrays and objects deeper than 32 levels."
SURROGATE_IN_BODY = (
    "The request body holds a lone UTF-16 surrogate (\\ud800), which no SCIM attribute accepts."
)
NUL_IN_BODY = "The request body holds a NUL character (\\u0000), which no SCIM attribute accepts."


def error(status: int, detail: str, scim_type: str | None = None) -> dict:
    body = {"schemas": [ERROR], "status": str(status)}
    if scim_type:
        body["scimType"] = scim_type
    body["detail"] = detail
    return body


def last_event() -> ProvisioningEvent:
    return ProvisioningEvent.objects.order_by("-pk").first()


def raw_client() -> Client:
    """A client that gets Django's own answer to an exception instead of re-raising it."""
    return Client(raise_request_exception=False)


@pytest.fixture
def user(create_user) -> dict:
    return create_user("ada@contoso.com")


@pytest.fixture
def group(scim) -> dict:
    return scim.post("/Groups", {"displayName": "Hostile"}).body


def body_endpoints(user: dict, group: dict) -> list[tuple[str, str]]:
    return [
        ("POST", "/Users"),
        ("PUT", f"/Users/{user['id']}"),
        ("PATCH", f"/Users/{user['id']}"),
        ("POST", "/Groups"),
        ("PUT", f"/Groups/{group['id']}"),
        ("PATCH", f"/Groups/{group['id']}"),
        ("POST", "/Users/.search"),
        ("POST", "/Groups/.search"),
        ("POST", "/.search"),
    ]


# Bounded JSON ------------------------------------------------------------------------------------


def test_a_body_nested_a_few_hundred_levels_is_invalid_syntax_on_every_body_endpoint(scim, user, group):
    deep = b'{"schemas": [], "x": ' + b"[" * 300 + b"]" * 300 + b"}"
    for method, path in body_endpoints(user, group):
        response = scim.request(method, path, raw=deep)
        assert (method, path, response.status_code) == (method, path, 400)
        assert response.body == error(400, TOO_DEEP, "invalidSyntax")


@pytest.mark.parametrize(
    "deep",
    [b"[" * 100_000 + b"]" * 100_000, b'{"a":' * 100_000 + b"1" + b"}" * 100_000],
    ids=["100000-arrays", "100000-objects"],
)
def test_a_body_of_100000_nested_levels_is_refused_at_once(scim, deep):
    started = time.monotonic()
    response = scim.request("POST", "/Users", raw=b'{"x": ' + deep + b"}")
    elapsed = time.monotonic() - started
    assert response.status_code == 400
    assert response.body == error(400, TOO_DEEP, "invalidSyntax")
    assert elapsed < 1.0  # a bound for a loaded CI machine; benchmarks/hostile_input.py prints figures


def test_a_body_at_the_depth_limit_is_accepted(scim):
    nested = json.loads("[" * 30 + "]" * 30)  # 30 levels inside the body object and its key: 31
    response = scim.post("/Users", entra_user("deep@contoso.com", ignoredNote=nested))
    assert response.status_code == 201


def test_brackets_inside_strings_do_not_count_as_nesting(scim):
    response = scim.post("/Users", entra_user("brackets@contoso.com", displayName="[" * 100 + "{" * 100))
    assert response.status_code == 201
    assert response.body["displayName"] == "[" * 100 + "{" * 100


def test_the_depth_limit_is_a_setting(scim, settings):
    settings.SCIM_MAX_JSON_DEPTH = 2
    response = scim.post("/Users", entra_user("deep@contoso.com", ignoredNote=[[1]]))
    assert response.status_code == 400
    assert response.body == error(
        400, "The request body nests arrays and objects deeper than 2 levels.", "invalidSyntax"
    )


def test_an_object_with_more_keys_than_the_limit_is_invalid_syntax(scim, settings):
    settings.SCIM_MAX_JSON_KEYS = 3
    response = scim.post("/Users", {"userName": "keys@contoso.com", "a": 1, "b": 2, "c": 3})
    assert response.status_code == 400
    assert response.body == error(400, "An object in the request body has more than 3 keys.", "invalidSyntax")
    assert not WorkAccount.objects.filter(user_name="keys@contoso.com").exists()


def test_an_array_with_more_items_than_the_limit_is_invalid_syntax(scim, settings):
    settings.SCIM_MAX_JSON_ITEMS = 2
    response = scim.post("/Users", entra_user("items@contoso.com", ignoredNote=[1, 2, 3]))
    assert response.status_code == 400
    assert response.body == error(400, "An array in the request body has more than 2 items.", "invalidSyntax")


def test_a_refused_deep_body_is_recorded(scim, user):
    scim.request("PATCH", f"/Users/{user['id']}", raw=b'{"Operations": ' + b"[" * 1000 + b"]" * 1000 + b"}")
    event = last_event()
    assert (event.status, event.http_status, event.scim_type, event.detail) == (
        "Failure",
        400,
        "invalidSyntax",
        TOO_DEEP,
    )


# Lone surrogates and NUL ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("escaped", "detail"),
    [("\\ud800", SURROGATE_IN_BODY), ("a\\u0000b", NUL_IN_BODY)],
    ids=["surrogate", "nul"],
)
def test_unusable_text_in_a_disable_is_invalid_value_changes_nothing_and_is_recorded(
    scim, user, escaped, detail
):
    body = (
        json.dumps({"schemas": [PATCH_OP], "comment": "COMMENT"}).replace('"COMMENT"', f'"{escaped}"')[:-1]
        + ', "Operations": [{"op": "replace", "path": "active", "value": false}]}'
    )
    response = scim.request("PATCH", f"/Users/{user['id']}", raw=body)
    assert response.status_code == 400
    assert response.body == error(400, detail, "invalidValue")
    assert WorkAccount.objects.get(pk=user["id"]).is_active
    event = last_event()
    assert (event.status, event.http_status, str(event.resource_id)) == ("Failure", 400, user["id"])
    assert escaped in event.request_body


def test_a_lone_surrogate_in_a_key_is_invalid_value(scim):
    response = scim.request("POST", "/Users", raw='{"userName": "k@contoso.com", "\\udfff": 1}')
    assert response.status_code == 400
    assert response.body == error(
        400,
        "The request body holds a lone UTF-16 surrogate (\\udfff), which no SCIM attribute accepts.",
        "invalidValue",
    )
    assert not WorkAccount.objects.filter(user_name="k@contoso.com").exists()


def test_a_surrogate_pair_is_ordinary_text(scim):
    response = scim.request(
        "POST", "/Users", raw='{"userName": "emoji@contoso.com", "displayName": "Ada \\ud83d\\ude00"}'
    )
    assert response.status_code == 201
    assert response.body["displayName"] == "Ada \U0001f600"


def test_nul_in_a_group_name_is_invalid_value_and_creates_nothing(scim):
    response = scim.request("POST", "/Groups", raw='{"displayName": "a\\u0000b"}')
    assert response.status_code == 400
    assert response.body == error(400, NUL_IN_BODY, "invalidValue")
    assert scim.get("/Groups").body["totalResults"] == 0


@pytest.mark.parametrize(
    ("value", "what"),
    [("\\ud800", "a lone UTF-16 surrogate (\\ud800)"), ("a\\u0000", "a NUL character (\\u0000)")],
    ids=["surrogate", "nul"],
)
def test_unusable_text_in_a_filter_value_is_invalid_filter(scim, user, value, what):
    # invalidFilter, not invalidValue: the filter is the parameter at fault, as for any value a
    # filter cannot compare (RFC 7644 §3.12 lists invalidFilter for GET and POST .search).
    expected = error(400, f"The filter holds {what}, which no SCIM attribute accepts.", "invalidFilter")
    query = scim.get("/Users?" + urlencode({"filter": f'userName eq "{value}"'}))
    # In a .search body the escape is part of the filter text (a real surrogate in the body is
    # the body's invalidValue, see above).
    search = scim.post("/Users/.search", {"schemas": [SEARCH], "filter": f'userName eq "{value}"'})
    assert (query.status_code, query.body) == (400, expected)
    assert (search.status_code, search.body) == (400, expected)


# Filters -------------------------------------------------------------------------------------------


def search(scim, filter_text: str, path: str = "/Users/.search"):
    return scim.post(path, {"schemas": [SEARCH], "filter": filter_text})


@pytest.mark.parametrize(
    "moment", ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59.9999Z"]
)
def test_a_datetime_outside_the_representable_range_is_invalid_filter(scim, user, moment):
    response = search(scim, f'meta.created ge "{moment}"')
    assert response.status_code == 400
    assert response.body == error(
        400,
        f"The filter compares 'meta.created' with '{moment}', a dateTime outside years 1 to 9999 (UTC).",
        "invalidFilter",
    )


def test_year_zero_is_invalid_filter(scim, user):
    response = search(scim, 'meta.lastModified gt "0000-01-01T00:00:00Z"')
    assert response.status_code == 400
    assert response.body == error(
        400,
        "The filter compares 'meta.lastModified' with '0000-01-01T00:00:00Z', which is not a valid dateTime.",
        "invalidFilter",
    )


def test_the_latest_representable_datetime_is_served(scim, user):
    response = search(scim, 'meta.created lt "9999-12-31T23:59:59Z"')
    assert response.status_code == 200
    assert response.body["totalResults"] == 1


def test_10000_parentheses_are_invalid_filter_at_once(scim, user):
    started = time.monotonic()
    response = search(scim, "(" * 10_000 + 'userName eq "ada@contoso.com"' + ")" * 10_000)
    assert time.monotonic() - started < 1.0
    assert response.status_code == 400
    assert response.body == error(400, "The filter is longer than 16384 characters.", "invalidFilter")


def test_8000_parentheses_within_the_length_limit_are_invalid_filter_at_once(scim, user):
    started = time.monotonic()
    response = search(scim, "(" * 8000 + 'userName eq "ada@contoso.com"' + ")" * 8000)
    assert time.monotonic() - started < 1.0
    assert response.status_code == 400
    assert response.body == error(
        400, "The filter nests parentheses and brackets deeper than 32 levels.", "invalidFilter"
    )


def test_parentheses_at_the_depth_limit_are_served(scim, user):
    response = search(scim, "(" * 32 + 'userName eq "ada@contoso.com"' + ")" * 32)
    assert response.status_code == 200
    assert response.body["totalResults"] == 1


def test_parentheses_inside_a_string_do_not_count(scim, user):
    response = search(scim, 'userName eq "' + "(" * 100 + '"')
    assert (response.status_code, response.body["totalResults"]) == (200, 0)


def test_a_filter_longer_than_the_limit_is_invalid_filter(scim, settings):
    settings.SCIM_MAX_FILTER_LENGTH = 50
    response = search(scim, 'userName eq "' + "a" * 50 + '"')
    assert response.status_code == 400
    assert response.body == error(400, "The filter is longer than 50 characters.", "invalidFilter")


def many_user_names(count: int) -> str:
    return " or ".join(f'userName eq "user{i}@contoso.com"' for i in range(count))


def test_a_query_string_of_more_than_8_kb_is_served(scim, create_user):
    create_user("user7@contoso.com")
    query = urlencode({"filter": many_user_names(300)})
    assert 8 * 1024 < len(query) <= 16 * 1024
    response = scim.get(f"/Users?{query}")
    assert response.status_code == 200
    assert [found["userName"] for found in response.body["Resources"]] == ["user7@contoso.com"]


def test_a_query_string_over_the_limit_is_a_scim_414(scim, settings):
    settings.SCIM_MAX_QUERY_BYTES = 100
    response = scim.get("/Users?" + urlencode({"filter": many_user_names(5)}))
    assert response.status_code == 414
    assert response["Content-Type"] == SCIM_JSON
    assert response.body == error(
        414,
        "The query string is longer than 100 bytes; send a long filter in the body of "
        "POST .../.search instead (RFC 7644 §3.4.3).",
    )


def test_a_filter_of_600_terms_is_served_without_recursion_error(scim, create_user):
    create_user("u599@c.io")
    text = " or ".join(f'userName eq "u{i}@c.io"' for i in range(600))
    assert len(text) <= 16 * 1024
    response = search(scim, text)
    assert response.status_code == 200
    assert [found["userName"] for found in response.body["Resources"]] == ["u599@c.io"]


def test_a_member_selection_of_300_terms_removes_those_members(scim, group, user):
    assert (
        scim.patch(
            f"/Groups/{group['id']}",
            {
                "schemas": [PATCH_OP],
                "Operations": [{"op": "add", "path": "members", "value": [{"value": user["id"]}]}],
            },
        ).status_code
        == 204
    )
    others = " or ".join(f'value eq "00000000-0000-0000-0000-{i:012d}"' for i in range(300))
    path = f'members[{others} or value eq "{user["id"]}"]'
    response = scim.patch(
        f"/Groups/{group['id']}", {"schemas": [PATCH_OP], "Operations": [{"op": "remove", "path": path}]}
    )
    assert response.status_code == 204, response.body
    assert scim.get(f"/Groups/{group['id']}").body.get("members", []) == []


# Paging --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "start",
    ["99999999999999999999999", "9223372036854775807", "9" * 5000],
    ids=["1e23", "int64-max", "5000-digits"],
)
def test_a_huge_start_index_is_an_empty_page_with_the_total(scim, user, start):
    response = scim.get(f"/Users?startIndex={start}")
    assert response.status_code == 200
    assert response.body == {
        "schemas": [LIST],
        "totalResults": 1,
        "itemsPerPage": 0,
        "startIndex": 2**53,
        "Resources": [],
    }


def test_a_huge_count_is_capped_at_max_results(scim, create_user, settings):
    settings.SCIM_MAX_RESULTS = 2
    for name in ("a", "b", "c"):
        create_user(f"{name}@contoso.com")
    response = scim.get("/Users?count=9223372036854775807")
    assert (response.status_code, response.body["itemsPerPage"], response.body["totalResults"]) == (200, 2, 3)


def test_a_hugely_negative_count_is_zero(scim, user):
    response = scim.get("/Users?count=-99999999999999999999999&startIndex=-99999999999999999999999")
    assert response.status_code == 200
    assert response.body == {
        "schemas": [LIST],
        "totalResults": 1,
        "itemsPerPage": 0,
        "startIndex": 1,
        "Resources": [],
    }


@pytest.mark.parametrize("path", ["/Users/.search", "/Groups/.search", "/.search"])
def test_huge_json_paging_numbers_in_a_search_request_are_clamped(scim, user, path):
    response = scim.request(
        "POST",
        path,
        raw=f'{{"schemas": ["{SEARCH}"], "startIndex": 1e300, "count": 99999999999999999999999}}',
    )
    assert response.status_code == 200
    assert (response.body["startIndex"], response.body["itemsPerPage"]) == (2**53, 0)


@pytest.mark.parametrize("value", ["1_000", "\u0661\u0662", "1e3", "Infinity"])
def test_a_count_that_is_not_plain_ascii_digits_is_invalid_value(scim, value):
    response = scim.get("/Users?" + urlencode({"count": value}))
    assert response.status_code == 400
    assert response.body == error(400, f"'count' must be a whole number, not {value!r}.", "invalidValue")


def test_an_infinite_json_count_is_invalid_value(scim):
    response = scim.request("POST", "/Users/.search", raw='{"count": 1e999}')
    assert response.status_code == 400
    assert response.body == error(400, "'count' must be a whole number, not inf.", "invalidValue")


# Django-level answers under /scim/v2/ ---------------------------------------------------------------


HOST_NOT_ALLOWED = error(400, "The Host header names a host this service does not answer for.")


@pytest.mark.parametrize("debug", [False, True], ids=["production", "debug"])
def test_a_host_not_in_allowed_hosts_is_a_scim_400(scim_token, settings, debug):
    settings.DEBUG = debug
    response = raw_client().get(
        "/scim/v2/Users", headers={"Authorization": f"Bearer {scim_token}", "Host": "evil.example"}
    )
    assert response.status_code == 400
    assert response["Content-Type"] == SCIM_JSON
    assert json.loads(response.content) == HOST_NOT_ALLOWED


def test_a_host_not_in_allowed_hosts_outside_scim_keeps_djangos_answer(settings):
    response = raw_client().get("/signin/", headers={"Host": "evil.example"})
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("method", ["get", "post", "put", "patch", "delete"])
@pytest.mark.parametrize("debug", [False, True], ids=["production", "debug"])
def test_the_base_url_without_its_slash_is_a_scim_404_not_a_redirect_or_runtime_error(
    scim_token, settings, method, debug
):
    settings.DEBUG = debug
    response = getattr(raw_client(), method)("/scim/v2", headers={"Authorization": f"Bearer {scim_token}"})
    assert response.status_code == 404
    assert response["Content-Type"] == SCIM_JSON
    assert json.loads(response.content) == error(404, "No SCIM endpoint at /scim/v2.")


@pytest.mark.parametrize("path", ["/Users", "/Users/", "/Groups", "/Groups/"])
def test_resource_endpoints_answer_with_and_without_a_trailing_slash(scim, path):
    response = scim.get(path)
    assert (response.status_code, response.body["schemas"]) == (200, [LIST])


def test_an_unsupported_method_is_a_scim_405_with_allow(scim):
    response = scim.delete("/Users")
    assert response.status_code == 405
    assert response["Allow"] == "GET, POST, PUT, PATCH, DELETE"
    assert response.body == error(405, "DELETE is not supported on this endpoint.")


def test_an_unexpected_exception_outside_the_scim_frame_is_a_scim_500_without_a_trace(
    scim_token, settings, monkeypatch, caplog
):
    """Fault injection: the recorder fails in a way no real input reaches (it guards itself)."""
    settings.DEBUG = True

    def broken(request, response):
        raise RuntimeError("boom at the recorder")

    monkeypatch.setattr("scim.views.base.record_request", broken)
    response = raw_client().get("/scim/v2/Users", headers={"Authorization": f"Bearer {scim_token}"})
    assert response.status_code == 500
    assert response["Content-Type"] == SCIM_JSON
    assert json.loads(response.content) == error(
        500, "The request could not be processed because of an internal error; it changed nothing."
    )
    assert any(
        record.exc_info and "boom at the recorder" in str(record.exc_info[1]) for record in caplog.records
    )
