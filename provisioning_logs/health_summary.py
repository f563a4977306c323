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


@dataclass(frozen=True)
class HealthStatus:
    """A connection's health at a glance: what the dashboard and the audit API show."""

    state: str
    reason: str
    reason_label: str
    since: object  # when the current quarantine began (None while healthy)
    next_retry: object  # when Entra is expected to retry (Graph's nextAttempt)
    held_deprovisionings: int
    outbox_pending: int
    outbox_failing: int

    @property
    def label(self) -> str:
        """The badge: Healthy, Quarantined or Disabled."""
        return HealthState(self.state).label

    @property
    def detail(self) -> str:
        """The text after the badge: the quarantine's reason, since and retry; held deprovisionings."""
        return self.text.removeprefix(self.label).removeprefix(": ").removeprefix(" · ")

    @property
    def text(self) -> str:
        """One line: healthy, or the quarantine with reason, since and next retry; held deprovisionings."""
        held = self.held_deprovisionings
        held_text = f" · {held} disable(s)/delete(s) held for approval" if held else ""
        if self.state == HealthState.HEALTHY:
            return f"Healthy{held_text}"
        since = f"{self.since:%Y-%m-%d %H:%M} UTC" if self.since else "unknown"
        line = f"{HealthState(self.state).label}: {self.reason_label} (since {since}"
        line += f"; next retry expected {self.next_retry:%Y-%m-%d %H:%M} UTC)" if self.next_retry else ")"
        return line + held_text


def health_status(connection, now=None) -> HealthStatus:
    now = now or timezone.now()
    health = health_of(connection)
    outbox = OutboxMessage.objects.filter(connection=connection)
    return HealthStatus(
        state=health.state,
        reason=health.reason,
        reason_label=health.get_reason_display() if health.reason else "",
        since=health.current_began if health.state != HealthState.HEALTHY else None,
        next_retry=next_attempt(health, now),
        held_deprovisionings=StagedDeprovisioning.objects.filter(
            connection=connection, status=StagedStatus.STAGED
        ).count(),
        outbox_pending=outbox.filter(status=OutboxStatus.PENDING).count(),
        outbox_failing=outbox.filter(status=OutboxStatus.FAILING).count(),
    )
