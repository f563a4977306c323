"""Deleting events past the retention period, in small batches that never hold long locks."""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from provisioning_logs.models import CycleObject, ProvisioningCycle, ProvisioningEvent


def _delete_in_batches(queryset, model, batch_size: int) -> int:
    deleted = 0
    while True:
        with transaction.atomic():
            ids = list(queryset.values_list("pk", flat=True)[:batch_size])
            if not ids:
                return deleted
            model.objects.filter(pk__in=ids).delete()
        deleted += len(ids)


def events_delete_expired(*, now=None, batch_size: int | None = None) -> dict[str, int]:
    """Delete events, then cycles (with their object lists) older than the retention period."""
    now = now or timezone.now()
    batch_size = batch_size or settings.PROVISIONING_LOG_DELETE_BATCH
    cutoff = now - timedelta(days=settings.PROVISIONING_LOG_RETENTION_DAYS)
    events = _delete_in_batches(
        ProvisioningEvent.objects.filter(created_at__lt=cutoff).order_by("created_at"),
        ProvisioningEvent,
        batch_size,
    )
    old_cycles = ProvisioningCycle.objects.filter(last_event_at__lt=cutoff)
    objects = _delete_in_batches(CycleObject.objects.filter(cycle__in=old_cycles), CycleObject, batch_size)
    cycles = _delete_in_batches(old_cycles.order_by("started_at"), ProvisioningCycle, batch_size)
    return {"events": events, "cycles": cycles, "cycle_objects": objects}
