"""Discovery (RFC 7644 §4): ServiceProviderConfig, ResourceTypes, Schemas, and unsupported endpoints."""

import re

import pytest

from accounts.models import WorkAccount


pytestmark = pytest.mark.django_db

BASE = "http://testserver/scim/v2"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Schema"
RESOURCE_TYPE = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
SERVICE_PROVIDER_CONFIG = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"


def attr(name, type="string", *, sub=(), description=None, **overrides) -> dict:
    """An RFC 7643 §7 attribute definition with the defaults this provider uses."""
    doc = {
        "name": name,
        "type": type,
        "multiValued": False,
        "description": description or name,
        "required": False,
        "caseExact": False,
        "mutability": "readWrite",
        "returned": "default",
        "uniqueness": "none",
        **overrides,
    }
    if sub:
        doc["subAttributes"] = list(sub)
    return doc


def contact_subs(*types) -> list[dict]:
    return [
        attr("value"),
        attr("display"),
        attr("type", canonicalValues=list(types)),
        attr("primary", "boolean"),
    ]


USER_SCHEMA = {
    "schemas": [SCHEMA],
    "id": USER,
    "name": "User",
    "description": "User Account",
    "attributes": [
        attr("userName", required=True, uniqueness="server", description="Unique identifier for the User"),
        attr(
            "name",
            "complex",
            sub=[
                attr(n)
                for n in (
                    "formatted",
                    "familyName",
                    "givenName",
                    "middleName",
                    "honorificPrefix",
                    "honorificSuffix",
                )
            ],
        ),
        attr("displayName"),
        attr("nickName"),
        attr("profileUrl", "reference", referenceTypes=["external"]),
        attr("title"),
        attr("userType"),
        attr("preferredLanguage"),
        attr("locale"),
        attr("timezone"),
        attr("active", "boolean"),
        attr("password", mutability="writeOnly", returned="never", caseExact=True),
        attr("emails", "complex", multiValued=True, sub=contact_subs("work", "home", "other")),
        attr(
            "phoneNumbers",
            "complex",
            multiValued=True,
            sub=contact_subs("work", "home", "mobile", "fax", "pager", "other"),
        ),
        attr(
            "addresses",
            "complex",
            multiValued=True,
            sub=[
                *(
                    attr(n)
                    for n in ("formatted", "streetAddress", "locality", "region", "postalCode", "country")
                ),
                attr("type", canonicalValues=["work", "home", "other"]),
                attr("primary", "boolean"),
            ],
        ),
        attr(
            "groups",
            "complex",
            multiValued=True,
            mutability="readOnly",
            description="Groups the User belongs to; change them through the Group resource",
            sub=[
                attr("value", mutability="readOnly", caseExact=True),
                attr("$ref", "reference", mutability="readOnly", referenceTypes=["Group"]),
                attr("display", mutability="readOnly"),
                attr("type", mutability="readOnly", canonicalValues=["direct", "indirect"]),
            ],
        ),
        attr("roles", "complex", multiValued=True, sub=contact_subs()),
    ],
    "meta": {"resourceType": "Schema", "location": f"{BASE}/Schemas/{USER}"},
}
ENTERPRISE_SCHEMA = {
    "schemas": [SCHEMA],
    "id": ENTERPRISE,
    "name": "EnterpriseUser",
    "description": "Enterprise User",
    "attributes": [
        *(attr(n) for n in ("employeeNumber", "costCenter", "organization", "division", "department")),
        attr(
            "manager",
            "complex",
            sub=[
                attr("value", caseExact=True),
                attr("$ref", "reference", referenceTypes=["User"]),
                attr("displayName", mutability="readOnly"),
            ],
        ),
    ],
    "meta": {"resourceType": "Schema", "location": f"{BASE}/Schemas/{ENTERPRISE}"},
}
GROUP_SCHEMA = {
    "schemas": [SCHEMA],
    "id": GROUP,
    "name": "Group",
    "description": "Group",
    "attributes": [
        attr("displayName", required=True, uniqueness="server", description="A unique name for the Group"),
        attr(
            "members",
            "complex",
            multiValued=True,
            description="Work accounts of the same organization; values are User ids",
            sub=[
                attr("value", mutability="immutable", caseExact=True),
                attr("$ref", "reference", mutability="immutable", referenceTypes=["User"]),
                attr("display", mutability="readOnly"),
                attr("type", mutability="immutable", canonicalValues=["User"]),
            ],
        ),
    ],
    "meta": {"resourceType": "Schema", "location": f"{BASE}/Schemas/{GROUP}"},
}
USER_RESOURCE_TYPE = {
    "schemas": [RESOURCE_TYPE],
    "id": "User",
    "name": "User",
    "endpoint": "/Users",
    "description": "Work accounts of the organization",
    "schema": USER,
    "schemaExtensions": [{"schema": ENTERPRISE, "required": False}],
    "meta": {"resourceType": "ResourceType", "location": f"{BASE}/ResourceTypes/User"},
}
GROUP_RESOURCE_TYPE = {
    "schemas": [RESOURCE_TYPE],
    "id": "Group",
    "name": "Group",
    "endpoint": "/Groups",
    "description": "Groups of work accounts of the organization",
    "schema": GROUP,
    "schemaExtensions": [],
    "meta": {"resourceType": "ResourceType", "location": f"{BASE}/ResourceTypes/Group"},
}


