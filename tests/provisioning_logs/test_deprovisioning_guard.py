"""
The mass-deprovisioning guard: once a run of disables and deletes has applied more of the
organization's accounts than the connection allows, further ones are held (503 with Retry-After,
so Entra retries them) until an admin approves or discards them. The accounts service asks the
guard on the actual change, so every request shape that disables is held, and nothing that does
not change an account is held or counted.
"""

import threading
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection as database
from django.utils import timezone

from accounts.models import OrganizationRole, WorkAccount
from provisioning_logs.guard import HELD, guard_limit, staged_decide
from provisioning_logs.health import health_of
from provisioning_logs.models import (
    ConnectionHealth,
    DeprovisioningWindow,
    OutboxMessage,
    ProvisioningEvent,
    StagedDeprovisioning,
    StagedStatus,
)
from tests.conftest import ScimClient


pytestmark = pytest.mark.django_db
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User"
DISABLE = {"schemas": [PATCH_OP], "Operations": [{"op": "Replace", "path": "active", "value": "False"}]}


def held_body(done=2, total=10, limit=2) -> dict:
    return {
        "schemas": [ERROR],
        "status": "503",
        "detail": HELD.format(done=done, total=total, limit=limit, organization="Contoso"),
    }


def patch_of(*operations) -> dict:
    return {"schemas": [PATCH_OP], "Operations": list(operations)}


@pytest.fixture
def ten_accounts(scim, create_user, make_account, organization):
    make_account("admin@contoso.com", organization=organization, role=OrganizationRole.ADMIN)
    return [create_user(f"user{number}@contoso.com")["id"] for number in range(9)]


def set_guard(organization, *, count=None, percent=None):
    connection = organization.connections.get()
    health = health_of(connection)
    health.guard_count, health.guard_percent = count, percent
    health.save()
    return connection


@pytest.fixture
def guarded(scim, ten_accounts, organization):
    return set_guard(organization, count=2)


@pytest.fixture
def limit_reached(scim, ten_accounts, guarded):
    """Two accounts disabled: the limit of 2 is reached; ten_accounts[2:] are still active."""
    for user in ten_accounts[:2]:
        assert scim.patch(f"/Users/{user}", DISABLE).status_code == 200
    return ten_accounts[2:]


def is_active(account_id) -> bool | None:
    return WorkAccount.objects.get(pk=account_id).is_active


def test_guard_is_off_by_default(scim, ten_accounts):
    statuses = [scim.patch(f"/Users/{user}", DISABLE).status_code for user in ten_accounts]
    assert statuses == [200] * 9


def test_disables_beyond_the_limit_are_held_with_503_and_retry_after(scim, ten_accounts, guarded):
    answers = [scim.patch(f"/Users/{user}", DISABLE) for user in ten_accounts[:4]]
    assert [answer.status_code for answer in answers] == [200, 200, 503, 503]
    assert answers[2].headers["Retry-After"] == "3600"
    assert answers[2].body == held_body()
    assert [is_active(user) for user in ten_accounts[2:4]] == [True, True]
    assert StagedDeprovisioning.objects.filter(status=StagedStatus.STAGED).count() == 2


# Every request shape that disables is held ---------------------------------------------------------

DISABLING_PATCHES = {
    "mixed_case_string_false": patch_of({"op": "replace", "path": "active", "value": "fALSE"}),
    "pathless_capitalised_key": patch_of({"op": "Replace", "value": {"Active": False}}),
    "remove_active": patch_of({"op": "remove", "path": "active"}),
    "urn_qualified_path": patch_of({"op": "replace", "path": f"{USER_URN}:active", "value": False}),
    "pathless_urn_key": patch_of({"op": "replace", "value": {f"{USER_URN}:active": "False"}}),
    "add_active_false": patch_of({"op": "Add", "path": "active", "value": False}),
    "disable_among_other_changes": patch_of(
        {"op": "replace", "path": "displayName", "value": "Leaving"},
        {"op": "replace", "path": "active", "value": False},
    ),
}


