"""
The mass-deprovisioning guard: once a cycle has disabled or deleted more of the organization's
accounts than the connection allows, further disables and deletes of that cycle are held (503 with
Retry-After, so Entra retries them) until an admin approves or discards them.
"""

import pytest
from django.core import mail

from accounts.models import OrganizationRole, WorkAccount
from provisioning_logs.guard import HELD, guard_limit, staged_decide
from provisioning_logs.health import health_of
from provisioning_logs.models import ConnectionHealth, OutboxMessage, StagedDeprovisioning, StagedStatus
from scim.views.users import disables


pytestmark = pytest.mark.django_db
DISABLE = {
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [{"op": "Replace", "path": "active", "value": "False"}],
}


@pytest.fixture
def ten_accounts(scim, create_user, make_account, organization):
    make_account("admin@contoso.com", organization=organization, role=OrganizationRole.ADMIN)
    return [create_user(f"user{number}@contoso.com")["id"] for number in range(9)]


@pytest.fixture
def guarded(scim, ten_accounts, organization):
    connection = organization.connections.get()
    health = health_of(connection)
    health.guard_count = 2
    health.save()
    return connection


def test_guard_is_off_by_default(scim, ten_accounts):
    statuses = [scim.patch(f"/Users/{user}", DISABLE).status_code for user in ten_accounts]
    assert statuses == [200] * 9


def test_disables_beyond_the_limit_are_held_with_503_and_retry_after(scim, ten_accounts, guarded):
    answers = [scim.patch(f"/Users/{user}", DISABLE) for user in ten_accounts[:4]]
    assert [answer.status_code for answer in answers] == [200, 200, 503, 503]
    assert answers[2].headers["Retry-After"] == "3600"
    assert answers[2].body["detail"] == HELD.format(done=2, total=10, limit=2, organization="Contoso")
    assert list(WorkAccount.objects.filter(pk__in=ten_accounts[2:4]).values_list("is_active", flat=True)) == [
        True,
        True,
    ]
    assert StagedDeprovisioning.objects.filter(status=StagedStatus.STAGED).count() == 2


def test_deletes_count_and_are_held_too(scim, ten_accounts, guarded):
    assert [scim.delete(f"/Users/{user}").status_code for user in ten_accounts[:3]] == [204, 204, 503]
    assert StagedDeprovisioning.objects.get().action == "Delete"


def test_a_retried_held_request_is_held_once(scim, ten_accounts, guarded):
    for user in ten_accounts[:2]:
        scim.patch(f"/Users/{user}", DISABLE)
    for _ in range(3):
        assert scim.patch(f"/Users/{ten_accounts[2]}", DISABLE).status_code == 503
    assert StagedDeprovisioning.objects.count() == 1


def test_ordinary_updates_are_never_held(scim, ten_accounts, guarded):
    for user in ten_accounts[:2]:
        scim.patch(f"/Users/{user}", DISABLE)
    rename = {"Operations": [{"op": "replace", "path": "displayName", "value": "New"}]}
    assert scim.patch(f"/Users/{ten_accounts[3]}", rename).status_code == 200


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


def test_discarding_leaves_the_accounts_active(scim, ten_accounts, guarded):
    for user in ten_accounts[:4]:
        scim.patch(f"/Users/{user}", DISABLE)
    admin = WorkAccount.objects.get(user_name="admin@contoso.com")
    assert staged_decide(connection=guarded, actor=admin, approve=False) == 2
    assert WorkAccount.objects.filter(pk__in=ten_accounts[2:4], is_active=True).count() == 2


def test_limit_is_the_smaller_of_share_and_count():
    health = ConnectionHealth(guard_percent=20, guard_count=500)
    assert (guard_limit(health, 1000), guard_limit(health, 10000)) == (200, 500)
    assert guard_limit(ConnectionHealth(), 1000) is None


@pytest.mark.parametrize(
    "body",
    [
        {"Operations": [{"op": "Replace", "path": "active", "value": "False"}]},
        {"Operations": [{"op": "replace", "path": "active", "value": False}]},
        {"Operations": [{"op": "replace", "value": {"active": False}}]},
        {"userName": "x", "active": False},
    ],
)
def test_every_entra_disable_shape_is_recognised(body):
    assert disables(body) is True


def test_enabling_is_not_a_disable():
    assert disables({"Operations": [{"op": "replace", "path": "active", "value": "True"}]}) is False
