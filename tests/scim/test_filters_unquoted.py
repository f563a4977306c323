"""
Unquoted filter values (issue 14): Microsoft's SCIM reference client and validator, Okta's
"SCIM 2.0 Test" suites run against generic servers and several SCIM libraries send `userName sw O`
or `meta.created gt 2015-10-10T14:38:21.8617979-07:00`. A bare word after a comparison operator
is a string (a bare RFC 3339 timestamp compares chronologically with a dateTime attribute); the
keywords, true/false/null and integers keep their meaning; what stays ambiguous stays a 400
invalidFilter. GET ?filter= and POST /.search alike.
"""

from datetime import datetime, timedelta, timezone
from urllib.parse import quote_plus

import pytest

from provisioning_logs.models import ProvisioningEvent


pytestmark = pytest.mark.django_db

LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
SEARCH_REQUEST = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"


def list_of(*resources) -> dict:
    return {
        "schemas": [LIST_RESPONSE],
        "totalResults": len(resources),
        "itemsPerPage": len(resources),
        "startIndex": 1,
        "Resources": list(resources),
    }


def invalid_filter(detail: str) -> dict:
    return {"schemas": [ERROR], "status": "400", "scimType": "invalidFilter", "detail": detail}


def syntax_error(reason: str) -> dict:
    return invalid_filter(f"The filter is not valid SCIM filter syntax: {reason}.")


def get_users(scim, filter_text: str):
    """GET /Users?filter=…, encoded as the clients do (spaces as +)."""
    return scim.get(f"/Users?filter={quote_plus(filter_text)}")


def search_users(scim, filter_text: str):
    return scim.post("/Users/.search", {"schemas": [SEARCH_REQUEST], "filter": filter_text})


@pytest.fixture
def people(create_user) -> dict:
    """Microsoft's validator data: two employees (one at example.org), one contractor."""
    return {
        "olivia": create_user(
            "Olivia.Employee@example.com",
            externalId="3f8a2b1c",
            name={"givenName": "Olivia", "familyName": "Employee"},
            emails=[{"type": "work", "value": "olivia@example.com", "primary": True}],
        ),
        "oscar": create_user(
            "oscar@example.org",
            externalId="12345",
            name={"givenName": "Oscar", "familyName": "Employee"},
            emails=[{"type": "work", "value": "oscar@example.org", "primary": True}],
        ),
        "bjensen": create_user(
            "bjensen@example.com",
            externalId="007",
            name={"givenName": "Barbara", "familyName": "Jensen"},
            emails=[{"type": "work", "value": "bjensen@example.net", "primary": True}],
        ),
    }


# Accepted: bare words as strings ------------------------------------------------------------------


def test_microsoft_reference_client_starts_with_bare_letter(scim, people):
    response = get_users(scim, "userName sw O")

    assert response.status_code == 200
    assert response.body == list_of(people["olivia"], people["oscar"])


def test_microsoft_validator_and_with_parenthesised_or_of_bare_domains(scim, people):
    response = get_users(
        scim, "name.familyName eq Employee and (emails.value co example.com or emails.value co example.org)"
    )

    assert response.status_code == 200
    assert response.body == list_of(people["olivia"], people["oscar"])


def test_generic_client_bare_email_address_equals(scim, people):
    response = get_users(scim, "userName eq bjensen@example.com")

    assert response.status_code == 200
    assert response.body == list_of(people["bjensen"])


def test_generic_client_bare_external_id_equals(scim, people):
    response = get_users(scim, "externalId eq 3f8a2b1c")

    assert response.status_code == 200
    assert response.body == list_of(people["olivia"])


def test_bare_integer_compares_with_a_string_attribute_as_its_digits(scim, people):
    response = get_users(scim, "externalId eq 12345")

    assert response.status_code == 200
    assert response.body == list_of(people["oscar"])


def test_bare_value_with_leading_zero_is_a_string(scim, people):
    response = get_users(scim, "externalId eq 007")

    assert response.status_code == 200
    assert response.body == list_of(people["bjensen"])


