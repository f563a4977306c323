"""A machine client of the audit API: one OAuth client (client credentials) of one organization."""

from django.db import models
from django.db.models import Q
from django.utils import timezone
from oauth2_provider.settings import oauth2_settings

from accounts.models import Organization


class ApiClient(models.Model):
    """
    A SIEM, helpdesk tool or status page reading one organization's provisioning log. Its OAuth
    application issues client-credentials tokens of scope audit:read only; revoking deletes the
    application (and with it every token), and keeps this row for the record.
    """

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=100)
    application = models.OneToOneField(
        oauth2_settings.APPLICATION_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="api_client",
    )
    # Kept when the application is deleted, so a revoked client can still be recognised.
    client_id = models.CharField("client id", max_length=100, db_index=True)
    created_by = models.ForeignKey(
        "accounts.WorkAccount", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    # When one of its tokens last authenticated a request; refreshed at most every few minutes.
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        "accounts.WorkAccount", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        app_label = "provisioning_logs"
        verbose_name = "API client"
        verbose_name_plural = "API clients"
        ordering = ["organization", "name", "-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "name"],
                condition=Q(revoked_at__isnull=True),
                name="api_client_name_unique_while_active",
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.client_id})"

    @property
    def active(self) -> bool:
        return self.revoked_at is None and self.application_id is not None
