"""
Bad input never breaks the endpoint: generated filters, PATCH operations and bodies always get a
2xx or a SCIM 4xx error in RFC 7644 §3.12 shape, never a 500, and a failed request changes
nothing.
"""

from urllib.parse import quote_plus

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import WorkAccount


pytestmark = pytest.mark.django_db
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
ATTRIBUTES = [
    "userName",
    "externalId",
    "active",
    "title",
    "displayName",
    "name.givenName",
    "name",
    "emails",
    'emails[type eq "work"].value',
    "emails[type eq work]",
    "phoneNumbers",
    'addresses[type eq "work"].locality',
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
    "manager",
    "roles",
    "meta.created",
    "id",
    "groups",
    "members",
    "nosuch",
    "",
    "[",
    "emails[",
    "a.b.c",
    "urn:x:y",
]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3)
    ),
    max_leaves=8,
)
operations = st.fixed_dictionaries(
    {"op": st.sampled_from(["add", "Add", "remove", "Remove", "replace", "Replace", "move", "", 7])},
    optional={"path": st.sampled_from(ATTRIBUTES) | st.text(max_size=30), "value": json_values},
)
filter_tokens = st.sampled_from(
    [
        "userName",
        "emails",
        "[",
        "]",
        "(",
        ")",
        "eq",
        "ne",
        "co",
        "pr",
        "gt",
        "and",
        "or",
        "not",
        '"x"',
        "true",
        "null",
        "1",
        ".value",
        "urn:ietf:params:scim:schemas:core:2.0:User:",
        "meta.lastModified",
        '"2024-01-01T00:00:00Z"',
        "\\",
        "'",
        '"',
        " ",
        # Bare comparison values (issue 14): words, timestamps, numbers, keyword look-alikes.
        "O",
        "bjensen@example.com",
        "example.org)",
        "2015-10-10T14:38:21.8617979-07:00",
        "2015-10-10",
        "14:38:21Z",
        "True",
        "NULL",
        "12",
        "007",
        "-1",
        "9" * 40,
        "'work'",
        "Müller",
        "a]b",
    ]
)


def _assert_scim_outcome(response) -> None:
    assert response.status_code < 500, response.body
    if response.status_code >= 400:
        assert response.body["schemas"] == [ERROR]
        assert response.body["status"] == str(response.status_code)


@pytest.fixture
def user(create_user):
    return create_user("fuzz@contoso.com")


@FUZZ
@given(ops=st.lists(operations, min_size=1, max_size=4))
def test_patch_with_arbitrary_operations_never_fails_with_500(scim, user, ops):
    before = scim.get(f"/Users/{user['id']}").body
    response = scim.patch(
        f"/Users/{user['id']}",
        {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops},
    )
    _assert_scim_outcome(response)
    if response.status_code >= 400:
        assert scim.get(f"/Users/{user['id']}").body == before


@FUZZ
@given(body=st.dictionaries(st.sampled_from(ATTRIBUTES) | st.text(max_size=12), json_values, max_size=6))
def test_post_with_arbitrary_body_never_fails_with_500(scim, body):
    count = WorkAccount.objects.count()
    response = scim.post("/Users", body)
    _assert_scim_outcome(response)
    if response.status_code >= 400:
        assert WorkAccount.objects.count() == count


@FUZZ
@given(tokens=st.lists(filter_tokens, min_size=1, max_size=12))
def test_arbitrary_filter_never_fails_with_500(scim, tokens):
    text = " ".join(tokens)
    for resource in ("Users", "Groups"):
        response = scim.post(
            f"/{resource}/.search",
            {"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": text},
        )
        _assert_scim_outcome(response)


@FUZZ
@given(
    op=st.sampled_from(["eq", "co", "gt", "SW"]),
    attribute=st.sampled_from(["userName", "active", "id", "meta.created", "emails[type eq work].value"]),
    word=st.text(min_size=1, max_size=40),
)
def test_arbitrary_bare_value_never_fails_with_500(scim, op, attribute, word):
    response = scim.get(f"/Users?filter={quote_plus(f'{attribute} {op} {word}')}")
    _assert_scim_outcome(response)


@FUZZ
@given(raw=st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_arbitrary_bytes_as_body_never_fail_with_500(scim, user, raw):
    for method, path in (
        ("POST", "/Users"),
        ("PATCH", f"/Users/{user['id']}"),
        ("PUT", f"/Users/{user['id']}"),
    ):
        _assert_scim_outcome(scim.request(method, path, raw=raw))


@pytest.fixture
def group(scim):
    return scim.post("/Groups", {"displayName": "Fuzz"}).body


@FUZZ
@given(ops=st.lists(operations, min_size=1, max_size=4))
def test_group_patch_with_arbitrary_operations_never_fails_with_500(scim, group, ops):
    before = scim.get(f"/Groups/{group['id']}").body
    response = scim.patch(
        f"/Groups/{group['id']}",
        {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops},
    )
    _assert_scim_outcome(response)
    if response.status_code >= 400:
        assert scim.get(f"/Groups/{group['id']}").body == before
