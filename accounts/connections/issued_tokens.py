"""Which credential got each access token (its own module: it points at both kinds of credential)."""

from django.db import models
from django.db.models import Q
from oauth2_provider.settings import oauth2_settings

from accounts.connections.federation.models import FederatedCredential
from accounts.connections.models import ConnectionClientSecret


class AccessTokenCredential(models.Model):
    """
    Which credential got an access token at /o/token/: a client secret or a federated credential.
    django-oauth-toolkit's AccessToken knows only its Application; with this, revoking a leaked
    secret (or removing a federated credential) ends the tokens it got at once instead of leaving
    them valid for up to an hour.
    """

    access_token = models.OneToOneField(
        oauth2_settings.ACCESS_TOKEN_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="provisioning_credential",
    )
    client_secret = models.ForeignKey(
        ConnectionClientSecret, on_delete=models.CASCADE, null=True, related_name="access_tokens"
    )
    federated_credential = models.ForeignKey(
        FederatedCredential, on_delete=models.CASCADE, null=True, related_name="access_tokens"
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(client_secret__isnull=False, federated_credential__isnull=True)
                | Q(client_secret__isnull=True, federated_credential__isnull=False),
                name="access_token_credential_exactly_one",
            )
        ]

    def __str__(self):
        return f"access token #{self.access_token_id} of {self.client_secret or self.federated_credential}"