def test_bare_value_keeps_an_apostrophe_inside(scim, create_user):
    obrien = create_user("obrien@example.com", name={"givenName": "Conan", "familyName": "O'Brien"})

    response = get_users(scim, "name.familyName eq O'Brien")

    assert response.status_code == 200
    assert response.body == list_of(obrien)


def test_bare_non_ascii_value(scim, create_user):
    muller = create_user("mueller@example.com", name={"givenName": "Jörg", "familyName": "Müller"})

    response = get_users(scim, "name.familyName eq Müller")

    assert response.status_code == 200
    assert response.body == list_of(muller)


def test_bare_values_in_a_value_filter(scim, people):
    response = get_users(scim, "emails[type eq work and value ew example.net]")

    assert response.status_code == 200
    assert response.body == list_of(people["bjensen"])


def test_bare_value_ends_at_the_closing_bracket_before_a_sub_attribute(scim, people):
    response = get_users(scim, 'emails[type eq work].value eq "oscar@example.org"')

    assert response.status_code == 200
    assert response.body == list_of(people["oscar"])


def test_bare_and_quoted_values_mix(scim, people):
    response = get_users(scim, 'userName sw O and externalId eq "12345"')

    assert response.status_code == 200
    assert response.body == list_of(people["oscar"])


def test_search_request_with_bare_value(scim, people):
    response = search_users(scim, "userName sw O")

    assert response.status_code == 200
    assert response.body == list_of(people["olivia"], people["oscar"])


def test_groups_filter_with_bare_display_name(scim):
    sales = scim.post("/Groups", {"schemas": [GROUP], "displayName": "Sales"}).body
    scim.post("/Groups", {"schemas": [GROUP], "displayName": "Engineering"})

    response = scim.get("/Groups?filter=displayName+eq+Sales")

    assert response.status_code == 200
    assert response.body == list_of(sales)


def test_lookup_with_bare_value_records_the_looked_up_value(scim, people):
    assert get_users(scim, "userName eq bjensen@example.com").status_code == 200

    event = ProvisioningEvent.objects.order_by("id").last()
    assert (event.action, event.identity) == ("Lookup", "bjensen@example.com")


# Bare timestamps -----------------------------------------------------------------------------------


def test_microsoft_reference_client_bare_timestamp_with_seven_fraction_digits(scim, people):
    response = get_users(scim, "meta.created gt 2015-10-10T14:38:21.8617979-07:00")

    assert response.status_code == 200
    assert response.body == list_of(people["olivia"], people["oscar"], people["bjensen"])


def test_bare_timestamp_before_which_nobody_was_created(scim, people):
    response = get_users(scim, "meta.created lt 2015-10-10T14:38:21.8617979-07:00")

    assert response.status_code == 200
    assert response.body == list_of()


@pytest.mark.parametrize("op", ["ge", "le", "eq"])
def test_bare_timestamp_read_back_matches_its_resource(scim, people, op):
    created = people["oscar"]["meta"]["created"]  # e.g. 2026-12-01T18:55:08.123Z

    response = get_users(scim, f"meta.created {op} {created} and externalId eq 12345")

    assert response.status_code == 200
    assert response.body == list_of(people["oscar"])


def test_bare_timestamp_read_back_with_gt_excludes_its_resource(scim, people):
    created = people["bjensen"]["meta"]["created"]

    response = get_users(scim, f"meta.created gt {created}")

    assert response.status_code == 200
    assert response.body == list_of()


@pytest.mark.parametrize(
    "timestamp",
    [
        "2015-10-10T14:38:21Z",
        "2015-10-10t14:38:21z",
        "2015-10-10 14:38:21Z",
        "2015-10-10T14:38:21.1+00:00",
        "2015-10-10T14:38:21.123456789012-07:00",
    ],
    ids=["zulu", "lower-case", "space-separated", "one-digit-fraction", "twelve-digit-fraction"],
)
def test_bare_rfc3339_timestamp_forms(scim, people, timestamp):
    response = get_users(scim, f"meta.created gt {timestamp} and userName sw b")

    assert response.status_code == 200
    assert response.body == list_of(people["bjensen"])


