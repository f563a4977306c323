"""
What Entra did to an organization, modelled on Entra's own provisioning logs so an admin can put
the two side by side: one ProvisioningEvent per SCIM request, grouped into ProvisioningCycles
(consecutive requests of one connection with no quiet gap longer than the configured one).
"""

from django.db import models
from django.db.models import F
from django.db.models.functions import Upper
from django.utils import timezone

from accounts.connections.models import ProvisioningConnection
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
    connection = models.ForeignKey(ProvisioningConnection, on_delete=models.CASCADE, related_name="cycles")
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
    connection = models.ForeignKey(ProvisioningConnection, on_delete=models.CASCADE, related_name="events")
    cycle = models.ForeignKey(ProvisioningCycle, on_delete=models.SET_NULL, null=True, related_name="events")
    created_at = models.DateTimeField(default=timezone.now)
    duration_ms = models.PositiveIntegerField(default=0)
    request_id = models.CharField("request id", max_length=128, blank=True)
    # The real client (through TRUSTED_PROXIES), as the sign-in throttle and the access log see it.
    client_address = models.CharField("client address", max_length=64, blank=True)
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
    # A failure about a reference (unknown manager or group member): Entra's quarantine rules
    # leave these out of the 40 % and 40,000 thresholds.
    reference_failure = models.BooleanField(default=False)
    # [{"name": attribute, "old": …, "new": …}], secrets redacted.
    modified_properties = models.JSONField(default=list, blank=True)
    # The request body, secrets redacted and cut to a bounded size.
    request_body = models.TextField(blank=True)

    class Meta:
        # One name for the list everywhere (Entra's "Provisioning logs"); one row is an event.
        verbose_name = "provisioning event"
        verbose_name_plural = "provisioning logs"
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["organization", "-created_at"], name="event_org_created"),
            # The audit API's pages: one organization's events in id order.
            models.Index(fields=["organization", "id"], name="event_org_id"),
            models.Index(fields=["connection", "-created_at"], name="event_connection_created"),
            models.Index(fields=["organization", "status", "-created_at"], name="event_org_status_created"),
            models.Index(fields=["resource_id", "-created_at"], name="event_resource_created"),
            models.Index(fields=["request_id"], name="event_request_id"),
            models.Index(fields=["created_at"], name="event_created"),
            # The portal's search: a userName or displayName, whole and case-insensitive.
            models.Index(F("organization"), Upper("identity"), name="event_org_identity"),
            models.Index(fields=["organization", "external_id"], name="event_org_external_id"),
        ]

    def __str__(self):
        return f"{self.action} {self.resource_type} {self.identity or self.resource_id or ''}: {self.status}"


# Connection health and quarantine (Entra's rules, entra-scim.md §3) ------------------------------


class HealthState(models.TextChoices):
    HEALTHY = "healthy", "Healthy"
    QUARANTINED = "quarantined", "Quarantined"
    DISABLED = "disabled", "Disabled"  # quarantined for more than 28 days


class QuarantineReason(models.TextChoices):
    INVALID_CREDENTIALS = "invalid_credentials", "Invalid credentials"
    SCIM_COMPLIANCE = "scim_compliance", "SCIM compliance issue"
    TOO_MANY_FAILURES = "too_many_failures", "Too many failures"
    FAILURE_LIMIT = "failure_limit", "Absolute failure limit reached"


class ConnectionHealth(models.Model):
    """One per connection: its state, the current quarantine, and the counters it is judged on."""

    connection = models.OneToOneField(ProvisioningConnection, on_delete=models.CASCADE, related_name="health")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    state = models.CharField(max_length=16, choices=HealthState.choices, default=HealthState.HEALTHY)
    reason = models.CharField(max_length=32, choices=QuarantineReason.choices, blank=True)
    # Graph's status.quarantine: currentBegan, seriesBegan, seriesCount; nextAttempt is computed.
    current_began = models.DateTimeField(null=True, blank=True)
    series_began = models.DateTimeField(null=True, blank=True)
    series_count = models.PositiveIntegerField(default=0)

    # Counted since window_started_at (reset on recovery, on clear and when the window expires).
    window_started_at = models.DateTimeField(default=timezone.now)
    window_failures = models.PositiveIntegerField(default=0)  # reference failures excluded
    window_reference_failures = models.PositiveIntegerField(default=0)  # manager, member
    window_successes = models.PositiveIntegerField(default=0)
    consecutive_credential_failures = models.PositiveIntegerField(default=0)
    consecutive_compliance_failures = models.PositiveIntegerField(default=0)

    # Thresholds: empty uses the site-wide default (Entra's numbers), so small organizations can
    # set smaller ones.
    min_failures = models.PositiveIntegerField(null=True, blank=True)
    failure_percent = models.PositiveSmallIntegerField(null=True, blank=True)
    failure_limit = models.PositiveIntegerField(null=True, blank=True)
    absolute_limit = models.PositiveIntegerField(null=True, blank=True)

    # Mass-deprovisioning guard (off unless set): hold further disables/deletes of a cycle once
    # it has disabled or deleted more than this share of the accounts, or this many.
    guard_percent = models.PositiveSmallIntegerField(null=True, blank=True)
    guard_count = models.PositiveIntegerField(null=True, blank=True)

    # The failure digest: failures after this event id have not been mailed yet.
    last_digest_at = models.DateTimeField(null=True, blank=True)
    digested_through_event = models.BigIntegerField(default=0)

    # SCIM requests whose event could not be written (each also in the server log).
    recording_failures = models.PositiveIntegerField(default=0)
    last_recording_failure_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "connection health"
        verbose_name_plural = "connection health"

    def __str__(self):
        return f"{self.connection_id}: {self.get_state_display()}"


