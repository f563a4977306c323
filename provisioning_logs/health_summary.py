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


def quarantine_text(connection, now=None) -> tuple[str, str]:
    """(state, one line) for the dashboard: healthy, or the quarantine with reason and next retry."""
    now = now or timezone.now()
    health = health_of(connection)
    held = StagedDeprovisioning.objects.filter(connection=connection, status=StagedStatus.STAGED).count()
    held_text = f" · {held} disable(s)/delete(s) held for approval" if held else ""
    if health.state == HealthState.HEALTHY:
        return health.state, f"Healthy{held_text}"
    since = f"{health.current_began:%Y-%m-%d %H:%M} UTC" if health.current_began else "unknown"
    line = f"{health.get_state_display()}: {health.get_reason_display()} (since {since}"
    retry = next_attempt(health, now)
    line += f"; next retry expected {retry:%Y-%m-%d %H:%M} UTC)" if retry else ")"
    return health.state, line + held_text
