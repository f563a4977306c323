"""HTTP-level behaviour of /Users: conditional GET and database outages."""

import pytest
from django.db import OperationalError
from django_scim.settings import scim_settings

from scim import constants


pytestmark = pytest.mark.django_db


def test_get_with_matching_if_none_match_returns_304_without_body(scim, create_user):
    created = create_user()
    response = scim.get(f"/Users/{created['id']}", headers={"If-None-Match": 'W/"1"'})
    assert response.status_code == 304
    assert response.content == b""
    assert response["ETag"] == 'W/"1"'


def test_get_with_stale_if_none_match_returns_the_resource(scim, create_user):
    created = create_user()
    response = scim.get(f"/Users/{created['id']}", headers={"If-None-Match": 'W/"0"'})
    assert response.status_code == 200
    assert response.body == created


def test_database_outage_returns_503_with_retry_after_and_no_database_text(scim, monkeypatch):
    def unreachable(*args, **kwargs):
        raise OperationalError('connection to server at "10.1.2.3" failed: secret detail')

    # The organization scope (django-scim2's GET_EXTRA_MODEL_FILTER_KWARGS_GETTER) meets the outage.
    monkeypatch.setattr(scim_settings, "GET_EXTRA_MODEL_FILTER_KWARGS_GETTER", lambda model: unreachable)

    response = scim.get("/Users")

    assert response.status_code == 503
    assert response["Retry-After"] == "60"
    assert response.body == {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
        "status": "503",
        "detail": constants.UNAVAILABLE,
    }
