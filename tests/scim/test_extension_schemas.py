"""
Extension data and the `schemas` list of a POST or PUT body (issue 14).

Entra omits urn:ietf:params:scim:schemas:extension:enterprise:2.0:User from `schemas` in some
mappings while it sends the extension object: the data is accepted and stored, and the answer lists
the URN. RFC 7644 §3.3 lets a service provider refuse an unknown schema (400 invalidSyntax); this
one keeps its lenient behaviour, explicitly: attributes under an extension URN it does not
implement are ignored (not stored, not echoed), whether or not `schemas` lists that URN.
"""

import pytest

from accounts.models import WorkAccount


pytestmark = pytest.mark.django_db

BASE_URL = "https://accounts.example.com"
CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
ACME = "urn:ietf:params:scim:schemas:extension:acme:2.0:User"


@pytest.fixture(autouse=True)
def portal_base_url(settings):
    settings.PORTAL_BASE_URL = BASE_URL


def body(schemas, **attributes) -> dict:
    return {
        **({"schemas": schemas} if schemas is not None else {}),
        "externalId": "ext-joy",
        "userName": "joy@contoso.com",
        "active": True,
        **attributes,
    }


def resource(answer: dict, schemas: list, version: int = 1, **attributes) -> dict:
    return {
        "schemas": schemas,
        "id": answer["id"],
        "userName": "joy@contoso.com",
        "externalId": "ext-joy",
        "active": True,
        **attributes,
        "meta": {
            "resourceType": "User",
            "created": answer["meta"]["created"],
            "lastModified": answer["meta"]["lastModified"],
            "location": f"{BASE_URL}/scim/v2/Users/{answer['id']}",
            "version": f'W/"{version}"',
        },
    }


EXTENSION = {"employeeNumber": "701984", "department": "Tour Operations"}


@pytest.mark.parametrize("schemas", [[CORE], None], ids=["core-only", "no-schemas"])
def test_post_with_enterprise_data_missing_from_schemas_stores_it_and_lists_the_urn(scim, schemas):
    response = scim.post("/Users", body(schemas, **{ENTERPRISE: EXTENSION}))

    assert response.status_code == 201
    assert response.body == resource(response.body, [CORE, ENTERPRISE], **{ENTERPRISE: EXTENSION})
    assert scim.get(f"/Users/{response.body['id']}").body == response.body
    stored = WorkAccount.objects.get(pk=response.body["id"])
    assert (stored.employee_number, stored.department) == ("701984", "Tour Operations")


def test_post_with_enterprise_manager_missing_from_schemas_stores_it(scim, create_user):
    boss = create_user("boss@contoso.com")

    response = scim.post("/Users", body([CORE], **{ENTERPRISE: {"manager": {"value": boss["id"]}}}))

    assert response.status_code == 201
    manager = {"value": boss["id"], "$ref": f"{BASE_URL}/scim/v2/Users/{boss['id']}"}
    assert response.body == resource(response.body, [CORE, ENTERPRISE], **{ENTERPRISE: {"manager": manager}})


def test_put_with_enterprise_data_missing_from_schemas_stores_it_and_lists_the_urn(scim):
    created = scim.post("/Users", body([CORE])).body

    response = scim.put(f"/Users/{created['id']}", body([CORE], **{ENTERPRISE: EXTENSION}))

    assert response.status_code == 200
    assert response.body == resource(response.body, [CORE, ENTERPRISE], version=2, **{ENTERPRISE: EXTENSION})


def test_post_with_enterprise_attributes_in_attribute_notation_stores_them(scim):
    flat = {f"{ENTERPRISE}:employeeNumber": "701984", f"{ENTERPRISE}:department": "Tour Operations"}

    response = scim.post("/Users", body([CORE], **flat))

    assert response.status_code == 201
    assert response.body == resource(response.body, [CORE, ENTERPRISE], **{ENTERPRISE: EXTENSION})


def test_post_listing_the_enterprise_urn_without_its_data_answers_with_core_only(scim):
    response = scim.post("/Users", body([CORE, ENTERPRISE]))

    assert response.status_code == 201
    assert response.body == resource(response.body, [CORE])


@pytest.mark.parametrize("schemas", [[CORE], [CORE, ACME]], ids=["not-listed", "listed"])
def test_post_with_an_unknown_extension_urn_ignores_its_data(scim, schemas):
    response = scim.post(
        "/Users", body(schemas, **{ACME: {"badge": "42"}, ENTERPRISE: {"department": "Retail"}})
    )

    assert response.status_code == 201
    assert response.body == resource(
        response.body, [CORE, ENTERPRISE], **{ENTERPRISE: {"department": "Retail"}}
    )


def test_put_with_an_unknown_extension_urn_ignores_its_data(scim):
    created = scim.post("/Users", body([CORE])).body

    response = scim.put(f"/Users/{created['id']}", body([CORE], **{ACME: {"badge": "42"}}))

    assert response.status_code == 200
    assert response.body == resource(response.body, [CORE])
