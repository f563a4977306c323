"""
Connection health, judged as events are recorded, by Entra's published quarantine rules
(entra-scim.md §3): evaluation starts at 5,000 failures; quarantined above 40 % failed events or
40,000 failures (reference failures, i.e. unknown manager or member, left out of both), or above
60,000 failures of any kind; at once on credential or SCIM-compliance failures. A success ends a
quarantine; 28 days of quarantine disable the connection. Every transition is recorded with its
cause and queues a notification through the outbox in the same transaction.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.statements import Statement
from provisioning_logs.durability import commit_durably
from provisioning_logs.models import (
    ConnectionHealth,
    HealthState,
    HealthTransition,
    QuarantineReason,
)
from provisioning_logs.notifications import notify_transition


# Entra retries a quarantined job 6 h, 12 h and 24 h after the first failure, then daily, and
# disables it after 28 days.
RETRY_OFFSETS = (timedelta(hours=6), timedelta(hours=12), timedelta(hours=24))
RETRY_EVERY = timedelta(hours=24)
DISABLE_AFTER = timedelta(days=28)
# A quarantine less than this long after the last one continues its series (seriesCount).
SERIES_GAP = timedelta(hours=24)


@dataclass(frozen=True)
class Thresholds:
    min_failures: int
    failure_percent: int
    failure_limit: int
    absolute_limit: int


def thresholds_of(health: ConnectionHealth) -> Thresholds:
    def pick(own, default):
        return own if own is not None else default

    return Thresholds(
        min_failures=pick(health.min_failures, settings.QUARANTINE_MIN_FAILURES),
        failure_percent=pick(health.failure_percent, settings.QUARANTINE_FAILURE_PERCENT),
        failure_limit=pick(health.failure_limit, settings.QUARANTINE_FAILURE_LIMIT),
        absolute_limit=pick(health.absolute_limit, settings.QUARANTINE_ABSOLUTE_LIMIT),
    )


def escrow_verdict(
    *, failures: int, reference_failures: int, successes: int, thresholds: Thresholds
) -> str | None:
    """The quarantine reason Entra's failure-count rules give, or None (healthy)."""
    if failures + reference_failures > thresholds.absolute_limit:
        return QuarantineReason.FAILURE_LIMIT
    if failures < thresholds.min_failures:
        return None
    if failures > thresholds.failure_limit:
        return QuarantineReason.TOO_MANY_FAILURES
    if failures * 100 > thresholds.failure_percent * (failures + successes):
        return QuarantineReason.TOO_MANY_FAILURES
    return None


def verdict_of(health: ConnectionHealth) -> str | None:
    if health.consecutive_credential_failures >= settings.QUARANTINE_CREDENTIAL_FAILURES:
        return QuarantineReason.INVALID_CREDENTIALS
    if health.consecutive_compliance_failures >= settings.QUARANTINE_COMPLIANCE_FAILURES:
        return QuarantineReason.SCIM_COMPLIANCE
    return escrow_verdict(
        failures=health.window_failures,
        reference_failures=health.window_reference_failures,
        successes=health.window_successes,
        thresholds=thresholds_of(health),
    )


def next_attempt(health: ConnectionHealth, now: datetime | None = None) -> datetime | None:
    """When Entra is expected to retry a quarantined connection (Graph's nextAttempt)."""
    if health.state != HealthState.QUARANTINED or health.current_began is None:
        return None
    now = now or timezone.now()
    began = health.current_began
    for offset in RETRY_OFFSETS:
        if began + offset > now:
            return began + offset
    days = (now - began - RETRY_OFFSETS[-1]) // RETRY_EVERY + 1
    attempt = began + RETRY_OFFSETS[-1] + days * RETRY_EVERY
    return attempt if attempt - began <= DISABLE_AFTER else began + DISABLE_AFTER


