"""
Passwords set over SCIM (POST, PUT, PATCH `password`) pass Django's password validators, like the
admin and command paths: a refused one is 400 invalidValue naming the rule, never echoing the
password, and the request changes nothing.
"""

import json
import uuid

import pytest
from django.test import Client

from accounts.models import WorkAccount
from provisioning_logs.models import ProvisioningEvent
from tests.conftest import entra_user


pytestmark = pytest.mark.django_db
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
STRONG = "Engines-of-1843!"
TOO_SHORT = (
    "This password is too short. It must contain at least 8 characters. This password is too common. "
    "This password is entirely numeric."
)


def refused(reasons: str) -> dict:
    return {
        "schemas": [ERROR],
        "status": "400",
        "scimType": "invalidValue",
        "detail": f"password does not meet the password policy: {reasons}",
    }


def signs_in(user_name: str, password: str) -> bool:
    return Client().login(username=user_name, password=password)


def patch_password(scim, user_id, value, **operation):
    body = {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "password", "value": value}]}
    body["Operations"][0].update(operation)
    return scim.patch(f"/Users/{user_id}", body)


def test_post_with_a_one_character_password_is_refused_and_creates_nothing(scim):
    answer = scim.post("/Users", entra_user("ada@contoso.com", password="1"))
    assert (answer.status_code, answer.body) == (400, refused(TOO_SHORT))
    assert not WorkAccount.objects.filter(user_name="ada@contoso.com").exists()


def test_post_with_a_common_password_names_the_rule(scim):
    answer = scim.post("/Users", entra_user("ada@contoso.com", password="password123"))
    assert (answer.status_code, answer.body) == (400, refused("This password is too common."))


def test_post_with_a_password_like_the_user_name_is_refused(scim):
    answer = scim.post("/Users", entra_user("margaret.hamilton@contoso.com", password="margaret.hamilton"))
    assert (answer.status_code, answer.body) == (400, refused("The password is too similar to the userName."))


def test_post_with_a_strong_password_signs_in_with_it(scim):
    assert scim.post("/Users", entra_user("ada@contoso.com", password=STRONG)).status_code == 201
    assert signs_in("ada@contoso.com", STRONG)


def test_patch_with_a_numeric_password_is_refused_and_the_old_one_still_works(scim, create_user):
    user = create_user("ada@contoso.com", password=STRONG)
    answer = patch_password(scim, user["id"], "83917362")
    assert (answer.status_code, answer.body) == (400, refused("This password is entirely numeric."))
    assert signs_in("ada@contoso.com", STRONG)
    assert not signs_in("ada@contoso.com", "83917362")
    assert WorkAccount.objects.get(pk=user["id"]).version == 1


def test_patch_with_a_pathless_weak_password_is_refused(scim, create_user):
    user = create_user("ada@contoso.com")
    body = {"schemas": [PATCH_OP], "Operations": [{"op": "Replace", "value": {"password": "1"}}]}
    answer = scim.patch(f"/Users/{user['id']}", body)
    assert (answer.status_code, answer.body) == (400, refused(TOO_SHORT))


def test_patch_with_a_weak_password_changes_nothing_else_of_the_request(scim, create_user):
    user = create_user("ada@contoso.com")
    body = {
        "schemas": [PATCH_OP],
        "Operations": [
            {"op": "replace", "path": "displayName", "value": "Ada"},
            {"op": "replace", "path": "password", "value": "1"},
        ],
    }
    assert scim.patch(f"/Users/{user['id']}", body).status_code == 400
    assert WorkAccount.objects.get(pk=user["id"]).display_name is None


def test_patch_with_a_strong_password_sets_it(scim, create_user):
    user = create_user("ada@contoso.com")
    assert patch_password(scim, user["id"], STRONG).status_code == 200
    assert signs_in("ada@contoso.com", STRONG)


def test_put_with_a_common_password_is_refused_and_changes_nothing(scim, create_user):
    user = create_user("ada@contoso.com", password=STRONG)
    body = entra_user("ada@contoso.com", password="qwerty123", displayName="Ada Lovelace")
    answer = scim.put(f"/Users/{user['id']}", body)
    assert (answer.status_code, answer.body) == (400, refused("This password is too common."))
    account = WorkAccount.objects.get(pk=user["id"])
    assert (account.display_name, account.version) == (None, 1)
    assert signs_in("ada@contoso.com", STRONG)


def test_refused_password_is_echoed_neither_in_the_answer_nor_in_the_log(scim, create_user):
    user = create_user("ada@contoso.com")
    secret = "ada@contoso.com-1"  # too similar to the userName, and easy to search for
    answer = patch_password(scim, user["id"], secret)
    assert answer.status_code == 400
    assert secret not in answer.raw_content.decode()
    event = ProvisioningEvent.objects.order_by("-pk").first()
    assert (event.status, event.http_status) == ("Failure", 400)
    stored = json.dumps([event.detail, event.request_body, event.modified_properties])
    assert secret not in stored


def test_service_provider_config_still_offers_change_password(scim):
    assert scim.get("/ServiceProviderConfig").body["changePassword"] == {"supported": True}


def test_a_random_password_beside_a_random_nick_name_is_accepted(scim):
    # Django's own check (quick_ratio) refuses about a third of such pairs of unrelated ids.
    pairs = [(str(uuid.uuid4()), str(uuid.uuid4())) for _ in range(20)]
    for number, (password, nick_name) in enumerate(pairs):
        body = entra_user(f"user{number}@contoso.com", password=password, nickName=nick_name)
        assert scim.post("/Users", body).status_code == 201
