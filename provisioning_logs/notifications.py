"""
Notification e-mails through an outbox: the intent is a row written in the transaction of the
state change; after commit a Celery task is asked to send it, and a periodic task re-queues what
is still pending, so a mail survives Redis or the mail server being down and is sent once.
"""

import logging
from datetime import datetime, timedelta
from smtplib import SMTPException

from celery.exceptions import Retry
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q
from django.dispatch import Signal
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from accounts.models import OrganizationRole, WorkAccountValue
from accounts.selectors import live_accounts
from provisioning_logs.durability import commit_durably
from provisioning_logs.models import (
    ConnectionHealth,
    HealthState,
    NotificationSettings,
    OutboxMessage,
    OutboxStatus,
    ProvisioningEvent,
    QuarantineReason,
    Status,
)


logger = logging.getLogger(__name__)
MAX_ADDRESSES = 20
DIGEST_SAMPLES = 20
# send_outbox_message retries a refused mail at most this many seconds apart; a failing message
# not tried for clearly longer has no retry left (retries exhausted, or lost with the broker).
RETRY_MAX_COUNTDOWN = 600
FAILING_IDLE = timedelta(seconds=RETRY_MAX_COUNTDOWN) + timedelta(minutes=5)


# Settings and recipients -------------------------------------------------------------------------


def parse_addresses(text: str) -> list[str]:
    """One address per line (or comma/semicolon separated); ValidationError names a bad one."""
    addresses = []
    for part in text.replace(",", "\n").replace(";", "\n").splitlines():
        address = part.strip()
        if not address or address.lower() in (a.lower() for a in addresses):
            continue
        try:
            validate_email(address)
        except ValidationError:
            raise ValidationError(f"“{address[:100]}” is not a valid e-mail address.") from None
        addresses.append(address)
    if len(addresses) > MAX_ADDRESSES:
        raise ValidationError(f"Enter at most {MAX_ADDRESSES} addresses.")
    return addresses


def effective_settings(connection) -> tuple[list[str], bool, int]:
    """(addresses, send_on_failure, digest interval minutes): the connection's, else the organization's."""
    own = NotificationSettings.objects.filter(connection=connection).first()
    default = NotificationSettings.objects.filter(
        organization_id=connection.organization_id, connection__isnull=True
    ).first()
    addresses = (own and own.address_list) or (default and default.address_list) or []
    send_on_failure = own.send_on_failure if own else bool(default and default.send_on_failure)
    interval = (own or default).digest_interval_minutes if (own or default) else 60
    return addresses, send_on_failure, interval


def recipients_for(connection) -> list[str]:
    """The notification addresses; with none set, the organization's admins (someone must know)."""
    addresses, _, _ = effective_settings(connection)
    if addresses:
        return addresses
    admins = live_accounts(organization=connection.organization).filter(
        role=OrganizationRole.ADMIN, is_active=True
    )
    emails = WorkAccountValue.objects.filter(account__in=admins, attribute="emails").values_list(
        "value", flat=True
    )
    found = sorted({email for email in emails if email and "@" in email})
    return found or sorted(name for name in admins.values_list("user_name", flat=True) if "@" in name)


def _are_notification_addresses(connection, recipients) -> bool:
    addresses = effective_settings(connection)[0]
    return bool(addresses) and set(recipients) <= set(addresses)


def connection_url(connection, section: str = "health") -> str:
    """The connection's page in the portal, absolute (PORTAL_BASE_URL), for links in e-mails."""
    if connection is None or not settings.PORTAL_BASE_URL:
        return ""
    path = reverse("admin:accounts_provisioningconnection_change", args=[connection.pk])
    return f"{settings.PORTAL_BASE_URL}{path}#{section}"


def notification_settings_save(
    *, connection, organization, addresses: str, send_on_failure: bool, digest_interval_minutes: int = 60
) -> NotificationSettings:
    parsed = parse_addresses(addresses)
    if not 5 <= digest_interval_minutes <= 7 * 24 * 60:
        raise ValidationError("The digest interval must be between 5 minutes and 7 days.")
    with transaction.atomic():
        if connection is not None and send_on_failure and not effective_settings(connection)[1]:
            # Turning the failure e-mails on starts from now: the first digest reports new
            # failures, not the whole retained log.
            latest = (
                ProvisioningEvent.objects.filter(connection=connection)
                .order_by("-pk")
                .values_list("pk", flat=True)
            )
            ConnectionHealth.objects.update_or_create(
                connection=connection,
                defaults={"digested_through_event": latest.first() or 0},
                create_defaults={"organization": organization, "digested_through_event": latest.first() or 0},
            )
        row, _ = NotificationSettings.objects.update_or_create(
            organization=organization,
            connection=connection,
            defaults={
                "addresses": "\n".join(parsed),
                "send_on_failure": send_on_failure,
                "digest_interval_minutes": digest_interval_minutes,
            },
        )
    return row