@pytest.mark.parametrize("shape", DISABLING_PATCHES)
def test_guard_holds_every_patch_shape_that_disables(scim, limit_reached, shape):
    target = limit_reached[0]
    answer = scim.patch(f"/Users/{target}", DISABLING_PATCHES[shape])
    assert (answer.status_code, answer.body) == (503, held_body())
    assert is_active(target) is True
    assert WorkAccount.objects.get(pk=target).display_name is None  # nothing of the request applied
    assert StagedDeprovisioning.objects.get(status=StagedStatus.STAGED).account_id == _uuid(target)


def test_guard_holds_pathless_urn_key_disable(scim, limit_reached):
    body = patch_of({"op": "replace", "value": {f"{USER_URN}:active": False}})
    answer = scim.patch(f"/Users/{limit_reached[0]}", body)
    assert (answer.status_code, answer.body) == (503, held_body())
    assert is_active(limit_reached[0]) is True


@pytest.mark.parametrize("active", [False, "False", "false"])
def test_guard_holds_put_that_disables(scim, limit_reached, active):
    target = limit_reached[0]
    current = scim.get(f"/Users/{target}").body
    body = {key: value for key, value in current.items() if key not in ("id", "meta")} | {"active": active}
    answer = scim.put(f"/Users/{target}", body)
    assert (answer.status_code, answer.body) == (503, held_body())
    assert is_active(target) is True


def test_guard_holds_delete(scim, limit_reached):
    answer = scim.delete(f"/Users/{limit_reached[0]}")
    assert (answer.status_code, answer.body) == (503, held_body())
    assert answer.headers["Retry-After"] == "3600"
    assert scim.get(f"/Users/{limit_reached[0]}").status_code == 200
    assert StagedDeprovisioning.objects.get().action == "Delete"


def test_deletes_count_and_are_held_too(scim, ten_accounts, guarded):
    assert [scim.delete(f"/Users/{user}").status_code for user in ten_accounts[:3]] == [204, 204, 503]
    assert StagedDeprovisioning.objects.get().action == "Delete"


# Nothing is held that should fail or change nothing anyway ----------------------------------------


def test_guard_answers_412_for_a_stale_if_match_beyond_the_limit(scim, limit_reached):
    answer = scim.patch(f"/Users/{limit_reached[0]}", DISABLE, headers={"If-Match": 'W/"999"'})
    assert answer.status_code == 412
    assert answer.body == {
        "schemas": [ERROR],
        "status": "412",
        "detail": 'The resource has changed: its version is W/"1".',
    }
    assert not StagedDeprovisioning.objects.exists()


def test_guard_answers_412_for_a_stale_if_match_on_delete_beyond_the_limit(scim, limit_reached):
    answer = scim.delete(f"/Users/{limit_reached[0]}", headers={"If-Match": 'W/"999"'})
    assert answer.status_code == 412
    assert not StagedDeprovisioning.objects.exists()


def test_guard_lets_the_disable_of_an_inactive_account_succeed_as_a_no_op(scim, ten_accounts, limit_reached):
    answer = scim.patch(f"/Users/{ten_accounts[0]}", DISABLE)
    assert answer.status_code == 200
    assert answer.body["active"] is False
    assert not StagedDeprovisioning.objects.exists()


def test_guard_answers_400_for_an_invalid_disable_beyond_the_limit(scim, limit_reached):
    body = patch_of({"op": "replace", "path": "active", "value": "nope"})
    answer = scim.patch(f"/Users/{limit_reached[0]}", body)
    assert answer.status_code == 400
    assert answer.body == {
        "schemas": [ERROR],
        "status": "400",
        "scimType": "invalidValue",
        "detail": "'active' must be true or false, not 'nope'.",
    }
    assert not StagedDeprovisioning.objects.exists()


def test_guard_answers_404_for_an_unknown_account_beyond_the_limit(scim, limit_reached):
    missing = "00000000-0000-4000-8000-000000000000"
    answer = scim.patch(f"/Users/{missing}", DISABLE)
    assert answer.status_code == 404
    assert not StagedDeprovisioning.objects.exists()