class HealthTransition(models.Model):
    """Every change of state or reason, with who or what caused it."""

    connection = models.ForeignKey(
        ProvisioningConnection, on_delete=models.CASCADE, related_name="health_transitions"
    )
    at = models.DateTimeField(default=timezone.now)
    from_state = models.CharField(max_length=16, choices=HealthState.choices)
    to_state = models.CharField(max_length=16, choices=HealthState.choices)
    reason = models.CharField(max_length=32, choices=QuarantineReason.choices, blank=True)
    cause = models.CharField(max_length=300)
    actor = models.ForeignKey(
        "accounts.WorkAccount", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self):
        return f"{self.from_state} → {self.to_state} ({self.cause})"


class NotificationSettings(models.Model):
    """Who is told about a connection. connection=None holds the organization's defaults."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    connection = models.OneToOneField(
        ProvisioningConnection,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="notification_settings",
    )
    # One address per line; empty: use the organization's defaults.
    addresses = models.TextField("notification e-mail addresses", blank=True)
    send_on_failure = models.BooleanField("send an e-mail notification when a failure occurs", default=False)
    digest_interval_minutes = models.PositiveIntegerField(default=60)

    class Meta:
        verbose_name = "notification settings"
        verbose_name_plural = "notification settings"
        constraints = [
            models.UniqueConstraint(
                fields=["organization"],
                condition=models.Q(connection__isnull=True),
                name="one_default_notification_settings_per_org",
            ),
        ]

    def __str__(self):
        return f"notifications for {self.connection_id or self.organization_id}"

    @property
    def address_list(self) -> list[str]:
        return [line.strip() for line in self.addresses.splitlines() if line.strip()]


class OutboxStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"
    FAILING = "failing", "Failing"  # still pending, the last attempt was refused


class OutboxMessage(models.Model):
    """
    A mail the portal owes someone, written in the same transaction as the state change it
    reports; a Celery task sends it and marks it sent, so nothing is lost while Redis or the
    mail server is down.
    """

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    connection = models.ForeignKey(
        ProvisioningConnection, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    kind = models.CharField(max_length=32)
    recipients = models.JSONField(default=list)
    subject = models.CharField(max_length=300)
    text_body = models.TextField()
    html_body = models.TextField()
    status = models.CharField(max_length=16, choices=OutboxStatus.choices, default=OutboxStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "created_at"], name="outbox_status_created")]

    def __str__(self):
        return f"{self.kind} to {', '.join(self.recipients)}: {self.status}"


class StagedStatus(models.TextChoices):
    STAGED = "staged", "Waiting for approval"
    APPROVED = "approved", "Approved and applied"
    DISCARDED = "discarded", "Discarded"


class StagedDeprovisioning(models.Model):
    """
    A disable or delete held by the mass-deprovisioning guard: the cycle had already disabled or
    deleted more of the organization's accounts than the connection allows. An admin approves
    (it is applied then) or discards it.
    """

    connection = models.ForeignKey(
        ProvisioningConnection, on_delete=models.CASCADE, related_name="staged_deprovisionings"
    )
    cycle = models.ForeignKey(ProvisioningCycle, on_delete=models.SET_NULL, null=True, related_name="+")
    account = models.ForeignKey("accounts.WorkAccount", on_delete=models.CASCADE, related_name="+")
    action = models.CharField(max_length=8, choices=[(Action.DISABLE, "Disable"), (Action.DELETE, "Delete")])
    requested_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=16, choices=StagedStatus.choices, default=StagedStatus.STAGED)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        "accounts.WorkAccount", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-requested_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "account"],
                condition=models.Q(status="staged"),
                name="one_staged_deprovisioning_per_account",
            ),
        ]

    def __str__(self):
        return f"{self.action} {self.account_id}: {self.status}"


class DeprovisioningWindow(models.Model):
    """
    The mass-deprovisioning guard's count for one connection: the disables and deletes it applied
    in its current run (a run ends after a quiet gap of PROVISIONING_CYCLE_GAP_SECONDS without
    disables or deletes). Counted in the transaction of each change, under this row's lock, so
    it holds with the provisioning log off and under concurrent requests.
    """

    connection = models.OneToOneField(
        ProvisioningConnection, on_delete=models.CASCADE, related_name="deprovisioning_window"
    )
    started_at = models.DateTimeField(default=timezone.now)
    # The last disable or delete asked for, applied or held: a run of held requests stays one run.
    last_at = models.DateTimeField(default=timezone.now)
    applied = models.PositiveIntegerField(default=0)
    # The organization's live accounts when the run began: what the percentage limit is of
    # (None: no run began yet).
    accounts_at_start = models.PositiveIntegerField(null=True, blank=True)

    def __str__(self):
        return f"{self.applied} deprovisioned since {self.started_at:%Y-%m-%d %H:%M} ({self.connection_id})"


# The audit API's machine clients live with the API (provisioning_logs/api/); imported here so
# that Django registers the model with the app.
from provisioning_logs.api.models import ApiClient  # noqa: E402, F401
