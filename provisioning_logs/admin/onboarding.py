"""
The first-run checklist on a new organization's provisioning log: the steps of connecting Entra,
each ticked off by what has arrived (a connection, a credential, Entra's Test Connection request,
the first provisioning cycle). Reads only the connections, tokens and cycles tables, never the
events (which can hold millions of rows).
"""

from dataclasses import dataclass

from django.db.models import Q
from django.urls import reverse

from accounts.connections.locations import scim_base_url
from accounts.connections.models import ProvisioningConnection, ScimSecretToken
from provisioning_logs.models import ProvisioningCycle


@dataclass(frozen=True)
class ChecklistStep:
    key: str
    title: str
    hint: str
    done: bool


@dataclass(frozen=True)
class Checklist:
    steps: tuple[ChecklistStep, ...]
    tenant_url: str

    @property
    def complete(self) -> bool:
        return all(step.done for step in self.steps)

    @property
    def done_count(self) -> int:
        return sum(step.done for step in self.steps)


def first_run_checklist(*, user, request=None) -> Checklist | None:
    """The checklist of the user's organization, or None once every step is done (or for superusers)."""
    organization_id = getattr(user, "organization_id", None)
    if user.is_superuser or organization_id is None:
        return None
    connections = ProvisioningConnection.objects.filter(organization_id=organization_id)
    connected = connections.exists()
    credential = (
        ScimSecretToken.objects.filter(
            connection__organization_id=organization_id, revoked_at__isnull=True
        ).exists()
        or connections.filter(application__isnull=False).exists()
    )
    cycles = ProvisioningCycle.objects.filter(organization_id=organization_id)
    # Entra's Test Connection is a query (GET /Users?filter=…) answered successfully; every
    # request is counted in its cycle, so the events table is not read.
    tested = cycles.filter(count_success__gt=0).exists()
    cycled = cycles.filter(
        Q(count_create__gt=0) | Q(count_update__gt=0) | Q(count_disable__gt=0) | Q(count_delete__gt=0)
    ).exists()
    connect_url = reverse("admin:accounts_provisioningconnection_changelist")
    tenant_url = scim_base_url(request) + "/"
    steps = (
        ChecklistStep(
            "connect",
            "Connect Microsoft Entra ID",
            f"Create a provisioning connection under Provisioning connections ({connect_url}). "
            f"In Entra's enterprise application, Provisioning → Admin Credentials, set the Tenant URL "
            f"to {tenant_url}",
            connected,
        ),
        ChecklistStep(
            "credential",
            "Give Entra a secret token, or Authorize",
            "Issue a secret token on the connection and paste it into Entra's Secret Token field, "
            "or use Entra's Authorize button (OAuth).",
            credential,
        ),
        ChecklistStep(
            "test",
            "Test Connection",
            "Press Test Connection in Entra: its query appears in this log.",
            tested,
        ),
        ChecklistStep(
            "cycle",
            "First provisioning cycle",
            "Turn Provisioning Status on in Entra and save (or Provision on demand): the first cycle "
            "creates the accounts and groups in scope.",
            cycled,
        ),
    )
    checklist = Checklist(steps=steps, tenant_url=tenant_url)
    return None if checklist.complete else checklist