def test_bare_timestamp_whose_plus_the_query_string_decoded_to_a_space(scim, people):
    # Sent unencoded: the "+" of "+07:00" reaches the server as a space (form decoding).
    response = scim.get("/Users?filter=meta.created+gt+2015-10-10T14:38:21+07:00+and+userName+sw+b")

    assert response.status_code == 200
    assert response.body == list_of(people["bjensen"])


def test_bare_timestamp_with_plus_offset_is_chronological(scim, people):
    created = datetime.fromisoformat(people["oscar"]["meta"]["created"].replace("Z", "+00:00"))
    # The same instant two hours east, e.g. 2026-12-01T20:55:08.123+02:00.
    shifted = created.astimezone(timezone(timedelta(hours=2))).isoformat(timespec="milliseconds")

    response = get_users(scim, f"meta.created eq {shifted}")

    assert response.status_code == 200
    assert response.body == list_of(people["oscar"])


def test_bare_impossible_timestamp_is_invalid_filter(scim, people):
    response = get_users(scim, "meta.created gt 2015-13-45T14:38:21Z")

    assert response.status_code == 400
    assert response.body == invalid_filter(
        "The filter compares 'meta.created' with '2015-13-45T14:38:21Z', which is not a valid dateTime."
    )


# Keywords keep their meaning -----------------------------------------------------------------------


def test_bare_true_stays_a_boolean_for_a_string_attribute(scim, people):
    response = get_users(scim, "userName eq true")

    assert response.status_code == 400
    assert response.body == invalid_filter(
        "The filter compares 'userName' with 'true', which is not a valid string."
    )


def test_bare_null_stays_null(scim, people):
    response = search_users(scim, "externalId eq null")

    assert response.status_code == 400
    assert response.body == invalid_filter(
        "The filter compares 'externalId' with 'null', which is not a valid string."
    )


def test_capitalised_true_is_the_boolean_literal(scim, people):
    scim.patch(
        f"/Users/{people['oscar']['id']}",
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "active", "value": False}],
        },
    )

    response = get_users(scim, "active eq True")

    assert response.status_code == 200
    assert response.body == list_of(people["olivia"], people["bjensen"])


@pytest.mark.parametrize("keyword", ["and", "or", "not", "pr", "co", "EQ"])
def test_bare_keyword_as_value_is_invalid_filter(scim, people, keyword):
    response = get_users(scim, f"userName eq {keyword}")

    assert response.status_code == 400
    assert response.body == syntax_error(f"unexpected {keyword!r}")


def test_quoted_keyword_is_still_a_string(scim, create_user):
    named_and = create_user("and")

    response = get_users(scim, 'userName eq "and"')

    assert response.status_code == 200
    assert response.body == list_of(named_and)


# Still ambiguous: 400 invalidFilter ----------------------------------------------------------------


def test_two_bare_words_are_invalid_filter(scim, people):
    response = get_users(scim, "name.familyName eq Barbara Jensen")

    assert response.status_code == 400
    assert response.body == syntax_error("unexpected 'Jensen'")


def test_single_quoted_value_is_invalid_filter(scim, people):
    response = search_users(scim, "userName eq 'bjensen@example.com'")

    assert response.status_code == 400
    assert response.body == syntax_error("Illegal character in filter query '''")


def test_bare_value_followed_by_a_quoted_string_is_invalid_filter(scim, people):
    response = get_users(scim, 'userName eq b"jensen"')

    assert response.status_code == 400
    assert response.body == syntax_error("unexpected '\"jensen\"'")


def test_operator_without_value_before_parenthesis_is_invalid_filter(scim, people):
    response = get_users(scim, "userName eq (x)")

    assert response.status_code == 400
    assert response.body == syntax_error("unexpected '('")


def test_bare_value_on_an_unknown_attribute_is_invalid_filter(scim, people):
    response = get_users(scim, "nosuch eq bjensen")

    assert response.status_code == 400
    assert response.body == invalid_filter(
        "The filter uses 'nosuch', which is not a filterable attribute of User."
    )
