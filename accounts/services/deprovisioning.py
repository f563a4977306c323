"""
Deprovisioning policies: a rule outside the accounts domain (provisioning_logs' mass-deprovisioning
guard) that may hold a disable or delete. accounts never imports that rule; the caller passes it
in, and the service asks it on the actual change, in the change's own transaction.
"""

from typing import Protocol

from accounts.models import WorkAccount


DISABLE = "Disable"
DELETE = "Delete"


class DeprovisioningPolicy(Protocol):
    def admit(self, *, account: WorkAccount, action: str) -> str | None:
        """
        Called inside the service's transaction with `account` row-locked, right before a
        disable (`active` becoming false or null) or a delete is written. None lets it through;
        a message holds it: the transaction then commits only what the policy itself wrote
        (its record of the held request) and the service raises DeprovisioningHeld.
        """