def list_of(*resources) -> dict:
    return {
        "schemas": [LIST_RESPONSE],
        "totalResults": len(resources),
        "itemsPerPage": len(resources),
        "startIndex": 1,
        "Resources": list(resources),
    }


def error(status: int, detail: str) -> dict:
    return {"schemas": [ERROR], "status": str(status), "detail": detail}


@pytest.mark.parametrize("path", ["/ServiceProviderConfig", "/ServiceProviderConfigs"])
def test_service_provider_config_body(scim, path):
    response = scim.get(path)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/scim+json"
    assert response.body == {
        "schemas": [SERVICE_PROVIDER_CONFIG],
        "patch": {"supported": True},
        "bulk": {"supported": False, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": True, "maxResults": 200},
        "changePassword": {"supported": True},
        "sort": {"supported": True},
        "etag": {"supported": True},
        "pagination": {
            "cursor": True,
            "index": True,
            "defaultPaginationMethod": "index",
            "defaultPageSize": 100,
            "maxPageSize": 200,
            "cursorTimeout": 3600,
        },
        "authenticationSchemes": [
            {
                "type": "oauthbearertoken",
                "name": "OAuth Bearer Token",
                "description": "A bearer token issued to one provisioning connection of an organization.",
                "specUri": "https://www.rfc-editor.org/info/rfc6750",
                "primary": True,
            }
        ],
        "meta": {"resourceType": "ServiceProviderConfig", "location": f"{BASE}/ServiceProviderConfig"},
    }


def test_resource_types_body(scim):
    response = scim.get("/ResourceTypes")
    assert response.status_code == 200
    assert response.body == list_of(USER_RESOURCE_TYPE, GROUP_RESOURCE_TYPE)


def test_resource_type_user_body(scim):
    response = scim.get("/ResourceTypes/User")
    assert response.status_code == 200
    assert response.body == USER_RESOURCE_TYPE


def test_resource_type_group_body(scim):
    response = scim.get("/ResourceTypes/Group")
    assert response.status_code == 200
    assert response.body == GROUP_RESOURCE_TYPE


def test_unknown_resource_type_is_scim_404(scim):
    response = scim.get("/ResourceTypes/Role")
    assert response.status_code == 404
    assert response.body == error(404, "Resource Role not found")


def test_schemas_body(scim):
    response = scim.get("/Schemas")
    assert response.status_code == 200
    assert response.body == list_of(USER_SCHEMA, ENTERPRISE_SCHEMA, GROUP_SCHEMA)


def test_user_schema_body(scim):
    response = scim.get(f"/Schemas/{USER}")
    assert response.status_code == 200
    assert response.body == USER_SCHEMA


def test_enterprise_user_schema_body(scim):
    response = scim.get(f"/Schemas/{ENTERPRISE}")
    assert response.status_code == 200
    assert response.body == ENTERPRISE_SCHEMA


def test_group_schema_body(scim):
    response = scim.get(f"/Schemas/{GROUP}")
    assert response.status_code == 200
    assert response.body == GROUP_SCHEMA


def test_type_sub_attributes_publish_the_canonical_values_of_rfc_7643(scim):
    """RFC 7643 §8.7.1's canonicalValues on every `type` (Entra's gallery schema check reads them);
    roles.type has none there and is published with an empty list, as the RFC does."""
    attributes = scim.get(f"/Schemas/{USER}").body["attributes"]

    published = {
        attribute["name"]: sub.get("canonicalValues")
        for attribute in attributes
        for sub in attribute.get("subAttributes", ())
        if sub["name"] == "type"
    }
    assert published == {
        "emails": ["work", "home", "other"],
        "phoneNumbers": ["work", "home", "mobile", "fax", "pager", "other"],
        "addresses": ["work", "home", "other"],
        "groups": ["direct", "indirect"],
        "roles": [],
    }


def test_unknown_schema_is_scim_404(scim):
    response = scim.get("/Schemas/urn:ietf:params:scim:schemas:core:2.0:Nope")
    assert response.status_code == 404
    assert response.body == error(404, "Resource urn:ietf:params:scim:schemas:core:2.0:Nope not found")


def _walk(value, path="$"):
    if isinstance(value, dict):
        for key, item in value.items():
            yield path, key, item
            yield from _walk(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk(item, f"{path}[{index}]")


def test_schemas_have_camel_case_properties_and_no_nulls(scim):
    resources = scim.get("/Schemas").body["Resources"]
    for schema in resources:
        assert {"schemas", "id", "name", "attributes"} <= schema.keys()
    found = list(_walk(resources))
    assert [(path, key) for path, key, _ in found if not re.fullmatch(r"[a-z][A-Za-z]*", key)] == []
    assert [(path, key) for path, key, value in found if value is None] == []
    words = {value for _, key, value in found if key in ("mutability", "returned", "uniqueness", "type")}
    assert words <= {
        "readWrite", "readOnly", "writeOnly", "immutable", "default", "always", "never", "request",
        "none", "server", "global", "string", "boolean", "complex", "reference", "dateTime",
    }  # fmt: skip


@pytest.mark.parametrize(
    "path",
    ["/ServiceProviderConfig", "/ResourceTypes", "/ResourceTypes/User", "/ResourceTypes/Group", "/Schemas"],
)
@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_discovery_endpoints_are_read_only(scim, path, method):
    response = scim.request(method, path, {"schemas": [SCHEMA]})
    assert response.status_code == 405
    assert response["Allow"] == "GET"
    assert response.body == error(405, f"{method} is not supported on this endpoint.")


@pytest.mark.parametrize("path", ["/nope", "/Users/abc/def", "/Groups/abc/def", "/"])
def test_unknown_url_is_scim_404(scim, path):
    response = scim.get(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/scim+json"
    assert response.body == error(404, f"No SCIM endpoint at /scim/v2{path}.")


def test_groups_is_an_endpoint(scim):
    response = scim.get("/Groups")
    assert response.status_code == 200
    assert response.body == list_of()


@pytest.mark.parametrize(("path", "feature"), [("/Bulk", "Bulk"), ("/Me", "/Me")])
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_bulk_and_me_are_not_implemented(scim, path, feature, method):
    response = scim.request(method, path, {"schemas": []} if method == "POST" else None)
    assert response.status_code == 501
    assert response.body == error(501, f"{feature} is not supported by this service provider.")


def writable_paths(attributes: list[dict], prefix: str = "") -> set[str]:
    paths = set()
    for attribute in attributes:
        if attribute["mutability"] == "readOnly":
            continue
        if "subAttributes" in attribute:
            paths |= writable_paths(attribute["subAttributes"], f"{prefix}{attribute['name']}.")
        else:
            paths.add(prefix + attribute["name"])
    return paths


def written_paths(document: dict, prefix: str = "") -> set[str]:
    paths = set()
    for key, value in document.items():
        if key == ENTERPRISE:
            paths |= written_paths(value, f"{ENTERPRISE}:")
            continue
        elements = value if isinstance(value, list) else [value]
        if elements and all(isinstance(e, dict) for e in elements):
            for element in elements:
                paths |= written_paths(element, f"{prefix}{key}.")
        else:
            paths.add(prefix + key)
    return paths


def full_user(manager_id: str) -> dict:
    """A value for every attribute /Schemas says a client may write."""
    return {
        "userName": "ada@contoso.com",
        "name": {
            "formatted": "Lady Ada King Lovelace",
            "familyName": "Lovelace",
            "givenName": "Ada",
            "middleName": "King",
            "honorificPrefix": "Lady",
            "honorificSuffix": "FRS",
        },
        "displayName": "Ada Lovelace",
        "nickName": "Ada",
        "profileUrl": "https://contoso.com/people/ada",
        "title": "Analyst",
        "userType": "Employee",
        "preferredLanguage": "en-GB",
        "locale": "en-GB",
        "timezone": "Europe/London",
        "active": True,
        "password": "Engines-of-1843!",
        "emails": [{"value": "ada@contoso.com", "display": "Ada", "type": "work", "primary": True}],
        "phoneNumbers": [{"value": "+44 20 7946 0000", "display": "Desk", "type": "work", "primary": True}],
        "addresses": [
            {
                "formatted": "12 St James's Square, London",
                "streetAddress": "12 St James's Square",
                "locality": "London",
                "region": "Greater London",
                "postalCode": "SW1Y 4LB",
                "country": "GB",
                "type": "work",
                "primary": True,
            }
        ],
        "roles": [
            {
                "value": "analyst",
                "display": "Analyst",
                "type": "WindowsAzureActiveDirectoryRole",
                "primary": True,
            }
        ],
        ENTERPRISE: {
            "employeeNumber": "1815",
            "costCenter": "CC-42",
            "organization": "Contoso",
            "division": "Research",
            "department": "Engines",
            "manager": {"value": manager_id, "$ref": f"{BASE}/Users/{manager_id}"},
        },
    }


def test_full_user_writes_every_writable_attribute_of_the_schemas(scim):
    schemas = {schema["id"]: schema for schema in scim.get("/Schemas").body["Resources"]}
    advertised = writable_paths(schemas[USER]["attributes"]) | writable_paths(
        schemas[ENTERPRISE]["attributes"], f"{ENTERPRISE}:"
    )
    assert written_paths(full_user("x")) == advertised


def test_every_advertised_writable_attribute_reads_back(scim, create_user):
    manager = create_user("boss@contoso.com")
    body = full_user(manager["id"])
    created = scim.post("/Users", {"schemas": [USER, ENTERPRISE], **body})
    assert created.status_code == 201, created.body
    read = scim.get(f"/Users/{created.body['id']}").body
    expected = {key: value for key, value in body.items() if key != "password"}
    assert {key: read[key] for key in expected} == expected


def test_user_representation_uses_only_advertised_attributes(scim, create_user):
    manager = create_user("boss@contoso.com")
    created = scim.post("/Users", {"schemas": [USER, ENTERPRISE], **full_user(manager["id"])}).body
    group = {"schemas": [GROUP], "displayName": "Analysts", "members": [{"value": created["id"]}]}
    assert scim.post("/Groups", group).status_code == 201  # the read-only `groups` shows up on a read
    read = scim.get(f"/Users/{created['id']}").body
    schemas = {schema["id"]: schema for schema in scim.get("/Schemas").body["Resources"]}
    core = {a["name"] for a in schemas[USER]["attributes"] if a["returned"] != "never"}
    extension = {a["name"] for a in schemas[ENTERPRISE]["attributes"]}
    assert set(read) - {"schemas", "id", "externalId", "meta", ENTERPRISE} == core
    assert set(read[ENTERPRISE]) == extension
    assert set(created) - {"schemas", "id", "externalId", "meta", ENTERPRISE} == core - {"groups"}


def test_group_representation_uses_only_advertised_attributes(scim, create_user):
    member = create_user("ada@contoso.com")["id"]
    body = {"schemas": [GROUP], "displayName": "Analysts", "externalId": "x", "members": [{"value": member}]}
    created = scim.post("/Groups", body).body
    schema = scim.get(f"/Schemas/{GROUP}").body
    members = next(a for a in schema["attributes"] if a["name"] == "members")
    assert set(created) - {"schemas", "id", "externalId", "meta"} == {a["name"] for a in schema["attributes"]}
    assert set(created["members"][0]) == {a["name"] for a in members["subAttributes"]}


def test_write_only_password_is_stored_and_never_returned(scim, create_user):
    created = create_user("ada@contoso.com", password="Engines-of-1843!")
    assert "password" not in scim.get(f"/Users/{created['id']}").body
    assert WorkAccount.objects.get(pk=created["id"]).check_password("Engines-of-1843!")


def test_advertised_max_results_is_the_page_cap(scim, create_user, settings):
    settings.SCIM_MAX_RESULTS = 2
    for n in range(3):
        create_user(f"user{n}@contoso.com")
    advertised = scim.get("/ServiceProviderConfig").body["filter"]["maxResults"]
    assert (advertised, scim.get("/Users?count=100").body["itemsPerPage"]) == (2, 2)


def test_advertised_etag_support_sends_etag_on_get(scim, create_user):
    created = create_user()
    response = scim.get(f"/Users/{created['id']}")
    assert response["ETag"] == created["meta"]["version"] == 'W/"1"'
