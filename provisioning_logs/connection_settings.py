"""Admins' per-connection settings: quarantine thresholds and the mass-deprovisioning guard."""

from django.db import transaction

from provisioning_logs.health import health_of


THRESHOLD_FIELDS = (
    "min_failures",
    "failure_percent",
    "failure_limit",
    "absolute_limit",
    "guard_percent",
    "guard_count",
)


def health_thresholds_save(*, connection, **values) -> None:
    """Empty values fall back to the site-wide defaults (Entra's numbers; guard off)."""
    unknown = set(values) - set(THRESHOLD_FIELDS)
    if unknown:
        raise ValueError(f"unknown settings: {sorted(unknown)}")
    with transaction.atomic():
        health = health_of(connection)
        for name, value in values.items():
            setattr(health, name, value)
        health.save(update_fields=list(values))
