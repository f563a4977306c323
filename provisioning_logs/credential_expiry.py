"""
Reminders before a connection's secret token or client secret expires: one e-mail 14 days and one
3 days before, to the connection's notification addresses (else the organization's admins),
through the outbox. Each threshold is mailed once per credential: the credential row records the
smallest threshold mailed, set in the transaction that writes the outbox row, under its lock.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.connections.credentials import live
from accounts.connections.models import ConnectionClientSecret, ScimSecretToken
from provisioning_logs.notifications import outbox_enqueue, recipients_for


REMINDER_DAYS = (14, 3)
KIND = "credential_expiry"


def _due_threshold(expires_at: datetime, now: datetime) -> int | None:
    """The smallest threshold the expiry is within (a credential issued 2 days before its expiry
    gets the 3-day reminder only, not a late 14-day one as well)."""
    due = [days for days in REMINDER_DAYS if expires_at - now <= timedelta(days=days)]
    return min(due, default=None)


def _describe(credential) -> tuple[str, str]:
    if isinstance(credential, ScimSecretToken):
        return "secret token", f"{credential.label} ({credential.prefix}…)"
    return "client secret", f"{credential.prefix}…" if credential.prefix else "issued with the connection"


def credential_expiry_reminders_send(*, now: datetime | None = None) -> int:
    """Periodic: mail the reminders that are due; returns how many were queued."""
    now = now or timezone.now()
    sent = 0
    window = now + timedelta(days=max(REMINDER_DAYS))
    for model in (ScimSecretToken, ConnectionClientSecret):
        # Live only: a revoked or expired credential needs no reminder.
        candidates = model.objects.filter(live(now=now), expires_at__lte=window).filter(
            Q(expiry_reminded_days__isnull=True) | Q(expiry_reminded_days__gt=min(REMINDER_DAYS))
        )
        for pk in candidates.values_list("pk", flat=True):
            sent += _remind(model, pk, now=now)
    return sent


def _remind(model, pk: int, *, now: datetime) -> int:
    with transaction.atomic():
        credential = (
            model.objects.select_for_update()
            .select_related("connection__organization")
            .filter(live(now=now), pk=pk)
            .first()
        )
        if credential is None:
            return 0  # revoked meanwhile
        threshold = _due_threshold(credential.expires_at, now)
        reminded = credential.expiry_reminded_days
        if threshold is None or (reminded is not None and reminded <= threshold):
            return 0  # mailed already (another run got here first)
        connection = credential.connection
        kind_label, name = _describe(credential)
        outbox_enqueue(
            organization=connection.organization,
            connection=connection,
            kind=KIND,
            recipients=recipients_for(connection),
            template=KIND,
            section="credentials",
            context={
                "credential_kind": kind_label,
                "credential_name": name,
                "expires_at": credential.expires_at,
                "days_left": max(0, (credential.expires_at - now).days),
                "portal_url": settings.PORTAL_BASE_URL or "",
            },
        )
        model.objects.filter(pk=credential.pk).update(expiry_reminded_days=threshold, expiry_reminded_at=now)
    return 1
