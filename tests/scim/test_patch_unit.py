"""scim.paths.parse_path and scim.patch.apply_patch on in-memory documents (no database)."""

import copy

import pytest

from scim.errors import ScimError
from scim.patch import apply_patch
from scim.paths import parse_path
from scim.schema import USER_RESOURCE


ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
MANAGER_ID = "2c2f6fb8-254f-492e-b7fe-c09c5a61c8a2"
RESOURCE_ID = "9f7c1e43-3f8e-4c55-9d57-0e3f4cf5bd2a"
DOCUMENT = {
    "userName": "alice@contoso.com",
    "name": {"givenName": "Alice", "familyName": "Smith"},
    "active": True,
    "emails": [
        {"value": "alice@contoso.com", "type": "work", "primary": True},
        {"value": "alice@example.com", "type": "home", "primary": False},
    ],
}


def apply(*operations, document=None) -> dict:
    return apply_patch(document or DOCUMENT, list(operations), USER_RESOURCE, resource_id=RESOURCE_ID)


def rejected(*operations, document=None) -> ScimError:
    with pytest.raises(ScimError) as raised:
        apply(*operations, document=document)
    return raised.value


# parse_path --------------------------------------------------------------------------------------


def test_parse_path_resolves_core_attribute_case_insensitively():
    path = parse_path("USERNAME", USER_RESOURCE)

    assert (path.attribute.name, path.extension, path.sub_attribute) == ("userName", None, None)


def test_parse_path_resolves_sub_attribute():
    path = parse_path("name.givenName", USER_RESOURCE)

    assert (path.attribute.name, path.sub_attribute.name) == ("name", "givenName")


def test_parse_path_does_not_split_extension_urn_on_its_dot():
    path = parse_path(f"{ENTERPRISE}:department", USER_RESOURCE)

    assert (path.attribute.name, path.extension, path.sub_attribute) == ("department", ENTERPRISE, None)


def test_parse_path_matches_extension_urn_case_insensitively():
    path = parse_path(f"{ENTERPRISE.upper()}:Department", USER_RESOURCE)

    assert (path.attribute.name, path.extension) == ("department", ENTERPRISE)


def test_parse_path_extension_urn_alone_names_the_whole_extension():
    path = parse_path(ENTERPRISE, USER_RESOURCE)

    assert (path.attribute, path.extension) == (None, ENTERPRISE)


def test_parse_path_accepts_core_urn_prefix():
    path = parse_path("urn:ietf:params:scim:schemas:core:2.0:User:name.familyName", USER_RESOURCE)

    assert (path.attribute.name, path.extension, path.sub_attribute.name) == ("name", None, "familyName")


def test_parse_path_resolves_bare_manager_to_the_enterprise_extension():
    path = parse_path("manager", USER_RESOURCE)

    assert (path.attribute.name, path.extension) == ("manager", ENTERPRISE)


def test_parse_path_parses_value_filter_and_sub_attribute():
    path = parse_path('emails[type eq "work"].value', USER_RESOURCE)

    assert (path.attribute.name, path.sub_attribute.name) == ("emails", "value")
    assert path.value_filter is not None


def test_parse_path_allows_closing_bracket_inside_filter_string():
    path = parse_path('emails[value eq "a]b.c"].display', USER_RESOURCE)

    assert path.sub_attribute.name == "display"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "emails[",
        'emails[type eq "work"',
        "emails[]",
        "name.",
        ".name",
        "name..givenName",
        "name.givenName.x",
        'userName[type eq "work"]',
        'emails[type eq "work"] .value',
    ],
)
def test_parse_path_rejects_malformed_paths_as_invalid_path(text):
    with pytest.raises(ScimError) as raised:
        parse_path(text, USER_RESOURCE)

    assert (raised.value.status, raised.value.scim_type) == (400, "invalidPath")


@pytest.mark.parametrize(
    "text", ["favouriteColour", "name.nickname", "urn:example:custom:2.0:User:x", "schemas", "members"]
)
def test_parse_path_rejects_unknown_attributes_as_invalid_path(text):
    with pytest.raises(ScimError) as raised:
        parse_path(text, USER_RESOURCE)

    assert (raised.value.scim_type, raised.value.detail) == (
        "invalidPath",
        f"'{text}' is not an attribute of the User resource.",
    )


def test_parse_path_rejects_invalid_value_filter_as_invalid_path():
    with pytest.raises(ScimError) as raised:
        parse_path("emails[type eq 'work']", USER_RESOURCE)

    assert raised.value.scim_type == "invalidPath"
    assert raised.value.detail.startswith("The filter in 'emails[type eq 'work']' is not valid: ")


# apply_patch: the Entra dialect ------------------------------------------------------------------


@pytest.mark.parametrize("op", ["Replace", "replace", "REPLACE"])
def test_apply_patch_accepts_op_in_any_case(op):
    assert apply({"op": op, "path": "displayName", "value": "Al"})["displayName"] == "Al"


def test_apply_patch_accepts_capitalised_operation_keys():
    assert apply({"Op": "Add", "Path": "nickName", "Value": "Babs"})["nickName"] == "Babs"