def test_ordinary_updates_are_never_held(scim, limit_reached):
    rename = patch_of({"op": "replace", "path": "displayName", "value": "New"})
    assert scim.patch(f"/Users/{limit_reached[0]}", rename).status_code == 200


def test_enabling_is_never_held(scim, ten_accounts, limit_reached):
    enable = patch_of({"op": "replace", "path": "active", "value": "True"})
    assert scim.patch(f"/Users/{ten_accounts[0]}", enable).status_code == 200
    assert is_active(ten_accounts[0]) is True


# Counting only what happened -----------------------------------------------------------------------


def test_guard_does_not_count_refused_requests(scim, ten_accounts, guarded):
    stale = scim.patch(f"/Users/{ten_accounts[0]}", DISABLE, headers={"If-Match": 'W/"999"'})
    not_a_boolean = patch_of({"op": "replace", "path": "active", "value": 3})
    invalid = scim.patch(f"/Users/{ten_accounts[1]}", not_a_boolean)
    assert (stale.status_code, invalid.status_code) == (412, 400)
    assert [scim.patch(f"/Users/{user}", DISABLE).status_code for user in ten_accounts[:3]] == [200, 200, 503]


def test_guard_does_not_count_no_op_disables(scim, ten_accounts, guarded):
    assert scim.patch(f"/Users/{ten_accounts[0]}", DISABLE).status_code == 200
    assert [scim.patch(f"/Users/{ten_accounts[0]}", DISABLE).status_code for _ in range(3)] == [200] * 3
    assert scim.patch(f"/Users/{ten_accounts[1]}", DISABLE).status_code == 200
    assert DeprovisioningWindow.objects.get().applied == 2


def test_guard_message_counts_only_applied_changes_not_held_ones(scim, limit_reached):
    for user in limit_reached[:3]:
        scim.patch(f"/Users/{user}", DISABLE)
    answer = scim.patch(f"/Users/{limit_reached[3]}", DISABLE)
    assert answer.body == held_body(done=2)


def test_a_retried_held_request_is_held_once(scim, limit_reached):
    for _ in range(3):
        assert scim.patch(f"/Users/{limit_reached[0]}", DISABLE).status_code == 503
    assert StagedDeprovisioning.objects.count() == 1


def test_guard_holds_with_the_provisioning_log_off(scim, ten_accounts, guarded, settings):
    settings.PROVISIONING_LOG_ENABLED = False
    ProvisioningEvent.objects.all().delete()
    statuses = [scim.patch(f"/Users/{user}", DISABLE).status_code for user in ten_accounts[:4]]
    assert statuses == [200, 200, 503, 503]
    assert not ProvisioningEvent.objects.exists()
    assert StagedDeprovisioning.objects.filter(status=StagedStatus.STAGED).count() == 2


def test_guard_starts_a_new_run_after_the_quiet_gap(scim, limit_reached, settings):
    DeprovisioningWindow.objects.update(
        last_at=timezone.now() - timedelta(seconds=settings.PROVISIONING_CYCLE_GAP_SECONDS + 1)
    )
    statuses = [scim.patch(f"/Users/{user}", DISABLE).status_code for user in limit_reached[:3]]
    assert statuses == [200, 200, 503]


def test_held_requests_keep_the_run_going(scim, limit_reached, settings):
    gap = timedelta(seconds=settings.PROVISIONING_CYCLE_GAP_SECONDS)
    DeprovisioningWindow.objects.update(last_at=timezone.now() - gap + timedelta(seconds=5))
    assert scim.patch(f"/Users/{limit_reached[0]}", DISABLE).status_code == 503
    assert timezone.now() - DeprovisioningWindow.objects.get().last_at < timedelta(seconds=5)


def test_guard_percentage_is_of_the_accounts_when_the_run_began(scim, ten_accounts, organization):
    set_guard(organization, percent=30)  # 30 % of 10 accounts: 3
    statuses = [scim.delete(f"/Users/{user}").status_code for user in ten_accounts[:4]]
    assert statuses == [204, 204, 204, 503]


