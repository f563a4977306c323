"""GET /Users?filter=…: every attribute Entra may match on, the operators, and filter errors."""

from datetime import UTC, datetime
from urllib.parse import quote_plus

import pytest

from accounts.models import WorkAccount


pytestmark = pytest.mark.django_db

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"

ADA = {
    "externalId": "ext-Full-1",
    "title": "Principal Engineer",
    "preferredLanguage": "fr-CA",
    "displayName": "Ada L.",
    "name": {"formatted": "Ada Lovelace", "givenName": "Ada", "familyName": "Lovelace"},
    "emails": [
        {"type": "work", "value": "ada@contoso.com", "primary": True},
        {"type": "home", "value": "ada@home.contoso.com"},
    ],
    "addresses": [
        {
            "type": "work",
            "formatted": "1 Analytical Way, Leeds",
            "streetAddress": "1 Analytical Way",
            "locality": "Leeds",
            "region": "Yorkshire",
            "postalCode": "LS1 4AP",
            "country": "GB",
        }
    ],
    "phoneNumbers": [{"type": "work", "value": "+44 113 496 0000"}],
    ENTERPRISE: {"employeeNumber": "E-1815", "department": "Engines"},
}
# Bob holds Ada's work values as *home* values, so a filter that ignores [type eq "work"] matches him.
BOB = {
    "externalId": "ext-bob",
    "emails": [
        {"type": "work", "value": "bob@contoso.com", "primary": True},
        {"type": "home", "value": "ada@contoso.com"},
    ],
    "addresses": [{**ADA["addresses"][0], "type": "home"}],
    "phoneNumbers": [{"type": "home", "value": "+44 113 496 0000"}],
}
CAROL = {"externalId": "ext-carol", "title": "Analyst"}


@pytest.fixture
def people(create_user):
    return {
        "ada": create_user("ada@contoso.com", **ADA),
        "bob": create_user("bob@contoso.com", **BOB),
        "carol": create_user("carol@contoso.com", **CAROL),
    }


def search(scim, filter_text: str, extra: str = ""):
    """GET /Users with the filter encoded as Entra sends it: spaces as +, quotes as %22."""
    return scim.get(f"/Users?filter={quote_plus(filter_text)}{extra}")


def user_names(response) -> list[str]:
    assert response.status_code == 200, response.body
    assert response.body["totalResults"] == len(response.body["Resources"])
    return [resource["userName"] for resource in response.body["Resources"]]


def invalid_filter(detail: str) -> dict:
    return {"schemas": [ERROR], "status": "400", "scimType": "invalidFilter", "detail": detail}


@pytest.mark.parametrize(
    "filter_text",
    [
        'userName eq "ada@contoso.com"',
        'externalId eq "ext-Full-1"',
        'title eq "Principal Engineer"',
        'emails[type eq "work"].value eq "ada@contoso.com"',
        'preferredLanguage eq "fr-CA"',
        'name.givenName eq "Ada"',
        'name.familyName eq "Lovelace"',
        'name.formatted eq "Ada Lovelace"',
        'addresses[type eq "work"].formatted eq "1 Analytical Way, Leeds"',
        'addresses[type eq "work"].streetAddress eq "1 Analytical Way"',
        'addresses[type eq "work"].locality eq "Leeds"',
        'addresses[type eq "work"].region eq "Yorkshire"',
        'addresses[type eq "work"].postalCode eq "LS1 4AP"',
        'addresses[type eq "work"].country eq "GB"',
        'phoneNumbers[type eq "work"].value eq "+44 113 496 0000"',
        f'{ENTERPRISE}:employeeNumber eq "E-1815"',
        f'{ENTERPRISE}:department eq "Engines"',
        'displayName eq "Ada L."',
    ],
)
def test_tutorial_attribute_is_filterable(scim, people, filter_text):
    assert user_names(search(scim, filter_text)) == ["ada@contoso.com"]