def health_of(connection) -> ConnectionHealth:
    health, _ = ConnectionHealth.objects.get_or_create(
        connection=connection, defaults={"organization_id": connection.organization_id}
    )
    return health


# Observing events (inside event_record's transaction) ---------------------------------------------

_RESET_WINDOW = {
    "window_failures": 0,
    "window_reference_failures": 0,
    "window_successes": 0,
    "consecutive_credential_failures": 0,
    "consecutive_compliance_failures": 0,
}


# connection id → its health row id, for this process: rows are never deleted but with their
# connection, so a known id saves the lookup on every event.
_health_ids: dict[int, int] = {}


def _health_id(connection) -> int:
    health_id = _health_ids.get(connection.pk)
    if health_id is None:
        health_id = _health_ids[connection.pk] = health_of(connection).pk
    return health_id


def health_observe(*, connection, event, credential_failure: bool, compliance_failure: bool, now) -> None:
    health_id = _health_id(connection)
    if event.status == "Failure":
        counter = "window_reference_failures" if event.reference_failure else "window_failures"
        ConnectionHealth.objects.filter(pk=health_id).update(
            **{counter: F(counter) + 1},
            consecutive_credential_failures=F("consecutive_credential_failures") + 1
            if credential_failure
            else 0,
            consecutive_compliance_failures=F("consecutive_compliance_failures") + 1
            if compliance_failure
            else 0,
        )
        _judge(health_id, now, event)
        return
    # The everyday case, a success on a healthy connection, is this one UPDATE.
    if health_successes_on_healthy(connection=connection, count=1):
        return
    ConnectionHealth.objects.filter(pk=health_id).update(**_successes(1))
    # "If any of the retries gets a successful response, the job is automatically put out of
    # quarantine" (Entra). Re-checked under the lock: another request may have done it.
    _transition_locked(
        health_id,
        to_state=HealthState.HEALTHY,
        reason="",
        cause=f"A request succeeded again ({event.method} {event.path[:120]}, HTTP {event.http_status}).",
        now=now,
        only_from=(HealthState.QUARANTINED, HealthState.DISABLED),
    )


def _successes(count: int) -> dict:
    return {
        "window_successes": F("window_successes") + count,
        "consecutive_credential_failures": 0,
        "consecutive_compliance_failures": 0,
    }


def health_successes_on_healthy(*, connection, count: int) -> bool:
    """Count `count` successes if the connection is healthy (one UPDATE); False if it is not."""
    return bool(_SUCCESSES_ON_HEALTHY.execute(pk=_health_id(connection), count=count))


# The batched log runs it for every batch (issue 15): compiled once.
_SUCCESSES_ON_HEALTHY = Statement(
    lambda pk, count: ConnectionHealth.objects.filter(pk=pk, state=HealthState.HEALTHY),
    update=lambda pk, count: _successes(count),
    pk=ConnectionHealth._meta.pk,
    count=ConnectionHealth._meta.get_field("window_successes"),
)


def forget_health_ids() -> None:
    """Drop this process's cache (tests whose database is rolled back call it)."""
    _health_ids.clear()


def _judge(health_pk: int, now, event) -> None:
    health = ConnectionHealth.objects.select_for_update().get(pk=health_pk)
    if health.state == HealthState.DISABLED:
        return  # stays disabled until it succeeds again or an admin clears it
    reason = verdict_of(health)
    if reason is None or (health.state == HealthState.QUARANTINED and health.reason == reason):
        return
    cause = _cause_of(health, reason, event)
    _transition(health, to_state=HealthState.QUARANTINED, reason=reason, cause=cause, now=now)


