"""Cycles made directly, for the tests that read them (dashboard, audit API)."""

from provisioning_logs.models import CycleObject, ProvisioningCycle


def make_cycle(connection, *, started_at, last_event_at, handled=0, **fields) -> ProvisioningCycle:
    """A cycle of the connection with its counts, and `handled` distinct objects."""
    cycle = ProvisioningCycle.objects.create(
        organization=connection.organization,
        connection=connection,
        started_at=started_at,
        last_event_at=last_event_at,
        **fields,
    )
    CycleObject.objects.bulk_create(
        CycleObject(cycle=cycle, object_key=f"User:{number}") for number in range(handled)
    )
    return cycle