def test_sub_attribute_without_type_filter_matches_any_element(scim, people):
    assert user_names(search(scim, 'addresses.locality eq "Leeds"')) == ["ada@contoso.com", "bob@contoso.com"]


def test_id_is_filterable(scim, people):
    assert user_names(search(scim, f'id eq "{people["bob"]["id"]}"')) == ["bob@contoso.com"]


def test_active_false_matches_only_disabled_users(scim, people):
    disable = {"schemas": [PATCH_OP], "Operations": [{"op": "Replace", "path": "active", "value": False}]}
    assert scim.patch(f"/Users/{people['carol']['id']}", disable).status_code == 200
    assert user_names(search(scim, "active eq false")) == ["carol@contoso.com"]


def test_active_true_matches_only_enabled_users(scim, people):
    disable = {"schemas": [PATCH_OP], "Operations": [{"op": "Replace", "path": "active", "value": False}]}
    assert scim.patch(f"/Users/{people['carol']['id']}", disable).status_code == 200
    assert user_names(search(scim, "active eq true")) == ["ada@contoso.com", "bob@contoso.com"]


@pytest.mark.parametrize(
    ("filter_text", "expected"),
    [
        ('title eq "principal engineer"', ["ada"]),
        ('userName ne "ada@contoso.com"', ["bob", "carol"]),
        ('title co "CIPAL"', ["ada"]),
        ('title sw "princ"', ["ada"]),
        ('title ew "engineer"', ["ada"]),
        ("title pr", ["ada", "carol"]),
        ('title gt "b"', ["ada"]),
        ('title ge "principal engineer"', ["ada"]),
        ('title lt "B"', ["carol"]),
        ('title le "analyst"', ["carol"]),
    ],
)
def test_attribute_operator(scim, people, filter_text, expected):
    assert user_names(search(scim, filter_text)) == [f"{name}@contoso.com" for name in expected]


@pytest.mark.parametrize(
    ("filter_text", "expected"),
    [
        ('title pr and userName sw "c"', ["carol"]),
        ('userName eq "ada@contoso.com" or userName eq "carol@contoso.com"', ["ada", "carol"]),
        ("not (title pr)", ["bob"]),
        ('not (userName eq "ada@contoso.com") and title pr', ["carol"]),
        ('(userName eq "bob@contoso.com" or userName eq "ada@contoso.com") and title pr', ["ada"]),
        ('emails[type eq "home" and value sw "ada"]', ["ada", "bob"]),
        ('emails[type eq "work" and not (value sw "ada")]', ["bob", "carol"]),
    ],
)
def test_logical_operators_and_grouping(scim, people, filter_text, expected):
    assert user_names(search(scim, filter_text)) == [f"{name}@contoso.com" for name in expected]


def test_and_binds_tighter_than_or(scim, people):
    filter_text = 'userName eq "bob@contoso.com" or userName eq "ada@contoso.com" and title eq "nope"'
    assert user_names(search(scim, filter_text)) == ["bob@contoso.com"]


def test_user_name_comparison_ignores_case(scim, people):
    assert user_names(search(scim, 'userName eq "ADA@Contoso.COM"')) == ["ada@contoso.com"]


def test_work_email_comparison_ignores_case(scim, people):
    filter_text = 'emails[type eq "WORK"].value eq "ADA@CONTOSO.COM"'
    assert user_names(search(scim, filter_text)) == ["ada@contoso.com"]


def test_attribute_names_and_operators_ignore_case(scim, people):
    assert user_names(search(scim, 'USERNAME EQ "ada@contoso.com"')) == ["ada@contoso.com"]


def test_external_id_is_case_exact(scim, people):
    assert user_names(search(scim, 'externalId eq "EXT-FULL-1"')) == []


def test_quoted_keyword_is_a_string_not_a_literal(scim, create_user):
    create_user("jnull@contoso.com", name={"givenName": "Jennifer", "familyName": "Null"})
    assert user_names(search(scim, 'name.familyName eq "null"')) == ["jnull@contoso.com"]


