"""
The mass-deprovisioning guard (our own, beyond Entra's accidental-deletion setting): once a cycle
has disabled or deleted more of an organization's accounts than its connection allows, further
disables and deletes of that cycle are held as staged until an admin approves or discards them.
"""

import dataclasses

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.selectors import live_accounts
from accounts.services import account_delete, account_update
from provisioning_logs.models import (
    Action,
    ConnectionHealth,
    ProvisioningCycle,
    StagedDeprovisioning,
    StagedStatus,
)
from provisioning_logs.services import cycle_is_running


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


def deprovisioning_check(*, connection, account_id, action: str, now=None) -> str | None:
    """None to go ahead; otherwise the request is held (a staged row exists) and this says why."""
    health = ConnectionHealth.objects.filter(connection=connection).first()
    if health is None or (health.guard_percent is None and health.guard_count is None):
        return None
    accounts = live_accounts(organization=connection.organization)
    account = accounts.filter(pk=account_id).first()
    if account is None:
        return None  # the service answers 404
    total = accounts.count()
    limit = guard_limit(health, total)
    cycle = ProvisioningCycle.objects.filter(connection=connection).order_by("-started_at").first()
    running = cycle is not None and cycle_is_running(cycle, now)
    done = cycle.count_disable + cycle.count_delete if running else 0
    already_staged = StagedDeprovisioning.objects.filter(
        connection=connection, account=account, status=StagedStatus.STAGED
    ).exists()
    if done < limit and not already_staged:
        return None
    if not already_staged:
        _stage(connection, cycle if running else None, account, action)
    return HELD.format(done=done, total=total, limit=limit, organization=connection.organization.name)


def _stage(connection, cycle, account, action) -> None:
    from provisioning_logs.notifications import outbox_enqueue, recipients_for

    try:
        with transaction.atomic():
            first_of_cycle = not StagedDeprovisioning.objects.filter(
                connection=connection, cycle=cycle, status=StagedStatus.STAGED
            ).exists()
            StagedDeprovisioning.objects.create(
                connection=connection, cycle=cycle, account=account, action=action
            )
            if first_of_cycle:
                outbox_enqueue(
                    organization=connection.organization,
                    connection=connection,
                    kind="deprovisioning_held",
                    recipients=recipients_for(connection),
                    template="deprovisioning_held",
                    context={"account": account, "action": action, "at": timezone.now()},
                )
    except IntegrityError:
        pass  # a concurrent request staged the same account


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
    from accounts.exceptions import AccountNotFound

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
