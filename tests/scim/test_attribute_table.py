"""
One rule in one place: accounts.attributes.SIMPLE_ATTRIBUTES is the only mapping between SCIM names
and work-account fields. Each row is read back through the four places that use it: the document
builder, the PATCH engine (with its schema), the filter compiler and the log's modified properties,
and a row added to the table appears in all four.
"""

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from accounts.attributes import SIMPLE_ATTRIBUTES, AccountAttributes, SimpleAttribute
from scim.events import scim_attribute_name
from scim.filters import compile_filter
from scim.patch import apply_patch
from scim.schema import USER_RESOURCE
from scim.users.document import ENTERPRISE, from_document, to_document
from scim.users.filters import USER_FILTER_SPEC


ROWS = [pytest.param(row, id=row.field) for row in SIMPLE_ATTRIBUTES]


def _path(row: SimpleAttribute) -> str:
    return f"{ENTERPRISE}:{row.name}" if row.enterprise else row.name


def _document_value(document: dict, row: SimpleAttribute):
    container = document.get(ENTERPRISE, {}) if row.enterprise else document
    parent, _, sub = row.name.partition(".")
    return container.get(parent, {}).get(sub) if sub else container.get(parent)


@pytest.mark.parametrize("row", ROWS)
def test_the_document_builder_renders_and_reads_the_table_row(row):
    attributes = dataclasses.replace(AccountAttributes(user_name="ada@contoso.com"), **{row.field: "X-1"})

    document = to_document(attributes)

    assert _document_value(document, row) == "X-1"
    assert getattr(from_document(document), row.field) == "X-1"


@pytest.mark.parametrize("row", ROWS)
def test_the_patch_engine_replaces_the_table_row_by_its_scim_path(row):
    document = to_document(AccountAttributes(user_name="ada@contoso.com"))
    operations = [{"op": "replace", "path": _path(row), "value": "X-2"}]

    patched = apply_patch(document, operations, USER_RESOURCE)

    assert getattr(from_document(patched), row.field) == "X-2"


@pytest.mark.parametrize("row", ROWS)
def test_the_filter_compiler_compares_the_table_rows_field(row):
    condition = compile_filter(f'{_path(row)} eq "X-3"', USER_FILTER_SPEC)

    lookup, value = condition.children[0]
    assert lookup.split("__")[0] == row.field
    assert value == "X-3"


@pytest.mark.parametrize("row", ROWS)
def test_the_log_names_a_changed_field_as_the_table_row_does(row):
    assert scim_attribute_name(row.field) == row.name


def test_a_row_added_to_the_table_reaches_the_schema_document_patch_filters_and_log():
    # A fresh interpreter whose table has one more row, and nothing else changed.
    result = subprocess.run(
        [sys.executable, "-c", _WITH_A_NEW_ROW],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parents[2],
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test"},
    )

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1]) == {
        "schema": True,
        "document": {"badgeNumber": "B-7"},
        "patched": "B-8",
        "filter": "badge_number",
        "log": "badgeNumber",
    }


_WITH_A_NEW_ROW = """
import importlib.util, json, sys
from pathlib import Path

source = Path("accounts/attributes.py").read_text().replace(
    "SIMPLE_FIELDS = tuple(",
    "SIMPLE_ATTRIBUTES += (SimpleAttribute('badge_number', 'badgeNumber', enterprise=True),)\\n"
    "SIMPLE_FIELDS = tuple(",
    1,
)
spec = importlib.util.spec_from_loader("accounts.attributes", loader=None)
module = importlib.util.module_from_spec(spec)
sys.modules["accounts.attributes"] = module
exec(compile(source, "accounts/attributes.py", "exec"), module.__dict__)

import django
django.setup()

from scim.events import scim_attribute_name
from scim.filters import compile_filter
from scim.patch import apply_patch
from scim.schema import ENTERPRISE_USER, USER_RESOURCE
from scim.users.document import ENTERPRISE, from_document, to_document
from scim.users.filters import USER_FILTER_SPEC

document = to_document(module.AccountAttributes(user_name="ada@contoso.com", badge_number="B-7"))
patched = apply_patch(document, [{"op": "replace", "path": "badgeNumber", "value": "B-8"}], USER_RESOURCE)
condition = compile_filter(ENTERPRISE + ':badgeNumber eq "B-7"', USER_FILTER_SPEC)
print(json.dumps({
    "schema": "badgeNumber" in [a.name for a in ENTERPRISE_USER.attributes],
    "document": document[ENTERPRISE],
    "patched": from_document(patched).badge_number,
    "filter": condition.children[0][0].split("__")[0],
    "log": scim_attribute_name("badge_number"),
}))
"""
