"""POST /Users (RFC 7644 §3.3) with the bodies Entra sends (entra-scim.md §1.5, §1.10)."""

import itertools
import re
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import WorkAccount
from tests.conftest import entra_user


pytestmark = pytest.mark.django_db

BASE_URL = "https://accounts.example.com"
CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")

# Entra's older "Provision a user" sample: nulls, bare enterprise names and "…enterprise:2.0User"
# without its last colon (entra-scim.md §1.5).
LEGACY_BODY = {
    "schemas": [CORE, "urn:ietf:params:scim:schemas:extension:enterprise:2.0User"],
    "externalId": "jyoung",
    "userName": "jyoung@testuser.com",
    "active": True,
    "addresses": None,
    "displayName": "Joy Young",
    "emails": [{"type": "work", "value": "jyoung@Contoso.com", "primary": True}],
    "meta": {"resourceType": "User"},
    "name": {"familyName": "Young", "givenName": "Joy"},
    "phoneNumbers": None,
    "preferredLanguage": None,
    "title": None,
    "department": None,
    "manager": None,
}

# SingleAppRoleAssignment POST, verbatim from entra-scim.md §1.10.
ROLES_BODY = {
    "schemas": [CORE],
    "externalId": "alias",
    "userName": "alias@contoso.OnMicrosoft.com",
    "active": True,
    "displayName": "First Name Last Name",
    "meta": {"resourceType": "User"},
    "roles": [{"primary": True, "type": "WindowsAzureActiveDirectoryRole", "value": "Admin"}],
}


@pytest.fixture(autouse=True)
def portal_base_url(settings):
    settings.PORTAL_BASE_URL = BASE_URL


def location(resource_id: str) -> str:
    return f"{BASE_URL}/scim/v2/Users/{resource_id}"


def created_meta(body: dict) -> dict:
    """meta of a just-created resource: version 1 at its own location. (That lastModified equals
    created is test_create_last_modified_equals_created_even_when_the_clock_ticks.)"""
    return {
        "resourceType": "User",
        "created": body["meta"]["created"],
        "lastModified": body["meta"]["lastModified"],
        "location": location(body["id"]),
        "version": 'W/"1"',
    }


def test_create_entra_documented_body_returns_201_with_full_resource(scim):
    response = scim.post("/Users", entra_user("Test_User_00aa00aa@testuser.com"))

    assert response.status_code == 201
    assert response.body == {
        "schemas": [CORE],
        "id": response.body["id"],
        "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
        "userName": "Test_User_00aa00aa@testuser.com",
        "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
        "active": True,
        "emails": [{"value": "Test_User_00aa00aa@testuser.com", "type": "work", "primary": True}],
        "meta": created_meta(response.body),
    }


def test_create_assigns_an_opaque_uuid_id(scim):
    response = scim.post("/Users", entra_user())

    assert str(uuid.UUID(response.body["id"])) == response.body["id"]


def test_create_meta_timestamps_are_utc_milliseconds(scim):
    meta = scim.post("/Users", entra_user()).body["meta"]

    assert TIMESTAMP.match(meta["created"])
    assert TIMESTAMP.match(meta["lastModified"])


def test_create_last_modified_equals_created_even_when_the_clock_ticks(scim, monkeypatch):
    """RFC 7643 §3.1: until the resource is modified, lastModified MUST equal created."""
    start = timezone.now()
    ticks = itertools.count()
    for name in ("date_joined", "updated_at"):
        # Every clock reading made through a field default is 5 ms after the previous one.
        clock = lambda: start + timedelta(milliseconds=5 * next(ticks))  # noqa: E731
        monkeypatch.setattr(WorkAccount._meta.get_field(name), "_get_default", clock)

    meta = scim.post("/Users", entra_user()).body["meta"]

    assert meta["lastModified"] == meta["created"]


def test_create_sends_location_and_etag_headers_matching_meta(scim):
    response = scim.post("/Users", entra_user())

    assert response["Location"] == location(response.body["id"])
    assert response["ETag"] == 'W/"1"'


def test_create_answers_scim_json_content_type(scim):
    response = scim.post("/Users", entra_user())

    assert response["Content-Type"] == "application/scim+json"


def test_created_user_is_returned_unchanged_by_get(scim):
    created = scim.post("/Users", entra_user()).body

    assert scim.get(f"/Users/{created['id']}").body == created


def test_create_active_string_true_returns_json_true(scim):
    response = scim.post("/Users", entra_user(active="True"))

    assert response.status_code == 201
    assert response.body["active"] is True


def test_create_active_string_false_creates_disabled_user(scim):
    response = scim.post("/Users", entra_user(active="False"))

    assert response.status_code == 201
    assert response.body["active"] is False