# The outbox --------------------------------------------------------------------------------------


def outbox_enqueue(
    *, organization, connection, kind: str, recipients, template: str, context: dict, section: str = "health"
) -> OutboxMessage | None:
    """Write the mail (same transaction as the caller's change); queue its sending after commit."""
    if not recipients:
        logger.warning(
            "No recipient for %s notification of connection %s", kind, getattr(connection, "pk", None)
        )
        return None
    commit_durably()  # a mail the portal owes must not vanish in a database crash
    context = {
        **context,
        "organization": organization,
        "connection": connection,
        "connection_url": connection_url(connection, section),
        # The footer says truthfully why this person receives the mail.
        "to_admins_as_fallback": connection is not None
        and not _are_notification_addresses(connection, recipients),
    }
    subject = render_to_string(f"provisioning_logs/email/{template}_subject.txt", context).strip()
    message = OutboxMessage.objects.create(
        organization=organization,
        connection=connection,
        kind=kind,
        recipients=list(recipients),
        subject=" ".join(subject.split())[:300],
        text_body=render_to_string(f"provisioning_logs/email/{template}.txt", context),
        html_body=render_to_string(f"provisioning_logs/email/{template}.html", context),
    )
    transaction.on_commit(lambda: queue_delivery(message.pk), robust=True)
    return message


# Sent with message_id once a message may be sent; provisioning_logs.tasks queues the Celery task.
# A signal, so that this module does not import the tasks module that imports it.
delivery_requested = Signal()


def queue_delivery(message_id: int) -> None:
    """Ask a worker to send; with the broker down the row stays pending for the re-queue task."""
    for _, outcome in delivery_requested.send_robust(sender=OutboxMessage, message_id=message_id):
        if isinstance(outcome, Retry):
            continue  # eager mode: the send was tried now, refused and recorded; the re-queue task retries it
        if isinstance(outcome, Exception):  # broker unreachable: SCIM must not notice
            logger.warning(
                "Could not queue outbox message %s; it stays pending", message_id, exc_info=outcome
            )


def outbox_deliver(message_id: int, *, now: datetime | None = None) -> str:
    """
    Send one message over SMTP and mark it sent, holding its row lock throughout: a duplicate
    task skips it, and a worker that dies mid-send rolls the claim back so it is sent later.
    Raises on SMTP or network errors after recording them (the task retries).
    """
    now = now or timezone.now()
    failure = None
    with transaction.atomic():
        message = (
            OutboxMessage.objects.select_for_update(skip_locked=True)
            .filter(pk=message_id, status__in=[OutboxStatus.PENDING, OutboxStatus.FAILING])
            .first()
        )
        if message is None:
            return "skipped"  # sent already, or another worker is sending it right now
        try:
            _send(message)
        except (SMTPException, OSError) as exc:
            failure = exc
            OutboxMessage.objects.filter(pk=message.pk).update(
                status=OutboxStatus.FAILING,
                attempts=message.attempts + 1,
                last_error=f"{type(exc).__name__}: {exc}"[:500],
                last_attempt_at=now,
            )
        else:
            OutboxMessage.objects.filter(pk=message.pk).update(
                status=OutboxStatus.SENT,
                attempts=message.attempts + 1,
                sent_at=now,
                last_attempt_at=now,
                last_error="",
            )
    if failure is not None:
        raise failure  # recorded above; the task retries with backoff
    return "sent"


def _send(message: OutboxMessage) -> None:
    email = EmailMultiAlternatives(
        subject=message.subject,
        body=message.text_body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=message.recipients,
        headers={"X-Work-Accounts-Outbox-Id": str(message.pk)},
        connection=get_connection(timeout=settings.EMAIL_TIMEOUT or 10),
    )
    email.attach_alternative(message.html_body, "text/html")
    email.send(fail_silently=False)


def outbox_requeue(*, now: datetime | None = None, older_than: timedelta = timedelta(minutes=1)) -> int:
    """
    Periodic: ask again for everything still pending (e.g. queued while Redis was down), and for
    failing messages whose task stopped retrying. A failing message its task is still retrying
    with backoff is left alone: queuing it again every minute would start one more retry chain
    each time and defeat the backoff.
    """
    now = now or timezone.now()
    ids = list(
        OutboxMessage.objects.filter(
            Q(status=OutboxStatus.PENDING, created_at__lte=now - older_than)
            | Q(status=OutboxStatus.FAILING, last_attempt_at__lte=now - FAILING_IDLE)
        )
        .order_by("created_at")  # oldest first, so a backlog drains in order
        .values_list("pk", flat=True)[:1000]
    )
    for message_id in ids:
        queue_delivery(message_id)
    return len(ids)


