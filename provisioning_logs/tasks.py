from celery import shared_task

from provisioning_logs.retention import events_delete_expired


@shared_task(name="provisioning_logs.delete_expired_events")
def delete_expired_events() -> dict[str, int]:
    """Periodic (Celery beat, daily): drop events older than PROVISIONING_LOG_RETENTION_DAYS."""
    return events_delete_expired()