def test_apply_patch_keeps_string_booleans_for_the_document_to_coerce():
    assert apply({"op": "Replace", "path": "active", "value": "False"})["active"] == "False"


def test_apply_patch_pathless_dotted_and_urn_keys_set_attributes():
    result = apply(
        {
            "op": "replace",
            "value": {
                "displayName": "Bjfe",
                "name.givenName": "Kkom",
                f"{ENTERPRISE}:employeeNumber": "Aklq",
            },
        }
    )

    assert result["displayName"] == "Bjfe"
    assert result["name"] == {"givenName": "Kkom", "familyName": "Smith"}
    assert result[ENTERPRISE] == {"employeeNumber": "Aklq"}
    assert "name.givenName" not in result


def test_apply_patch_pathless_extension_object_sets_its_attributes():
    result = apply({"op": "add", "value": {ENTERPRISE: {"Department": "Retail", "manager": MANAGER_ID}}})

    assert result[ENTERPRISE] == {"department": "Retail", "manager": {"value": MANAGER_ID}}


def test_apply_patch_pathless_skips_schemas_meta_and_own_id():
    result = apply({"op": "replace", "value": {"schemas": [], "meta": {}, "id": RESOURCE_ID, "title": "CTO"}})

    assert result == {**DOCUMENT, "title": "CTO"}


def test_apply_patch_value_path_replace_creates_missing_element():
    result = apply({"op": "Replace", "path": 'addresses[type eq "work"].formatted', "value": "18/2111"})

    assert result["addresses"] == [{"type": "work", "formatted": "18/2111"}]


def test_apply_patch_pathless_value_path_keys_upsert_elements():
    result = apply(
        {
            "op": "replace",
            "value": {
                'emails[type eq "work"].value': "z@x.com",
                'phoneNumbers[type eq "mobile"].value': "123",
            },
        }
    )

    assert result["emails"][0] == {"value": "z@x.com", "type": "work", "primary": True}
    assert result["phoneNumbers"] == [{"type": "mobile", "value": "123"}]


def test_apply_patch_value_path_upsert_copies_the_filter_literal():
    result = apply({"op": "Add", "path": 'roles[primary eq "True"].value', "value": "Admin"})

    assert result["roles"] == [{"primary": "True", "value": "Admin"}]


def test_apply_patch_two_value_path_adds_fill_one_element():
    result = apply(
        {"op": "Add", "path": 'addresses[type eq "work"].streetAddress', "value": "1 Way"},
        {"op": "Add", "path": 'addresses[type eq "work"].locality', "value": "Redmond"},
    )

    assert result["addresses"] == [{"type": "work", "streetAddress": "1 Way", "locality": "Redmond"}]


def test_apply_patch_value_path_matches_case_insensitively():
    result = apply({"op": "Replace", "path": 'emails[type eq "WORK"].value', "value": "new@contoso.com"})

    assert result["emails"][0] == {"value": "new@contoso.com", "type": "work", "primary": True}


@pytest.mark.parametrize(
    "value",
    [
        MANAGER_ID,
        {"value": MANAGER_ID},
        [{"$ref": f"https://example.com/scim/Users/{MANAGER_ID}", "value": MANAGER_ID}],
    ],
    ids=["bare-id", "value-object", "ref-list"],
)
def test_apply_patch_normalises_every_manager_shape(value):
    result = apply({"op": "Add", "path": f"{ENTERPRISE}:manager", "value": value})

    assert result[ENTERPRISE] == {"manager": {"value": MANAGER_ID}}


def test_apply_patch_keeps_the_manager_reference_exactly_as_sent():
    # The service links a padded id to its account; a reference it cannot link is kept as sent.
    result = apply({"op": "Add", "path": f"{ENTERPRISE}:manager", "value": f" {MANAGER_ID} "})

    assert result[ENTERPRISE] == {"manager": {"value": f" {MANAGER_ID} "}}


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "Replace", "path": f"{ENTERPRISE}:manager", "value": ""},
        {"op": "replace", "path": f"{ENTERPRISE}:manager", "value": {"value": ""}},
        {"op": "replace", "path": f"{ENTERPRISE}:manager", "value": []},
        {"op": "remove", "path": "manager"},
    ],
    ids=["empty-string", "empty-value-object", "empty-list", "remove"],
)
def test_apply_patch_manager_removal_shapes_remove_it(operation):
    document = {**DOCUMENT, ENTERPRISE: {"department": "Retail", "manager": {"value": MANAGER_ID}}}

    assert apply(operation, document=document)[ENTERPRISE] == {"department": "Retail"}


def test_apply_patch_keeps_stringified_role_value_as_sent():
    role = '{"id":"06b07648","value":"25","displayName":"Role1234"}'

    assert apply({"op": "Add", "path": "roles", "value": [{"value": role}]})["roles"] == [{"value": role}]


# apply_patch: RFC 7644 §3.5.2 --------------------------------------------------------------------


