"""Celery tasks. Entry points only: each calls one service."""

from smtplib import SMTPException

from celery import shared_task
from django.dispatch import receiver

from config.beat import single_run
from provisioning_logs.credential_expiry import credential_expiry_reminders_send
from provisioning_logs.health import health_tick
from provisioning_logs.notifications import (
    RETRY_MAX_COUNTDOWN,
    delivery_requested,
    digests_send_due,
    outbox_deliver,
    outbox_requeue,
)
from provisioning_logs.retention import events_delete_expired


# The periodic jobs hold a lock while they run (config.beat), so two beats started by mistake
# never run one twice at once; a crashed run's lock expires after this (> CELERY_TASK_TIME_LIMIT).
PERIODIC_LOCK_SECONDS = 10 * 60


@shared_task(name="provisioning_logs.delete_expired_events")
@single_run("provisioning_logs.delete_expired_events", ttl_seconds=PERIODIC_LOCK_SECONDS)
def delete_expired_events() -> dict[str, int] | None:
    """Periodic (Celery beat): drop events older than PROVISIONING_LOG_RETENTION_DAYS."""
    return events_delete_expired()


@shared_task(
    name="provisioning_logs.send_outbox_message",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=20,
)
def send_outbox_message(self, message_id: int) -> str:
    """Send one outbox mail; a refusing or unreachable mail server is retried with backoff."""
    try:
        return outbox_deliver(message_id)
    except (SMTPException, OSError) as exc:
        raise self.retry(exc=exc, countdown=min(RETRY_MAX_COUNTDOWN, 5 * 2**self.request.retries)) from None


@receiver(delivery_requested)
def queue_outbox_message(sender, message_id: int, **kwargs) -> None:
    send_outbox_message.delay(message_id)


@shared_task(name="provisioning_logs.requeue_pending_outbox")
@single_run("provisioning_logs.requeue_pending_outbox", ttl_seconds=PERIODIC_LOCK_SECONDS)
def requeue_pending_outbox() -> int | None:
    """Periodic: queue again what is still pending (queued while Redis was down, or refused)."""
    return outbox_requeue()


@shared_task(name="provisioning_logs.health_tick")
@single_run("provisioning_logs.health_tick", ttl_seconds=PERIODIC_LOCK_SECONDS)
def check_connection_health() -> dict[str, int] | None:
    """Periodic: disable after 28 days of quarantine, restart counting windows, send digests."""
    result = health_tick()
    result["digests"] = digests_send_due()
    return result


@shared_task(name="provisioning_logs.credential_expiry_reminders")
@single_run("provisioning_logs.credential_expiry_reminders", ttl_seconds=PERIODIC_LOCK_SECONDS)
def send_credential_expiry_reminders() -> int | None:
    """Periodic: e-mail the reminders 14 and 3 days before a secret token or client secret expires."""
    return credential_expiry_reminders_send()
