"""
The mass-deprovisioning guard (our own, beyond Entra's accidental-deletion setting): once a run of
a connection's disables and deletes has applied more than the connection allows, further ones of
that run are held as staged until an admin approves or discards them.

The accounts services ask the guard on the actual change (`active` becoming false or null, or a
delete), inside their own transaction and with the account row-locked, whatever request shape led
there; the guard counts only what was applied, under its window's row lock, so concurrent
disables stop at exactly the limit. It does not depend on the provisioning log.
"""

import dataclasses
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from accounts.exceptions import AccountNotFound
from accounts.models import WorkAccount
from accounts.selectors import live_accounts
from accounts.services import account_delete, account_update
from provisioning_logs.models import (
    Action,
    ConnectionHealth,
    DeprovisioningWindow,
    ProvisioningCycle,
    StagedDeprovisioning,
    StagedStatus,
)
from provisioning_logs.services import cycle_gap, cycle_is_running


HELD = (
    "Held for admin approval: this provisioning cycle has already disabled or deleted {done} of "
    "{total} accounts, and the connection allows {limit}. An admin of {organization} can approve or "
    "discard the held requests in the Work Accounts portal."
)


def guard_limit(health: ConnectionHealth, total_accounts: int) -> int | None:
    limits = []
    if health.guard_percent is not None:
        limits.append(total_accounts * health.guard_percent // 100)
    if health.guard_count is not None:
        limits.append(health.guard_count)
    return min(limits) if limits else None


@dataclasses.dataclass(frozen=True)
class DeprovisioningGuard:
    """The accounts services' DeprovisioningPolicy for one connection's SCIM writes."""

    connection: object

    def admit(self, *, account: WorkAccount, action: str) -> str | None:
        return deprovisioning_admit(connection=self.connection, account=account, action=action)


def deprovisioning_guard(connection) -> DeprovisioningGuard:
    return DeprovisioningGuard(connection=connection)


def deprovisioning_admit(*, connection, account: WorkAccount, action: str, now=None) -> str | None:
    """
    None to go ahead (the change is counted); otherwise why it is held. Runs in the caller's
    transaction: the count, the staged row and the admins' mail commit with it.
    """
    health = (
        ConnectionHealth.objects.filter(connection=connection).only("guard_percent", "guard_count").first()
    )
    if health is None or (health.guard_percent is None and health.guard_count is None):
        return None
    now = now or timezone.now()
    window = _locked_window(connection, now)
    limit = guard_limit(health, window.accounts_at_start)
    already_staged = StagedDeprovisioning.objects.filter(
        connection=connection, account=account, status=StagedStatus.STAGED
    ).exists()
    window.last_at = now
    if window.applied < limit and not already_staged:
        window.applied += 1
        window.save(update_fields=["last_at", "applied"])
        return None
    window.save(update_fields=["last_at"])
    if not already_staged:
        _stage(connection, account, action, now)
    return HELD.format(
        done=window.applied,
        total=window.accounts_at_start,
        limit=limit,
        organization=connection.organization.name,
    )


def _locked_window(connection, now: datetime) -> DeprovisioningWindow:
    """The connection's window, row-locked; a new run starts after the quiet gap."""
    # ON CONFLICT DO NOTHING: concurrent first requests create one row, and wait for each other.
    DeprovisioningWindow.objects.bulk_create(
        [DeprovisioningWindow(connection=connection, started_at=now, last_at=now)], ignore_conflicts=True
    )
    window = DeprovisioningWindow.objects.select_for_update().get(connection=connection)
    if window.accounts_at_start is None or now - window.last_at > cycle_gap():
        window.started_at, window.applied = now, 0
        window.accounts_at_start = live_accounts(organization=connection.organization).count()
        window.save(update_fields=["started_at", "applied", "accounts_at_start"])
    return window


def _stage(connection, account: WorkAccount, action: str, now: datetime) -> None:
    from provisioning_logs.notifications import outbox_enqueue, recipients_for

    # Mail the admins when something starts waiting for them, not again while it waits.
    first_waiting = not StagedDeprovisioning.objects.filter(
        connection=connection, status=StagedStatus.STAGED
    ).exists()
    StagedDeprovisioning.objects.create(
        connection=connection, cycle=_running_cycle(connection, now), account=account, action=action
    )
    if first_waiting:
        outbox_enqueue(
            organization=connection.organization,
            connection=connection,
            kind="deprovisioning_held",
            recipients=recipients_for(connection),
            template="deprovisioning_held",
            context={"account": account, "action": action, "at": now},
        )


def _running_cycle(connection, now: datetime) -> ProvisioningCycle | None:
    cycle = ProvisioningCycle.objects.filter(connection=connection).order_by("-started_at").first()
    return cycle if cycle is not None and cycle_is_running(cycle, now) else None


def staged_decide(*, connection, actor, approve: bool, staged_ids=None) -> int:
    """Approve (apply) or discard the held requests of a connection; returns how many."""
    decided = 0
    pending = StagedDeprovisioning.objects.filter(connection=connection, status=StagedStatus.STAGED)
    if staged_ids is not None:
        pending = pending.filter(pk__in=staged_ids)
    for staged in list(pending.select_related("account")):
        with transaction.atomic():
            locked = (
                StagedDeprovisioning.objects.select_for_update()
                .filter(pk=staged.pk, status=StagedStatus.STAGED)
                .first()
            )
            if locked is None:
                continue
            if approve:
                _apply(connection, staged)
            locked.status = StagedStatus.APPROVED if approve else StagedStatus.DISCARDED
            locked.decided_at, locked.decided_by = timezone.now(), actor
            locked.save(update_fields=["status", "decided_at", "decided_by"])
        decided += 1
    return decided


def _apply(connection, staged: StagedDeprovisioning) -> None:
    """An admin's approval: applied without asking the guard again."""
    try:
        if staged.action == Action.DELETE:
            account_delete(organization=connection.organization, account_id=staged.account_id)
        else:
            account_update(
                organization=connection.organization,
                account_id=staged.account_id,
                transform=lambda attributes: dataclasses.replace(attributes, active=False),
            )
    except AccountNotFound:
        pass  # deleted meanwhile: nothing left to do
