"""GET /Users listing: paging, POST .search, attributes/excludedAttributes, and query counts."""

import pytest


pytestmark = pytest.mark.django_db

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
SEARCH_REQUEST = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"


@pytest.fixture
def twelve(create_user) -> list[str]:
    """Twelve users (the validation Logic App creates at least 11); their ids in creation order."""
    return [create_user(f"user{n:02}@contoso.com")["id"] for n in range(12)]


def ids(response) -> list[str]:
    assert response.status_code == 200, response.body
    return [resource["id"] for resource in response.body["Resources"]]


def invalid_value(detail: str) -> dict:
    return {"schemas": [ERROR], "status": "400", "scimType": "invalidValue", "detail": detail}


@pytest.fixture
def ada(create_user) -> dict:
    return create_user(
        "ada@contoso.com",
        title="Engineer",
        phoneNumbers=[{"type": "work", "value": "+44 113 496 0000"}],
        **{ENTERPRISE: {"employeeNumber": "E-1815", "department": "Engines"}},
    )


def test_list_response_has_scim_content_type(scim, twelve):
    assert scim.get("/Users")["Content-Type"] == "application/scim+json"


@pytest.mark.parametrize(("page", "items"), [(0, 5), (1, 5), (2, 2)])
def test_page_echoes_start_index_and_counts_items(scim, twelve, page, items):
    response = scim.get(f"/Users?startIndex={page * 5 + 1}&count=5")
    assert response.status_code == 200
    body = response.body
    assert (body["schemas"], body["startIndex"], body["itemsPerPage"], body["totalResults"]) == (
        [LIST_RESPONSE],
        page * 5 + 1,
        items,
        12,
    )
    assert len(body["Resources"]) == items


def test_pages_cover_every_user_once_in_creation_order(scim, twelve):
    pages = [ids(scim.get(f"/Users?startIndex={start}&count=5")) for start in (1, 6, 11)]
    assert pages[0] + pages[1] + pages[2] == twelve


def test_paging_order_is_stable_across_requests(scim, twelve):
    first = ids(scim.get("/Users?startIndex=6&count=5"))
    assert ids(scim.get("/Users?startIndex=6&count=5")) == first


def test_start_index_past_the_end_returns_an_empty_page(scim, twelve):
    response = scim.get("/Users?startIndex=20&count=5")
    assert response.body == {
        "schemas": [LIST_RESPONSE],
        "totalResults": 12,
        "itemsPerPage": 0,
        "startIndex": 20,
        "Resources": [],
    }


@pytest.mark.parametrize("count", ["0", "-3"])
def test_count_zero_or_negative_returns_only_the_total(scim, twelve, count):
    response = scim.get(f"/Users?count={count}")
    assert response.status_code == 200
    assert response.body == {
        "schemas": [LIST_RESPONSE],
        "totalResults": 12,
        "itemsPerPage": 0,
        "startIndex": 1,
        "Resources": [],
    }


def test_count_above_max_results_is_capped(scim, twelve, settings):
    settings.SCIM_MAX_RESULTS = 3
    response = scim.get("/Users?count=10")
    assert (response.body["itemsPerPage"], response.body["totalResults"]) == (3, 12)
    assert ids(response) == twelve[:3]


def test_default_count_applies_when_count_is_absent(scim, twelve, settings):
    settings.SCIM_DEFAULT_COUNT = 4
    response = scim.get("/Users")
    assert (response.body["itemsPerPage"], response.body["totalResults"]) == (4, 12)


@pytest.mark.parametrize("start", ["0", "-5"])
def test_start_index_below_one_is_treated_as_one(scim, twelve, start):
    response = scim.get(f"/Users?startIndex={start}&count=5")
    assert response.body["startIndex"] == 1
    assert ids(response) == twelve[:5]


@pytest.mark.parametrize("count", ["abc", "2.5", "five"])
def test_non_integer_count_is_invalid_value(scim, twelve, count):
    response = scim.get(f"/Users?count={count}")
    assert response.status_code == 400
    assert response.body == invalid_value(f"'count' must be a whole number, not '{count}'.")


def test_non_integer_start_index_is_invalid_value(scim, twelve):
    response = scim.get("/Users?startIndex=first")
    assert response.status_code == 400
    assert response.body == invalid_value("'startIndex' must be a whole number, not 'first'.")


