"""
What Entra did to an organization, modelled on Entra's own provisioning logs so an admin can put
the two side by side: one ProvisioningEvent per SCIM request, grouped into ProvisioningCycles
(consecutive requests of one connection with no quiet gap longer than the configured one).
"""

from django.db import models
from django.utils import timezone

from accounts.models import Organization


class Action(models.TextChoices):
    CREATE = "Create"
    UPDATE = "Update"
    DISABLE = "Disable"
    ENABLE = "Enable"
    DELETE = "Delete"
    LOOKUP = "Lookup"
    OTHER = "Other"  # discovery, no change needed, requests naming no resource


class Status(models.TextChoices):
    SUCCESS = "Success"
    FAILURE = "Failure"
    SKIPPED = "Skipped"


class CycleKind(models.TextChoices):
    INITIAL = "initial", "Initial"
    INCREMENTAL = "incremental", "Incremental"


# The count columns of a cycle, by action and by status (kept as columns so concurrent requests
# can add to them with a single UPDATE … SET n = n + 1).
ACTION_COUNT_FIELD = {action: f"count_{action.value.lower()}" for action in Action}
STATUS_COUNT_FIELD = {status: f"count_{status.value.lower()}" for status in Status}


class ProvisioningCycle(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    # A string reference: provisioning_logs never imports scim (scim → provisioning_logs).
    connection = models.ForeignKey(
        "scim.ProvisioningConnection", on_delete=models.CASCADE, related_name="cycles"
    )
    kind = models.CharField(max_length=16, choices=CycleKind.choices, default=CycleKind.INCREMENTAL)
    started_at = models.DateTimeField(default=timezone.now)
    last_event_at = models.DateTimeField(default=timezone.now)
    # The objects the connection managed when the cycle began (live accounts and groups),
    # known only once an earlier cycle exists; None means "estimating…".
    expected_objects = models.PositiveIntegerField(null=True, blank=True)

    count_create = models.PositiveIntegerField(default=0)
    count_update = models.PositiveIntegerField(default=0)
    count_disable = models.PositiveIntegerField(default=0)
    count_enable = models.PositiveIntegerField(default=0)
    count_delete = models.PositiveIntegerField(default=0)
    count_lookup = models.PositiveIntegerField(default=0)
    count_other = models.PositiveIntegerField(default=0)
    count_success = models.PositiveIntegerField(default=0)
    count_failure = models.PositiveIntegerField(default=0)
    count_skipped = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-started_at"]
        indexes = [
            models.Index(fields=["connection", "-started_at"], name="cycle_connection_started"),
            models.Index(fields=["organization", "-started_at"], name="cycle_org_started"),
        ]

    def __str__(self):
        return (
            f"{self.get_kind_display()} cycle of {self.connection_id} from {self.started_at:%Y-%m-%d %H:%M}"
        )

    @property
    def total_events(self) -> int:
        return self.count_success + self.count_failure + self.count_skipped

    def action_counts(self) -> dict[str, int]:
        return {action.value: getattr(self, field) for action, field in ACTION_COUNT_FIELD.items()}

    def status_counts(self) -> dict[str, int]:
        return {status.value: getattr(self, field) for status, field in STATUS_COUNT_FIELD.items()}


class CycleObject(models.Model):
    """One object (account or group) a cycle handled: the cycle's progress is a count of these."""

    cycle = models.ForeignKey(ProvisioningCycle, on_delete=models.CASCADE, related_name="+")
    object_key = models.CharField(max_length=300)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["cycle", "object_key"], name="cycle_object_unique"),
        ]

    def __str__(self):
        return self.object_key


class ProvisioningEvent(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    connection = models.ForeignKey(
        "scim.ProvisioningConnection", on_delete=models.CASCADE, related_name="events"
    )
    cycle = models.ForeignKey(ProvisioningCycle, on_delete=models.SET_NULL, null=True, related_name="events")
    created_at = models.DateTimeField(default=timezone.now)
    duration_ms = models.PositiveIntegerField(default=0)
    request_id = models.CharField("request id", max_length=128, blank=True)
    credential = models.CharField(max_length=200, blank=True, help_text="Which credential was used.")

    method = models.CharField(max_length=8)
    path = models.CharField(max_length=1024)
    resource_type = models.CharField("resource type", max_length=32, blank=True)
    action = models.CharField(max_length=8, choices=Action.choices)
    status = models.CharField(max_length=8, choices=Status.choices)
    http_status = models.PositiveSmallIntegerField("HTTP status")

    # Identity, as Entra's logs show it: our id, the client's externalId, and userName or
    # displayName (or, for a lookup, the value looked up).
    resource_id = models.UUIDField("id", null=True, blank=True)
    external_id = models.CharField("externalId", max_length=255, blank=True)
    identity = models.CharField(max_length=255, blank=True)

    scim_type = models.CharField("scimType", max_length=32, blank=True)
    detail = models.TextField(blank=True)
    # [{"name": attribute, "old": …, "new": …}], secrets redacted.
    modified_properties = models.JSONField(default=list, blank=True)
    # The request body, secrets redacted and cut to a bounded size.
    request_body = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["organization", "-created_at"], name="event_org_created"),
            models.Index(fields=["connection", "-created_at"], name="event_connection_created"),
            models.Index(fields=["organization", "status", "-created_at"], name="event_org_status_created"),
            models.Index(fields=["resource_id", "-created_at"], name="event_resource_created"),
            models.Index(fields=["request_id"], name="event_request_id"),
            models.Index(fields=["created_at"], name="event_created"),
        ]

    def __str__(self):
        return f"{self.action} {self.resource_type} {self.identity or self.resource_id or ''}: {self.status}"
