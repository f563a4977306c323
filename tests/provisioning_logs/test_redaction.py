"""
Secrets never reach the provisioning log: passwords, tokens and secret-like fields are replaced by
"[redacted]" in the stored body, path and modified properties; bodies are bounded, and bytes that
are not JSON are stored only as their size.
"""

import json

import pytest
from django.forms.models import model_to_dict

from provisioning_logs.models import CycleObject, ProvisioningEvent
from provisioning_logs.redaction import (
    MAX_BODY_CHARS,
    MAX_VALUE_CHARS,
    REDACTED,
    is_secret_name,
    redacted_body,
    redacted_property,
)
from tests.conftest import entra_user
from tests.scim.group_support import PATCH_OP


pytestmark = pytest.mark.django_db

SECRET = "Tr0ub4dor-and-3-horses"


def stored_text() -> str:
    """Every field of every stored event (and every cycle's object keys), as one JSON text."""
    rows = [model_to_dict(event) for event in ProvisioningEvent.objects.all()]
    keys = list(CycleObject.objects.values_list("object_key", flat=True))
    return json.dumps({"events": rows, "objects": keys}, default=str, ensure_ascii=False)


def last_event() -> ProvisioningEvent:
    return ProvisioningEvent.objects.order_by("id").last()


def patch_user(scim, user_id: str, *operations):
    return scim.patch(f"/Users/{user_id}", {"schemas": [PATCH_OP], "Operations": list(operations)})


@pytest.fixture
def alice(create_user) -> str:
    return create_user("alice@contoso.com")["id"]


# Through SCIM requests ----------------------------------------------------------------------------


def test_password_in_a_created_user_is_redacted(scim):
    assert scim.post("/Users", entra_user("alice@contoso.com", password=SECRET)).status_code == 201
    assert SECRET not in stored_text()
    assert json.loads(last_event().request_body)["password"] == REDACTED
    assert "password" not in [change["name"] for change in last_event().modified_properties]


def test_password_in_a_refused_create_is_redacted(scim, alice):
    response = scim.post("/Users", entra_user("alice@contoso.com", password=SECRET))
    assert response.status_code == 409
    assert SECRET not in stored_text()
    assert json.loads(last_event().request_body)["password"] == REDACTED


def test_pathless_password_replace_is_redacted(scim, alice):
    assert patch_user(scim, alice, {"op": "Replace", "value": {"password": SECRET}}).status_code == 200
    assert SECRET not in stored_text()
    event = last_event()
    assert json.loads(event.request_body)["Operations"] == [
        {"op": "Replace", "value": {"password": REDACTED}}
    ]
    assert event.modified_properties == [{"name": "password", "old": REDACTED, "new": REDACTED}]


def test_password_replace_with_a_path_is_redacted(scim, alice):
    assert patch_user(scim, alice, {"op": "Replace", "path": "password", "value": SECRET}).status_code == 200
    assert SECRET not in stored_text()
    event = last_event()
    assert json.loads(event.request_body)["Operations"] == [
        {"op": "Replace", "path": "password", "value": REDACTED}
    ]
    assert event.modified_properties == [{"name": "password", "old": REDACTED, "new": REDACTED}]


def test_password_replace_with_capitalised_keys_is_redacted(scim, alice):
    # Entra: "Don't require a case-sensitive match on structural elements" (entra-scim.md §1.7);
    # the PATCH parser accepts "Path" and "Value", so the redaction must too.
    operation = {"op": "Replace", "Path": "password", "Value": SECRET}
    assert patch_user(scim, alice, operation).status_code == 200
    assert SECRET not in stored_text()
    assert json.loads(last_event().request_body)["Operations"] == [
        {"op": "Replace", "Path": "password", "Value": REDACTED}
    ]


def test_password_replace_with_a_second_path_key_is_redacted(scim, alice):
    # Keys are matched case-insensitively and the last one wins, as in the PATCH parser.
    operation = {"op": "Replace", "path": "displayName", "Path": "password", "value": SECRET}
    assert patch_user(scim, alice, operation).status_code == 200
    assert SECRET not in stored_text()


def test_password_replace_with_a_urn_path_is_redacted(scim, alice):
    path = "urn:ietf:params:scim:schemas:core:2.0:User:password"
    patch_user(scim, alice, {"op": "Replace", "path": path, "value": SECRET})
    assert SECRET not in stored_text()
    assert json.loads(last_event().request_body)["Operations"][0]["value"] == REDACTED


def test_refused_password_value_is_redacted(scim, alice):
    response = patch_user(scim, alice, {"op": "Replace", "path": "password", "value": [SECRET]})
    assert response.status_code == 400
    assert SECRET not in stored_text()
    assert last_event().detail == "'password' must be a string."


def test_authorization_header_never_reaches_the_log(scim, alice):
    scim.get(f"/Users/{alice}")
    patch_user(scim, alice, {"op": "Replace", "path": "displayName", "value": "Alice"})
    assert scim.token not in stored_text()
    assert scim.token[:10] not in stored_text()
    assert last_event().credential == "secret token entra"


def test_client_secret_like_field_in_a_body_is_redacted(scim):
    body = entra_user("alice@contoso.com", clientSecret=SECRET)
    scim.post("/Users", body)
    assert SECRET not in stored_text()
    assert json.loads(last_event().request_body)["clientSecret"] == REDACTED


