"""A connection's federated credentials, and the assertion ids (jti) already used."""

from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.connections.models import ProvisioningConnection


class FederatedCredential(models.Model):
    """
    "Trust JWTs from `issuer` about `subject` meant for `audience`": Entra's issuer
    (https://login.microsoftonline.com/<tenant>/v2.0), the provisioning service's identity as the
    subject, and the audience Entra puts in `aud`. Its signing keys come from a JWKS URL (Entra's
    …/discovery/v2.0/keys), or from a JWK Set pasted for an air-gapped test.
    """

    connection = models.ForeignKey(
        ProvisioningConnection, on_delete=models.CASCADE, related_name="federated_credentials"
    )
    issuer = models.CharField(max_length=500)
    subject = models.CharField(max_length=255)
    audience = models.CharField(max_length=500)
    jwks_url = models.CharField("JWKS URL", max_length=500, blank=True)
    jwks = models.TextField("pasted JWK Set", blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # A hint for admins (refreshed when a token is issued, a few times an hour at most).
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["connection", "issuer", "subject"]
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "issuer", "subject"], name="federated_credential_unique_per_connection"
            ),
            # Exactly one key source.
            models.CheckConstraint(
                condition=(Q(jwks_url="") & ~Q(jwks="")) | (~Q(jwks_url="") & Q(jwks="")),
                name="federated_credential_one_key_source",
            ),
        ]
        indexes = [models.Index(fields=["issuer", "subject"], name="federated_credential_iss_sub")]

    def __str__(self):
        return f"{self.issuer} / {self.subject}"

    @property
    def key_source(self) -> str:
        return self.jwks_url or "pasted JWK Set"


class UsedAssertion(models.Model):
    """
    An assertion's jti, kept until the assertion expires (RFC 7523 §3 item 7): the unique digest
    makes "used once" hold across workers, since only one INSERT of it can succeed.
    """

    digest = models.CharField(max_length=64, unique=True)  # SHA-256 of issuer and jti
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self):
        return f"{self.digest[:12]}… until {self.expires_at:%Y-%m-%d %H:%M:%S}"