def test_create_without_active_creates_active_user(scim):
    body = entra_user()
    del body["active"]

    assert scim.post("/Users", body).body["active"] is True


def test_create_legacy_body_with_nulls_and_broken_enterprise_schema(scim):
    response = scim.post("/Users", LEGACY_BODY)

    assert response.status_code == 201
    assert response.body == {
        "schemas": [CORE],
        "id": response.body["id"],
        "externalId": "jyoung",
        "userName": "jyoung@testuser.com",
        "displayName": "Joy Young",
        "name": {"familyName": "Young", "givenName": "Joy"},
        "active": True,
        "emails": [{"value": "jyoung@Contoso.com", "type": "work", "primary": True}],
        "meta": created_meta(response.body),
    }


def test_create_single_app_role_assignment_body_keeps_roles(scim):
    response = scim.post("/Users", ROLES_BODY)

    assert response.status_code == 201
    assert response.body == {
        "schemas": [CORE],
        "id": response.body["id"],
        "externalId": "alias",
        "userName": "alias@contoso.OnMicrosoft.com",
        "displayName": "First Name Last Name",
        "active": True,
        "roles": [{"primary": True, "type": "WindowsAzureActiveDirectoryRole", "value": "Admin"}],
        "meta": created_meta(response.body),
    }


def test_create_role_primary_string_true_is_returned_as_json_true(scim):
    body = {
        **ROLES_BODY,
        "roles": [{"primary": "True", "type": "WindowsAzureActiveDirectoryRole", "value": "Admin"}],
    }

    response = scim.post("/Users", body)

    assert response.status_code == 201
    assert response.body["roles"] == [
        {"primary": True, "type": "WindowsAzureActiveDirectoryRole", "value": "Admin"}
    ]


def test_create_role_with_null_primary_drops_the_null(scim):
    body = {**ROLES_BODY, "roles": [{"primary": None, "value": "Admin"}]}

    response = scim.post("/Users", body)

    assert response.status_code == 201
    assert response.body["roles"] == [{"value": "Admin"}]


def test_create_empty_roles_list_is_ignored(scim):
    response = scim.post("/Users", entra_user(roles=[]))

    assert response.status_code == 201
    assert "roles" not in response.body


def test_create_with_enterprise_extension_object(scim, create_user):
    manager = create_user("boss@contoso.com")
    extension = {
        "employeeNumber": "701984",
        "department": "Tour Operations",
        "manager": {"value": manager["id"]},
    }

    response = scim.post("/Users", entra_user(**{ENTERPRISE: extension}))

    assert response.status_code == 201
    assert response.body["schemas"] == [CORE, ENTERPRISE]
    assert response.body[ENTERPRISE] == {
        "employeeNumber": "701984",
        "department": "Tour Operations",
        "manager": {"value": manager["id"], "$ref": location(manager["id"])},
    }


def test_create_same_user_name_in_another_organization_succeeds(scim, other_scim, create_user):
    first = create_user("alice@contoso.com")

    response = other_scim.post("/Users", entra_user("alice@contoso.com"))

    assert response.status_code == 201
    assert response.body["id"] != first["id"]


def test_create_stores_phone_number_exactly_as_sent(scim):
    response = scim.post("/Users", entra_user(phoneNumbers=[{"type": "work", "value": "55555555555"}]))

    assert response.status_code == 201
    assert response.body["phoneNumbers"] == [{"value": "55555555555", "type": "work", "primary": False}]


def test_create_keeps_the_casing_of_values_as_sent(scim):
    body = entra_user(
        "JYoung@Contoso.COM", emails=[{"type": "Work", "value": "JYoung@Contoso.com", "primary": True}]
    )

    created = scim.post("/Users", body).body
    fetched = scim.get(f"/Users/{created['id']}").body

    assert fetched["userName"] == "JYoung@Contoso.COM"
    assert fetched["emails"] == [{"value": "JYoung@Contoso.com", "type": "Work", "primary": True}]


def test_create_matches_attribute_names_case_insensitively(scim):
    body = {
        "UserName": "kim@contoso.com",
        "Active": "True",
        "Emails": [{"Value": "kim@contoso.com", "Type": "work", "Primary": "TRUE"}],
        ENTERPRISE.upper(): {"Department": "Retail"},
    }

    response = scim.post("/Users", body)

    assert response.status_code == 201
    assert response.body == {
        "schemas": [CORE, ENTERPRISE],
        "id": response.body["id"],
        "userName": "kim@contoso.com",
        "active": True,
        "emails": [{"value": "kim@contoso.com", "type": "work", "primary": True}],
        ENTERPRISE: {"department": "Retail"},
        "meta": created_meta(response.body),
    }