@pytest.mark.parametrize("name", ["client_secret", "apiToken", "refresh_token", "PASSWORD"])
def test_secret_like_field_in_a_patch_is_redacted(scim, alice, name):
    response = patch_user(scim, alice, {"op": "Replace", "value": {name: SECRET}})
    assert response.status_code in (200, 400)
    assert SECRET not in stored_text()
    assert json.loads(last_event().request_body)["Operations"][0]["value"] == {name: REDACTED}


@pytest.mark.parametrize("path", ["clientSecret", "apiToken"])
def test_secret_like_path_in_a_patch_is_redacted(scim, alice, path):
    response = patch_user(scim, alice, {"op": "Replace", "path": path, "value": SECRET})
    assert response.status_code == 400
    assert SECRET not in stored_text()
    assert last_event().detail == f"'{path}' is not an attribute of the User resource."


def test_secret_in_the_query_string_is_redacted(scim):
    # A Tenant URL carries its query string into every request (aadOptscim062020 rides there);
    # an admin who adds a key to it must not find the key in the log.
    response = scim.get(f"/Users?filter=userName+eq+%22x%22&access_token={SECRET}&aadOptscim062020")
    assert response.status_code == 200
    assert SECRET not in stored_text()
    assert last_event().path == (
        "/scim/v2/Users?filter=userName+eq+%22x%22&access_token=[redacted]&aadOptscim062020"
    )


def test_long_body_is_cut_with_a_marker(scim):
    body = entra_user("alice@contoso.com", nickName="x" * (2 * MAX_BODY_CHARS))
    scim.post("/Users", body)
    text = json.dumps(body)
    assert last_event().request_body == text[:MAX_BODY_CHARS] + f"… [cut: {len(text)} characters in all]"


def test_long_body_is_redacted_before_it_is_cut(scim):
    body = {"password": SECRET, **entra_user("alice@contoso.com", nickName="x" * (2 * MAX_BODY_CHARS))}
    scim.post("/Users", body)
    assert SECRET not in stored_text()
    assert last_event().request_body.startswith('{"password": "[redacted]", "schemas": ')
    assert last_event().request_body.endswith(" characters in all]")


@pytest.mark.parametrize(
    "raw",
    [
        f"userName=alice&password={SECRET}".encode(),
        b"\xff\xfe" + SECRET.encode("utf-16-le"),
        f'{{"password": "{SECRET}"'.encode(),  # JSON cut short
    ],
)
def test_body_that_is_not_json_is_stored_as_its_size(scim, raw):
    assert scim.post("/Users", raw=raw).status_code == 400
    assert last_event().request_body == f"[{len(raw)} bytes, not JSON]"
    assert SECRET not in stored_text()


# The redaction functions --------------------------------------------------------------------------


def test_redacted_body_replaces_secret_keys_at_any_depth():
    raw = json.dumps(
        {
            "userName": "alice",
            "extension": {"Password": SECRET, "nested": [{"accessToken": SECRET}]},
            "Operations": [{"op": "add", "path": "clientSecret", "value": {"anything": SECRET}}],
        }
    ).encode()
    assert json.loads(redacted_body(raw)) == {
        "userName": "alice",
        "extension": {"Password": REDACTED, "nested": [{"accessToken": REDACTED}]},
        "Operations": [{"op": "add", "path": "clientSecret", "value": REDACTED}],
    }


def test_redacted_body_keeps_a_value_whose_path_is_not_secret():
    raw = json.dumps({"op": "replace", "path": "displayName", "value": "Alice"}).encode()
    assert json.loads(redacted_body(raw)) == {"op": "replace", "path": "displayName", "value": "Alice"}


def test_redacted_body_of_nothing_is_empty():
    assert redacted_body(b"") == ""


def test_redacted_body_keeps_non_ascii_text():
    assert redacted_body('{"displayName": "Zoë"}'.encode()) == '{"displayName": "Zoë"}'


def test_redacted_body_at_the_bound_is_not_cut():
    text = json.dumps({"v": "x" * (MAX_BODY_CHARS - 9)})
    assert len(text) == MAX_BODY_CHARS
    assert redacted_body(text.encode()) == text


def test_redacted_property_of_a_secret_hides_both_values():
    assert redacted_property("password", "old-secret", SECRET) == {
        "name": "password",
        "old": REDACTED,
        "new": REDACTED,
    }


def test_redacted_property_of_a_secret_set_for_the_first_time_keeps_old_empty():
    assert redacted_property("password", None, SECRET) == {"name": "password", "old": None, "new": REDACTED}


def test_redacted_property_cuts_long_values():
    long = "y" * (MAX_VALUE_CHARS + 50)
    assert redacted_property("displayName", "short", long) == {
        "name": "displayName",
        "old": "short",
        "new": "y" * MAX_VALUE_CHARS + "…",
    }


def test_redacted_property_cuts_long_lists_to_text():
    emails = [{"value": f"user{n}@contoso.com", "type": f"t{n}"} for n in range(100)]
    changed = redacted_property("emails", None, emails)
    assert changed["new"] == json.dumps(emails, ensure_ascii=False)[:MAX_VALUE_CHARS] + "…"


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("password", True),
        ("PASSWORD", True),
        ("clientSecret", True),
        ("x-access-Token", True),
        ("urn:ietf:params:scim:schemas:core:2.0:User:password", True),
        ("userName", False),
        ("pass word", False),
        (12, False),
        (None, False),
    ],
)
def test_a_name_is_secret_when_it_holds_a_secret_word_in_any_case(name, secret):
    assert is_secret_name(name) is secret