# What is mailed ----------------------------------------------------------------------------------

_KIND_OF = {
    (HealthState.HEALTHY, HealthState.QUARANTINED): "quarantine_entered",
    (HealthState.QUARANTINED, HealthState.QUARANTINED): "quarantine_reason_changed",
    (HealthState.QUARANTINED, HealthState.HEALTHY): "quarantine_ended",
    (HealthState.DISABLED, HealthState.HEALTHY): "quarantine_ended",
    (HealthState.QUARANTINED, HealthState.DISABLED): "connection_disabled",
}


def notify_transition(
    health: ConnectionHealth, *, previous_state, previous_reason, cause, now, next_attempt
) -> None:
    kind = _KIND_OF.get((previous_state, health.state))
    if kind is None:
        return
    connection = health.connection
    outbox_enqueue(
        organization=connection.organization,
        connection=connection,
        kind=kind,
        recipients=recipients_for(connection),
        template=kind,
        context={
            "health": health,
            "reason": QuarantineReason(health.reason).label if health.reason else "",
            "previous_reason": QuarantineReason(previous_reason).label if previous_reason else "",
            "cause": cause,
            "at": now,
            "next_attempt": next_attempt,
            "portal_url": settings.PORTAL_BASE_URL or "",
        },
    )


def digests_send_due(*, now: datetime | None = None) -> int:
    """Periodic: one digest per connection with new failures, at most once per its interval."""
    now = now or timezone.now()
    sent = 0
    for health in ConnectionHealth.objects.select_related("connection__organization"):
        addresses, send_on_failure, interval = effective_settings(health.connection)
        if not send_on_failure:
            continue
        if health.last_digest_at and now - health.last_digest_at < timedelta(minutes=interval):
            continue
        with transaction.atomic():
            locked = ConnectionHealth.objects.select_for_update().get(pk=health.pk)
            if locked.last_digest_at and now - locked.last_digest_at < timedelta(minutes=interval):
                continue  # another run sent this period's digest meanwhile
            failures = ProvisioningEvent.objects.filter(
                connection_id=locked.connection_id,
                status=Status.FAILURE,
                pk__gt=locked.digested_through_event,
            )
            newest = failures.order_by("-pk").values_list("pk", flat=True).first()
            if newest is None:
                continue
            outbox_enqueue(
                organization=health.connection.organization,
                connection=health.connection,
                kind="failure_digest",
                recipients=addresses or recipients_for(health.connection),
                template="failure_digest",
                context={
                    "count": failures.count(),
                    "samples": list(failures.order_by("-pk")[:DIGEST_SAMPLES]),
                    "since": locked.last_digest_at,
                    "at": now,
                    "portal_url": settings.PORTAL_BASE_URL or "",
                },
            )
            ConnectionHealth.objects.filter(pk=locked.pk).update(
                last_digest_at=now, digested_through_event=newest
            )
            sent += 1
    return sent


def notification_send_test(*, connection, addresses: list[str]) -> tuple[bool, str]:
    """Send a test mail now and say whether the mail server accepted it (the admin is waiting)."""
    if not addresses:
        return False, "Enter at least one notification e-mail address first."
    context = {
        "organization": connection.organization,
        "connection": connection,
        "connection_url": connection_url(connection, "notifications"),
        "to_admins_as_fallback": False,
    }
    email = EmailMultiAlternatives(
        subject=render_to_string("provisioning_logs/email/test_subject.txt", context).strip(),
        body=render_to_string("provisioning_logs/email/test.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=addresses,
        connection=get_connection(timeout=settings.EMAIL_TIMEOUT or 10),
    )
    email.attach_alternative(render_to_string("provisioning_logs/email/test.html", context), "text/html")
    try:
        email.send(fail_silently=False)
    except (SMTPException, OSError) as exc:
        return (
            False,
            f"The mail server did not accept the test e-mail: {type(exc).__name__}: {str(exc)[:300]}",
        )
    # Listed with the connection's other mails, so the page shows that it went out.
    now = timezone.now()
    OutboxMessage.objects.create(
        organization=connection.organization,
        connection=connection,
        kind="test",
        recipients=list(addresses),
        subject=email.subject[:300],
        text_body=email.body,
        html_body=email.alternatives[0][0] if email.alternatives else "",
        status=OutboxStatus.SENT,
        attempts=1,
        created_at=now,
        last_attempt_at=now,
        sent_at=now,
    )
    return True, f"The mail server accepted the test e-mail for {', '.join(addresses)}."