def test_apply_patch_does_not_modify_the_given_document():
    original = copy.deepcopy(DOCUMENT)

    apply({"op": "remove", "path": "emails"}, {"op": "replace", "path": "name.givenName", "value": "Al"})

    assert original == DOCUMENT


def test_apply_patch_error_in_a_later_operation_raises_before_returning_anything():
    error = rejected(
        {"op": "replace", "path": "displayName", "value": "Al"}, {"op": "replace", "path": "id", "value": "x"}
    )

    assert (error.status, error.scim_type) == (400, "mutability")


def test_apply_patch_add_to_multi_valued_skips_duplicates():
    result = apply({"op": "add", "path": "emails", "value": [{"value": "alice@example.com", "type": "home"}]})

    assert result["emails"] == DOCUMENT["emails"]


def test_apply_patch_readding_the_primary_value_keeps_it_primary():
    result = apply({"op": "add", "path": "emails", "value": [DOCUMENT["emails"][0]]})

    assert result["emails"] == DOCUMENT["emails"]


def test_apply_patch_new_primary_value_demotes_the_old_one():
    result = apply(
        {"op": "add", "path": "emails", "value": [{"value": "a@x.com", "type": "other", "primary": "True"}]}
    )

    assert [e["primary"] for e in result["emails"]] == [False, False, "True"]


def test_apply_patch_leaves_two_written_primaries_for_validation_to_reject():
    emails = [{"value": "a@x.com", "primary": True}, {"value": "b@x.com", "primary": True}]

    assert apply({"op": "replace", "path": "emails", "value": emails})["emails"] == emails


def test_apply_patch_remove_with_value_filter_drops_matching_elements():
    result = apply({"op": "remove", "path": 'emails[type eq "home"]'})

    assert result["emails"] == [DOCUMENT["emails"][0]]


def test_apply_patch_remove_of_last_element_drops_the_attribute():
    result = apply({"op": "remove", "path": 'emails[value co "alice"]'})

    assert "emails" not in result


def test_apply_patch_remove_sub_attribute():
    assert apply({"op": "remove", "path": "name.givenName"})["name"] == {"familyName": "Smith"}


def test_apply_patch_remove_without_path_is_no_target():
    error = rejected({"op": "remove"})

    assert (error.status, error.scim_type) == (400, "noTarget")


def test_apply_patch_unknown_op_is_invalid_syntax():
    assert rejected({"op": "copy", "path": "title", "value": "x"}).scim_type == "invalidSyntax"


@pytest.mark.parametrize("path", ["id", "meta", "meta.lastModified", f"{ENTERPRISE}:manager.displayName"])
def test_apply_patch_read_only_path_is_mutability(path):
    assert rejected({"op": "replace", "path": path, "value": "x"}).scim_type == "mutability"


def test_apply_patch_pathless_other_id_is_mutability():
    assert rejected({"op": "replace", "value": {"id": "another"}}).scim_type == "mutability"


def test_apply_patch_required_attribute_cannot_be_removed():
    assert rejected({"op": "remove", "path": "userName"}).scim_type == "invalidValue"


def test_value_filter_and_binds_tighter_than_or():
    """RFC 7644 §3.4.2.2: `a or b and c` is `a or (b and c)`."""
    document = {
        "userName": "u",
        "emails": [{"type": "work", "value": "w@x.com"}, {"type": "home", "value": "h@x.com"}],
    }
    path = 'emails[type eq "work" or type eq "home" and value eq "nobody@x.com"]'

    patched = apply_patch(document, [{"op": "remove", "path": path}], USER_RESOURCE)

    assert patched["emails"] == [{"type": "home", "value": "h@x.com"}]


def test_value_filter_reads_escaped_quotes_in_values():
    document = {"userName": "u", "emails": [{"type": 'say "hi"', "value": "q@x.com"}]}

    patched = apply_patch(
        document,
        [{"op": "replace", "path": 'emails[type eq "say \\"hi\\""].value', "value": "r@x.com"}],
        USER_RESOURCE,
    )

    assert patched["emails"] == [{"type": 'say "hi"', "value": "r@x.com"}]


def test_patched_document_leaves_the_document_it_was_given_untouched():
    from scim.adapters.patching import PatchHandlers

    class Handlers(PatchHandlers):
        patch_resource_type = USER_RESOURCE

    document = {
        "userName": "ada@contoso.com",
        "name": {"givenName": "Ada"},
        "roles": [{"value": "Reader", "primary": True}],
        "emails": [{"value": "ada@contoso.com", "type": "work", "primary": True}],
    }
    before = copy.deepcopy(document)
    operations = [
        {"op": "replace", "path": "name.givenName", "value": "Augusta"},
        {"op": "replace", "path": 'roles[value eq "Reader"].value', "value": "Writer"},
        {"op": "replace", "path": 'emails[type eq "work"].value', "value": "augusta@contoso.com"},
    ]

    patched = Handlers().patched_document(document, operations, "6f1c1e9a-0000-4000-8000-000000000001")

    assert document == before
    assert (patched["name"]["givenName"], patched["roles"][0]["value"], patched["emails"][0]["value"]) == (
        "Augusta",
        "Writer",
        "augusta@contoso.com",
    )
