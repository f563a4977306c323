"""Provisioning connections (which client may provision into which organization) and their tokens."""

from django.db import models
from django.db.models import Q
from django.utils import timezone
from oauth2_provider.settings import oauth2_settings

from accounts.connections.profiles import ClientProfile
from accounts.connections.token_cache import AnnouncedQuerySet
from accounts.models import Organization


class ProvisioningConnection(models.Model):
    """One Entra tenant (or other client) provisioning into one organization."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="connections")
    name = models.CharField(max_length=100)
    enabled = models.BooleanField(default=True)
    # The OAuth client Entra uses for this connection (client-credentials grant); tokens it
    # obtains at /o/token/ provision into this connection's organization only.
    application = models.OneToOneField(
        oauth2_settings.APPLICATION_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="provisioning_connection",
    )
    created_at = models.DateTimeField(default=timezone.now)
    # When an OAuth access token of this connection last authenticated a SCIM request (secret
    # tokens keep their own); refreshed at most every few minutes.
    oauth_last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The client this connection serves, as the admin chose it ("auto": as detected). What was
    # detected is kept apart, so that choosing "auto" again brings the detection back.
    client_profile = models.CharField(
        "SCIM client",
        max_length=16,
        choices=ClientProfile.choices,
        default=ClientProfile.AUTOMATIC,
        help_text="Decides what a PATCH is answered with when the request does not say (attributes=…).",
    )
    detected_client_profile = models.CharField(
        max_length=16, choices=ClientProfile.choices, blank=True, default="", editable=False
    )
    detected_user_agent = models.CharField(max_length=255, blank=True, default="", editable=False)
    detected_at = models.DateTimeField(null=True, blank=True, editable=False)

    # Processes keep authenticated tokens with their connection (accounts.connections.token_cache).
    objects = AnnouncedQuerySet.as_manager()

    class Meta:
        ordering = ["organization", "name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="connection_name_unique_per_org"),
        ]

    def __str__(self):
        return f"{self.organization.slug}: {self.name}"

    @property
    def answering_profile(self) -> str:
        """
        The profile requests are answered by: the admin's choice, else the detected one. Before
        any request with a User-Agent (Entra documents none), Entra's: connections are made for it.
        """
        if self.client_profile != ClientProfile.AUTOMATIC:
            return self.client_profile
        return self.detected_client_profile or ClientProfile.ENTRA

    @property
    def last_used_at(self):
        """When any of its credentials was last used (kept on the credentials themselves, so
        authenticating a request writes at most one row)."""
        secret_token_use = self.tokens.aggregate(last=models.Max("last_used_at"))["last"]
        uses = [when for when in (secret_token_use, self.oauth_last_used_at) if when is not None]
        return max(uses, default=None)


class Credential(models.Model):
    """
    What a rotatable credential of a connection (secret token, client secret) records: a
    connection holds at most two live ones at once (accounts.connections.credentials), so the
    admin can issue the new one, see Entra switch (last used) and revoke the old one.
    """

    prefix = models.CharField(max_length=16, help_text="The first characters, to recognise a token.")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True, help_text="Empty: never expires.")
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    # The client address of that use (refreshed with last_used_at).
    last_used_from = models.GenericIPAddressField(null=True, blank=True)
    # The smallest reminder threshold (days before expiry) already mailed, and when: each
    # threshold is mailed once (provisioning_logs.credential_expiry).
    expiry_reminded_days = models.PositiveSmallIntegerField(null=True, blank=True, editable=False)
    expiry_reminded_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        abstract = True

    def is_usable(self, now=None) -> bool:
        now = now or timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)

    def is_expired(self, now=None) -> bool:
        return self.expires_at is not None and self.expires_at <= (now or timezone.now())


class ScimSecretToken(Credential):
    """
    A long-lived bearer token (Entra's "Secret Token"). Only its SHA-256 digest is stored: the
    token has 256 bits of entropy, so a fast digest is safe and lets the lookup use an index.
    """

    connection = models.ForeignKey(ProvisioningConnection, on_delete=models.CASCADE, related_name="tokens")
    label = models.CharField(max_length=100)
    digest = models.CharField(max_length=64, unique=True)

    # Processes keep authenticated tokens (accounts.connections.token_cache).
    objects = AnnouncedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "label"],
                condition=Q(revoked_at__isnull=True),
                name="token_label_unique_while_active",
            ),
        ]

    def __str__(self):
        return f"{self.label} ({self.prefix}…)"


class ConnectionClientSecret(Credential):
    """
    A client secret of the connection's OAuth client. django-oauth-toolkit's Application holds
    one; rotation needs two live at once, so a provisioning client's secrets live here (hashed
    with Django's password hashers, as DOT hashes its own) and the OAuth validator checks the
    live ones (accounts.connections.oauth). The Application's own secret is unusable.
    """

    connection = models.ForeignKey(
        ProvisioningConnection, on_delete=models.CASCADE, related_name="client_secrets"
    )
    secret_hash = models.CharField(max_length=255)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"client secret {self.prefix or '(issued before rotation)'}…"