@pytest.mark.parametrize("path", ["/Users/.search", "/.search"])
def test_post_search_request(scim, twelve, path):
    response = scim.post(
        path,
        {
            "schemas": [SEARCH_REQUEST],
            "filter": 'userName sw "user0"',
            "startIndex": 3,
            "count": 4,
            "attributes": ["userName"],
        },
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "application/scim+json"
    assert response.body == {
        "schemas": [LIST_RESPONSE],
        "totalResults": 10,
        "itemsPerPage": 4,
        "startIndex": 3,
        "Resources": [
            {"schemas": [USER], "id": twelve[n], "userName": f"user{n:02}@contoso.com"} for n in range(2, 6)
        ],
    }


def test_search_request_excluded_attributes_as_list(scim, ada):
    response = scim.post(
        "/Users/.search", {"schemas": [SEARCH_REQUEST], "excludedAttributes": ["emails", "meta"]}
    )
    expected = {key: value for key, value in ada.items() if key not in ("emails", "meta")}
    assert response.body["Resources"] == [expected]


def test_search_request_with_non_string_filter_is_invalid_filter(scim, twelve):
    response = scim.post("/Users/.search", {"schemas": [SEARCH_REQUEST], "filter": 42})
    assert response.status_code == 400
    assert response.body == {
        "schemas": [ERROR],
        "status": "400",
        "scimType": "invalidFilter",
        "detail": "The filter must be a string.",
    }


def test_search_request_with_non_list_attributes_is_invalid_value(scim, twelve):
    response = scim.post("/Users/.search", {"schemas": [SEARCH_REQUEST], "attributes": 5})
    assert response.status_code == 400
    assert response.body == invalid_value("attributes and excludedAttributes must be attribute names, not 5.")


def test_attributes_user_name_returns_only_schemas_id_and_user_name(scim, ada):
    response = scim.get("/Users?attributes=userName")
    assert response.body["Resources"] == [{"schemas": [USER], "id": ada["id"], "userName": "ada@contoso.com"}]


def test_attribute_names_are_case_insensitive(scim, ada):
    response = scim.get("/Users?attributes=USERNAME,Title")
    assert response.body["Resources"] == [
        {"schemas": [USER], "id": ada["id"], "userName": "ada@contoso.com", "title": "Engineer"}
    ]


def test_excluded_attributes_drop_emails_and_name(scim, ada):
    response = scim.get("/Users?excludedAttributes=emails,name")
    expected = {key: value for key, value in ada.items() if key not in ("emails", "name")}
    assert response.body["Resources"] == [expected]


def test_excluded_attributes_never_drop_id_or_schemas(scim, ada):
    response = scim.get("/Users?excludedAttributes=id,schemas")
    assert response.body["Resources"] == [ada]


def test_attributes_sub_attribute_keeps_only_that_sub_attribute(scim, ada):
    response = scim.get("/Users?attributes=name.givenName")
    assert response.body["Resources"] == [
        {"schemas": [USER], "id": ada["id"], "name": {"givenName": "givenName"}}
    ]


def test_attributes_sub_attribute_of_multi_valued_attribute(scim, ada):
    response = scim.get("/Users?attributes=phoneNumbers.value")
    assert response.body["Resources"] == [
        {"schemas": [USER], "id": ada["id"], "phoneNumbers": [{"value": "+44 113 496 0000"}]}
    ]


def test_enterprise_attribute_selected_by_urn(scim, ada):
    response = scim.get(f"/Users?attributes={ENTERPRISE}:department")
    assert response.body["Resources"] == [
        {"schemas": [USER, ENTERPRISE], "id": ada["id"], ENTERPRISE: {"department": "Engines"}}
    ]


def test_whole_extension_selected_by_urn(scim, ada):
    response = scim.get(f"/Users?attributes={ENTERPRISE}")
    assert response.body["Resources"] == [
        {"schemas": [USER, ENTERPRISE], "id": ada["id"], ENTERPRISE: ada[ENTERPRISE]}
    ]


def test_excluding_every_enterprise_attribute_drops_the_extension_and_its_schema(scim, ada):
    response = scim.get(f"/Users?excludedAttributes={ENTERPRISE}:department,{ENTERPRISE}:employeeNumber")
    expected = {key: value for key, value in ada.items() if key != ENTERPRISE}
    assert response.body["Resources"] == [{**expected, "schemas": [USER]}]


def test_attributes_apply_to_get_by_id(scim, ada):
    response = scim.get(f"/Users/{ada['id']}?attributes=userName,{ENTERPRISE}:employeeNumber")
    assert response.body == {
        "schemas": [USER, ENTERPRISE],
        "id": ada["id"],
        "userName": "ada@contoso.com",
        ENTERPRISE: {"employeeNumber": "E-1815"},
    }


@pytest.fixture
def fifty(create_user) -> list[str]:
    boss = create_user("boss@contoso.com")
    created = [boss["id"]]
    for n in range(49):
        user = create_user(
            f"user{n:02}@contoso.com",
            phoneNumbers=[{"type": "work", "value": f"+1 555 01{n:02}"}],
            addresses=[{"type": "work", "locality": "Leeds"}],
            **{ENTERPRISE: {"department": "Engines", "manager": {"value": boss["id"]}}},
        )
        created.append(user["id"])
    return created


@pytest.mark.usefixtures("without_provisioning_log")
def test_listing_fifty_users_costs_at_most_six_queries(scim, fifty, django_assert_max_num_queries):
    with django_assert_max_num_queries(6):
        response = scim.get("/Users?count=50")
    assert ids(response) == fifty


@pytest.mark.usefixtures("without_provisioning_log")
def test_filtered_listing_costs_at_most_six_queries(scim, fifty, django_assert_max_num_queries):
    with django_assert_max_num_queries(6):
        response = scim.get('/Users?filter=addresses[type eq "work"].locality eq "Leeds"&count=50')
    assert ids(response) == fifty[1:]


@pytest.mark.usefixtures("without_provisioning_log")
def test_get_by_id_costs_at_most_six_queries(scim, fifty, django_assert_max_num_queries):
    with django_assert_max_num_queries(6):
        response = scim.get(f"/Users/{fifty[7]}")
    assert response.body["id"] == fifty[7]