def test_escaped_quote_in_string_value(scim, create_user):
    create_user("q@contoso.com", title='The "Boss"')
    assert user_names(search(scim, r'title eq "the \"boss\""')) == ["q@contoso.com"]


def test_filter_with_plus_and_percent_22_encoding(scim, people):
    response = scim.get("/Users?filter=userName+eq+%22ada@contoso.com%22")
    assert user_names(response) == ["ada@contoso.com"]


def test_filter_with_literal_quotes(scim, people):
    response = scim.get('/Users?filter=externalId eq "ext-Full-1"')
    assert user_names(response) == ["ada@contoso.com"]


@pytest.mark.parametrize(
    "path",
    [
        "/Users?aadOptscim062020&filter=userName+eq+%22ada@contoso.com%22",
        "/Users?filter=userName+eq+%22ada@contoso.com%22&aadOptscim062020",
        "/Users?filter=userName+eq+%22ada@contoso.com%22&ADSCIMVersion=5.0&sortBy=userName",
    ],
)
def test_unknown_query_parameters_are_ignored(scim, people, path):
    assert user_names(scim.get(path)) == ["ada@contoso.com"]


@pytest.fixture
def team(create_user):
    boss = create_user("boss@contoso.com")
    report = create_user("report@contoso.com", **{ENTERPRISE: {"manager": {"value": boss["id"]}}})
    create_user("loner@contoso.com")
    return boss, report


def test_manager_eq_finds_direct_reports(scim, team):
    boss, _ = team
    assert user_names(search(scim, f'manager eq "{boss["id"]}"')) == ["report@contoso.com"]


def test_enterprise_manager_value_eq_finds_direct_reports(scim, team):
    boss, _ = team
    filter_text = f'{ENTERPRISE}:manager.value eq "{boss["id"]}"'
    assert user_names(search(scim, filter_text)) == ["report@contoso.com"]


def test_historical_manager_check_query_with_bare_guids(scim, team):
    boss, report = team
    path = f"/Users?filter=id eq {report['id'].upper()} and manager eq {boss['id'].upper()}&attributes=id"
    response = scim.get(path)
    assert response.status_code == 200
    assert response.body == {
        "schemas": [LIST_RESPONSE],
        "totalResults": 1,
        "itemsPerPage": 1,
        "startIndex": 1,
        "Resources": [{"schemas": [USER], "id": report["id"]}],
    }


def test_historical_manager_check_query_with_other_manager_is_empty(scim, team):
    boss, report = team
    response = search(scim, f"id eq {report['id']} and manager eq {report['id']}", "&attributes=id")
    assert response.body["totalResults"] == 0


@pytest.fixture
def modified(people):
    """Known lastModified values; Ada's has microseconds beyond the rendered milliseconds."""
    moments = {
        "carol": datetime(2024, 4, 1, tzinfo=UTC),
        "ada": datetime(2024, 5, 1, 10, 0, 0, 123456, tzinfo=UTC),
        "bob": datetime(2024, 6, 1, tzinfo=UTC),
    }
    for name, moment in moments.items():
        WorkAccount.objects.filter(pk=people[name]["id"]).update(updated_at=moment)
    return people


def test_last_modified_is_rendered_to_the_millisecond(scim, modified):
    response = scim.get(f"/Users/{modified['ada']['id']}")
    assert response.body["meta"]["lastModified"] == "2024-05-01T10:00:00.123Z"


@pytest.mark.parametrize(
    ("op", "expected"),
    [
        ("gt", ["ada", "bob"]),
        ("ge", ["ada", "bob"]),
        ("lt", ["carol"]),
        ("le", ["carol"]),
    ],
)
def test_last_modified_compares_chronologically(scim, modified, op, expected):
    response = search(scim, f'meta.lastModified {op} "2024-05-01T10:00:00Z"')
    assert sorted(user_names(response)) == [f"{name}@contoso.com" for name in expected]


