"""What the portal shows about a connection's health, notifications and held deprovisionings."""

from dataclasses import dataclass

from django.utils import timezone

from provisioning_logs.health import health_of, next_attempt, thresholds_of
from provisioning_logs.models import (
    HealthState,
    HealthTransition,
    NotificationSettings,
    OutboxMessage,
    OutboxStatus,
    StagedDeprovisioning,
    StagedStatus,
)
from provisioning_logs.notifications import effective_settings


@dataclass(frozen=True)
class HealthSummary:
    health: object
    state_label: str
    reason_label: str
    next_attempt: object
    thresholds: object
    transitions: list
    outbox: list
    outbox_pending: int
    outbox_failing: int
    staged: list
    own_settings: object
    addresses: list
    send_on_failure: bool
    digest_interval_minutes: int

    @property
    def quarantined(self) -> bool:
        return self.health.state != HealthState.HEALTHY


def health_summary(connection, now=None) -> HealthSummary:
    now = now or timezone.now()
    health = health_of(connection)
    outbox = OutboxMessage.objects.filter(connection=connection)
    addresses, send_on_failure, interval = effective_settings(connection)
    return HealthSummary(
        health=health,
        state_label=health.get_state_display(),
        reason_label=health.get_reason_display() if health.reason else "",
        next_attempt=next_attempt(health, now),
        thresholds=thresholds_of(health),
        transitions=list(HealthTransition.objects.filter(connection=connection).select_related("actor")[:20]),
        outbox=list(outbox.order_by("-created_at", "-id")[:10]),
        outbox_pending=outbox.filter(status=OutboxStatus.PENDING).count(),
        outbox_failing=outbox.filter(status=OutboxStatus.FAILING).count(),
        staged=list(
            StagedDeprovisioning.objects.filter(
                connection=connection, status=StagedStatus.STAGED
            ).select_related("account")[:200]
        ),
        own_settings=NotificationSettings.objects.filter(connection=connection).first(),
        addresses=addresses,
        send_on_failure=send_on_failure,
        digest_interval_minutes=interval,
    )
