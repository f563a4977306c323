"""
meta.location and $ref paths are built from reverse()'s path split where the id goes, once per URL
name, script prefix and URLconf: they must be exactly what reverse() gives for every id.
"""

import pytest
from django.urls import clear_script_prefix, reverse, set_script_prefix

from accounts.sso.locations import portal_base
from scim.locations import resource_location


URL_NAMES = ["scim:users", "scim:groups", "scim:resource-types", "scim:schemas"]
IDS = [
    "3f1c2b9e-1111-2222-3333-444455556666",
    "User",
    "urn:ietf:params:scim:schemas:core:2.0:User",
    "a b?c#d%e&f",
    "ümlaut",
]


@pytest.mark.parametrize("url_name", URL_NAMES)
@pytest.mark.parametrize("resource_id", IDS)
def test_a_location_is_what_reverse_gives(url_name, resource_id):
    expected = portal_base(None) + reverse(url_name, kwargs={"uuid": resource_id})
    assert resource_location(None, url_name, resource_id) == expected


def test_a_location_follows_the_script_prefix_of_the_request():
    set_script_prefix("/portal/")
    try:
        location = resource_location(None, "scim:users", "3f1c2b9e-1111-2222-3333-444455556666")
    finally:
        clear_script_prefix()
    assert location == portal_base(None) + "/portal/scim/v2/Users/3f1c2b9e-1111-2222-3333-444455556666"