def test_limit_is_the_smaller_of_share_and_count():
    health = ConnectionHealth(guard_percent=20, guard_count=500)
    assert (guard_limit(health, 1000), guard_limit(health, 10000)) == (200, 500)
    assert guard_limit(ConnectionHealth(), 1000) is None


def test_a_held_disable_is_logged_as_a_failed_disable(scim, limit_reached):
    scim.patch(f"/Users/{limit_reached[0]}", DISABLE)
    event = ProvisioningEvent.objects.order_by("-pk").first()
    assert (event.action, event.status, event.http_status) == ("Disable", "Failure", 503)


# Admins ------------------------------------------------------------------------------------------


def test_admins_are_mailed_once_when_the_guard_first_holds(
    scim, ten_accounts, guarded, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        for user in ten_accounts[:5]:
            scim.patch(f"/Users/{user}", DISABLE)
    held_mail = OutboxMessage.objects.filter(kind="deprovisioning_held")
    assert held_mail.count() == 1
    assert held_mail.get().recipients == ["admin@contoso.com"]
    assert [m.subject for m in mail.outbox if "held" in m.subject] == [
        "[Work Accounts] Contoso · Microsoft Entra ID: disables and deletes held for approval"
    ]


def test_approving_applies_the_held_disables(scim, ten_accounts, guarded, organization):
    for user in ten_accounts[:4]:
        scim.patch(f"/Users/{user}", DISABLE)
    admin = WorkAccount.objects.get(user_name="admin@contoso.com")
    assert staged_decide(connection=guarded, actor=admin, approve=True) == 2
    assert not WorkAccount.objects.filter(pk__in=ten_accounts[:4], is_active=True).exists()
    assert set(StagedDeprovisioning.objects.values_list("status", "decided_by")) == {("approved", admin.pk)}


def test_approving_a_held_delete_deletes_the_account(scim, limit_reached, guarded):
    scim.delete(f"/Users/{limit_reached[0]}")
    admin = WorkAccount.objects.get(user_name="admin@contoso.com")
    assert staged_decide(connection=guarded, actor=admin, approve=True) == 1
    assert scim.get(f"/Users/{limit_reached[0]}").status_code == 404


def test_the_retry_of_an_approved_disable_is_a_no_op_success(scim, limit_reached, guarded):
    scim.patch(f"/Users/{limit_reached[0]}", DISABLE)
    staged_decide(connection=guarded, actor=None, approve=True)
    answer = scim.patch(f"/Users/{limit_reached[0]}", DISABLE)
    assert (answer.status_code, answer.body["active"]) == (200, False)


def test_discarding_leaves_the_accounts_active(scim, ten_accounts, guarded):
    for user in ten_accounts[:4]:
        scim.patch(f"/Users/{user}", DISABLE)
    admin = WorkAccount.objects.get(user_name="admin@contoso.com")
    assert staged_decide(connection=guarded, actor=admin, approve=False) == 2
    assert WorkAccount.objects.filter(pk__in=ten_accounts[2:4], is_active=True).count() == 2


# Concurrency (PostgreSQL: separate connections in separate threads) --------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_disables_hold_at_exactly_the_limit(scim_token, create_user, organization):
    if database.vendor != "postgresql":
        pytest.skip("needs concurrent database connections: runs in the PostgreSQL pass")
    users = [create_user(f"racer{number}@contoso.com")["id"] for number in range(12)]
    set_guard(organization, count=4)
    barrier = threading.Barrier(len(users))
    statuses = {}

    def disable(user):
        client = ScimClient(scim_token)
        try:
            barrier.wait()
            statuses[user] = client.patch(f"/Users/{user}", DISABLE).status_code
        finally:
            database.close()  # this thread's own connection

    threads = [threading.Thread(target=disable, args=(user,)) for user in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(statuses.values()) == [200] * 4 + [503] * 8
    assert WorkAccount.objects.filter(pk__in=users, is_active=False).count() == 4
    assert StagedDeprovisioning.objects.filter(status=StagedStatus.STAGED).count() == 8
    assert DeprovisioningWindow.objects.get().applied == 4


def _uuid(value):
    import uuid

    return uuid.UUID(value)
