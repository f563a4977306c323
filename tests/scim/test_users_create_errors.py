"""POST /Users that must fail (RFC 7644 §3.3, §3.12): each answer exact, and nothing created."""

import pytest

from accounts.models import WorkAccount, WorkAccountValue
from tests.conftest import entra_user


pytestmark = pytest.mark.django_db

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


def error(status: int, scim_type: str, detail: str) -> dict:
    return {"schemas": [ERROR], "status": str(status), "scimType": scim_type, "detail": detail}


def test_create_duplicate_user_name_returns_409_uniqueness(scim, create_user):
    create_user("alice@contoso.com")

    response = scim.post("/Users", entra_user("alice@contoso.com"))

    assert response.status_code == 409
    assert response.body == error(
        409, "uniqueness", "userName 'alice@contoso.com' is already taken in this organization."
    )


def test_create_duplicate_user_name_in_other_case_returns_409_uniqueness(scim, create_user):
    create_user("alice@contoso.com")

    response = scim.post("/Users", entra_user("ALICE@contoso.com"))

    assert response.status_code == 409
    assert response.body == error(
        409, "uniqueness", "userName 'ALICE@contoso.com' is already taken in this organization."
    )


def test_create_without_user_name_returns_400_invalid_value(scim):
    body = entra_user()
    del body["userName"]

    response = scim.post("/Users", body)

    assert response.status_code == 400
    assert response.body == error(400, "invalidValue", "userName is required.")


def test_create_with_blank_user_name_returns_400_invalid_value(scim):
    response = scim.post("/Users", entra_user("  "))

    assert response.status_code == 400
    assert response.body == error(400, "invalidValue", "userName is required and cannot be empty.")


def test_create_with_active_not_a_boolean_returns_400_invalid_value(scim):
    response = scim.post("/Users", entra_user(active="maybe"))

    assert response.status_code == 400
    assert response.body == error(400, "invalidValue", "'active' must be true or false, not 'maybe'.")


@pytest.mark.parametrize(
    "emails",
    ["alice@contoso.com", {"value": "alice@contoso.com", "type": "work"}, 5],
    ids=["string", "object", "number"],
)
def test_create_with_emails_not_a_list_returns_400_invalid_value(scim, emails):
    response = scim.post("/Users", entra_user(emails=emails))

    assert response.status_code == 400
    assert response.body == error(400, "invalidValue", "'emails' must be a list of objects.")


def test_create_with_name_not_an_object_returns_400_invalid_value(scim):
    response = scim.post("/Users", entra_user(name="Alice"))

    assert response.status_code == 400
    assert response.body == error(400, "invalidValue", "'name' must be a JSON object.")


def test_create_with_non_json_body_returns_400_invalid_syntax(scim):
    response = scim.post("/Users", raw="{not json")

    assert response.status_code == 400
    assert response.body["schemas"] == [ERROR]
    assert response.body["status"] == "400"
    assert response.body["scimType"] == "invalidSyntax"
    assert response.body["detail"].startswith("The request body is not valid JSON: ")


def test_create_with_json_array_body_returns_400_invalid_syntax(scim):
    response = scim.post("/Users", raw="[]")

    assert response.status_code == 400
    assert response.body == error(400, "invalidSyntax", "The request body must be a JSON object.")


def test_create_with_two_primary_emails_returns_400_invalid_value(scim):
    emails = [
        {"type": "work", "value": "alice@contoso.com", "primary": True},
        {"type": "home", "value": "alice@example.com", "primary": True},
    ]

    response = scim.post("/Users", entra_user(emails=emails))

    assert response.status_code == 400
    assert response.body == error(
        400, "invalidValue", "emails has more than one value marked primary; at most one may be."
    )


@pytest.mark.parametrize(
    "body",
    [
        entra_user("alice@contoso.com"),
        entra_user("ALICE@CONTOSO.COM"),
        {key: value for key, value in entra_user("bob@contoso.com").items() if key != "userName"},
        entra_user("bob@contoso.com", active="maybe"),
        entra_user("bob@contoso.com", emails="bob@contoso.com"),
        entra_user("bob@contoso.com", externalId="bob-1", **{ENTERPRISE: {"manager": "bob-1"}}),
        entra_user(
            "bob@contoso.com",
            emails=[
                {"type": "work", "value": "a@contoso.com", "primary": True},
                {"type": "work", "value": "b@contoso.com", "primary": True},
            ],
        ),
    ],
    ids=[
        "duplicate",
        "duplicate-case",
        "no-userName",
        "bad-active",
        "emails-string",
        "manager-is-itself",
        "two-primary-work",
    ],
)
def test_failed_create_changes_nothing(scim, create_user, body):
    create_user("alice@contoso.com")
    before = (list(WorkAccount.objects.order_by("id").values()), WorkAccountValue.objects.count())

    response = scim.post("/Users", body)

    assert response.status_code in (400, 409)
    assert (list(WorkAccount.objects.order_by("id").values()), WorkAccountValue.objects.count()) == before