def _cause_of(health: ConnectionHealth, reason: str, event) -> str:
    if reason == QuarantineReason.INVALID_CREDENTIALS:
        return (
            f"{health.consecutive_credential_failures} requests in a row were refused with HTTP 401: "
            "the credential Entra uses is expired, revoked or unknown."
        )
    if reason == QuarantineReason.SCIM_COMPLIANCE:
        return (
            f"{health.consecutive_compliance_failures} requests in a row asked for an endpoint that does not "
            f"exist (last: {event.method} {event.path[:120]}): check the Tenant URL."
        )
    return (
        f"{health.window_failures:,} failures and {health.window_reference_failures:,} reference failures "
        f"against {health.window_successes:,} successes since {health.window_started_at:%Y-%m-%d %H:%M} UTC."
    )


def _transition_locked(health_pk, *, only_from, **kwargs) -> bool:
    health = ConnectionHealth.objects.select_for_update().get(pk=health_pk)
    if health.state not in only_from:
        return False
    _transition(health, **kwargs)
    return True


def _transition(health: ConnectionHealth, *, to_state, reason, cause, now, actor=None) -> None:
    commit_durably()  # a state change and its mail survive a database crash
    previous_state, previous_reason = health.state, health.reason
    fields = {"state": to_state, "reason": reason}
    if to_state == HealthState.QUARANTINED and previous_state == HealthState.HEALTHY:
        last_recovery = (
            HealthTransition.objects.filter(connection_id=health.connection_id, to_state=HealthState.HEALTHY)
            .values_list("at", flat=True)
            .first()
        )
        continues_series = (
            health.series_began is not None and last_recovery is not None and now - last_recovery < SERIES_GAP
        )
        fields.update(
            current_began=now,
            series_began=health.series_began if continues_series else now,
            series_count=health.series_count + 1 if continues_series else 1,
        )
    if to_state == HealthState.HEALTHY:
        fields.update(current_began=None, window_started_at=now, **_RESET_WINDOW)
    for name, value in fields.items():
        setattr(health, name, value)
    health.save(update_fields=list(fields))
    HealthTransition.objects.create(
        connection_id=health.connection_id,
        at=now,
        from_state=previous_state,
        to_state=to_state,
        reason=reason,
        cause=cause[:300],
        actor=actor,
    )
    notify_transition(
        health,
        previous_state=previous_state,
        previous_reason=previous_reason,
        cause=cause,
        now=now,
        next_attempt=next_attempt(health, now),
    )


# Admin actions and the periodic check -----------------------------------------------------------


def health_clear(*, connection, actor, now=None) -> bool:
    """ "Clear quarantine": the admin fixed the cause. False when there was nothing to clear."""
    now = now or timezone.now()
    with transaction.atomic():
        health = health_of(connection)
        return _transition_locked(
            health.pk,
            to_state=HealthState.HEALTHY,
            reason="",
            cause=f"Cleared by {actor.user_name}.",
            now=now,
            actor=actor,
            only_from=(HealthState.QUARANTINED, HealthState.DISABLED),
        )


def health_tick(*, now=None) -> dict[str, int]:
    """Periodic: disable connections quarantined for 28 days; restart expired counting windows."""
    now = now or timezone.now()
    disabled = 0
    overdue = ConnectionHealth.objects.filter(
        state=HealthState.QUARANTINED, current_began__lt=now - DISABLE_AFTER
    ).values_list("pk", flat=True)
    for health_pk in list(overdue):
        with transaction.atomic():
            health = ConnectionHealth.objects.select_for_update().get(pk=health_pk)
            if health.state == HealthState.QUARANTINED and health.current_began < now - DISABLE_AFTER:
                _transition(
                    health,
                    to_state=HealthState.DISABLED,
                    reason=health.reason,
                    cause="In quarantine for more than 28 days: Entra stops provisioning (job disabled).",
                    now=now,
                )
                disabled += 1
    window = timedelta(hours=settings.QUARANTINE_WINDOW_HOURS)
    restarted = ConnectionHealth.objects.filter(
        state=HealthState.HEALTHY, window_started_at__lte=now - window
    ).update(window_started_at=now, window_failures=0, window_reference_failures=0, window_successes=0)
    return {"disabled": disabled, "windows_restarted": restarted}