@pytest.mark.parametrize(
    ("op", "expected"),
    [
        ("gt", ["bob"]),
        ("ge", ["ada", "bob"]),
        ("lt", ["carol"]),
        ("le", ["ada", "carol"]),
        ("eq", ["ada"]),
        ("ne", ["bob", "carol"]),
    ],
)
def test_last_modified_compares_with_a_value_read_back(scim, modified, op, expected):
    response = search(scim, f'meta.lastModified {op} "2024-05-01T10:00:00.123Z"')
    assert sorted(user_names(response)) == [f"{name}@contoso.com" for name in expected]


def test_last_modified_with_utc_offset(scim, modified):
    response = search(scim, 'meta.lastModified gt "2024-05-01T12:00:00.500+02:00"')
    assert user_names(response) == ["bob@contoso.com"]


def test_unknown_attribute_is_invalid_filter(scim, people):
    response = search(scim, 'nosuch eq "x"')
    assert response.status_code == 400
    assert response.body == invalid_filter(
        "The filter uses 'nosuch', which is not a filterable attribute of User."
    )


def test_unknown_attribute_inside_and_is_invalid_filter(scim, people):
    response = search(scim, 'userName eq "a" and nosuch eq "b"')
    assert response.status_code == 400
    assert response.body == invalid_filter(
        "The filter uses 'nosuch', which is not a filterable attribute of User."
    )


@pytest.mark.parametrize(
    ("filter_text", "reason"),
    [
        ("userName eq", "it ends unexpectedly"),
        ('userName zz "a"', "unexpected 'zz'"),
        ('(userName eq "a"', "it ends unexpectedly"),
        ('userName eq "a")', "unexpected ')'"),
        ('userName eq "a" and', "it ends unexpectedly"),
        ('userName eq "a', "a string is not closed"),
        ('emails[type eq "work".value eq "a"', "unexpected '.value'"),
    ],
)
def test_bad_syntax_is_invalid_filter(scim, people, filter_text, reason):
    response = search(scim, filter_text)
    assert response.status_code == 400
    assert response.body == invalid_filter(f"The filter is not valid SCIM filter syntax: {reason}.")


def test_greater_than_on_boolean_is_invalid_filter(scim, people):
    response = search(scim, "active gt true")
    assert response.status_code == 400
    assert response.body == invalid_filter(
        "The filter cannot apply 'gt' to 'active' (a boolean: use eq or ne with true or false)."
    )


def test_impossible_date_is_invalid_filter(scim, people):
    response = search(scim, 'meta.lastModified gt "2024-13-45T00:00:00Z"')
    assert response.status_code == 400
    assert response.body == invalid_filter(
        "The filter compares 'meta.lastModified' with '2024-13-45T00:00:00Z', which is not a valid dateTime."
    )


def test_filter_never_returns_another_organizations_users(scim, other_scim, create_user):
    ours = create_user("ada@contoso.com", **ADA)
    create_user("ada@contoso.com", client=other_scim, **ADA)
    response = search(scim, 'emails[type eq "work"].value eq "ada@contoso.com" or externalId eq "ext-Full-1"')
    assert [resource["id"] for resource in response.body["Resources"]] == [ours["id"]]


def test_filter_never_returns_deleted_users(scim, people):
    assert scim.delete(f"/Users/{people['ada']['id']}").status_code == 204
    assert user_names(search(scim, 'userName sw "ada" or externalId eq "ext-Full-1"')) == []


def test_filter_returns_disabled_users_with_active_false(scim, people):
    disable = {"schemas": [PATCH_OP], "Operations": [{"op": "Replace", "path": "active", "value": False}]}
    scim.patch(f"/Users/{people['ada']['id']}", disable)
    response = search(scim, 'userName eq "ada@contoso.com"')
    assert [(r["id"], r["active"]) for r in response.body["Resources"]] == [(people["ada"]["id"], False)]


def test_multi_valued_match_returns_each_user_once(scim, people):
    response = search(scim, 'emails co "contoso.com"')
    assert response.body["totalResults"] == 3
    assert user_names(response) == ["ada@contoso.com", "bob@contoso.com", "carol@contoso.com"]
