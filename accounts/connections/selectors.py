"""Reads of provisioning connections: by OAuth client, and by a credential that was refused."""

import hashlib

from accounts.connections.models import ProvisioningConnection, ScimSecretToken


TOKEN_PREFIX = "wat_"


def token_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def connection_get_for_client(client_id: str | None) -> ProvisioningConnection | None:
    """The provisioning connection whose OAuth client has this client id, with its organization."""
    if not client_id or len(client_id) > 100:
        return None
    return (
        ProvisioningConnection.objects.select_related("organization", "application")
        .filter(application__client_id=client_id)
        .first()
    )


def connection_get_for_application(application) -> ProvisioningConnection | None:
    """The provisioning connection of this OAuth client (Application), with its organization."""
    if application is None:
        return None
    return (
        ProvisioningConnection.objects.select_related("organization").filter(application=application).first()
    )


def connection_exists_for_client(client_id: str) -> bool:
    return ProvisioningConnection.objects.filter(application__client_id=client_id).exists()


def connection_get_for_refused_credential(secret: str) -> ProvisioningConnection | None:
    """The connection an expired or revoked credential was issued to, if it was issued at all."""
    from oauth2_provider.models import get_access_token_model

    if len(secret) > 512:
        return None
    if secret.startswith(TOKEN_PREFIX):
        token = (
            ScimSecretToken.objects.select_related("connection__organization")
            .filter(digest=token_digest(secret))
            .first()
        )
        return token.connection if token else None
    token = (
        get_access_token_model()
        .objects.select_related("application__provisioning_connection__organization")
        .filter(token_checksum=hashlib.sha256(secret.encode()).hexdigest())
        .first()
    )
    if token is None or token.application is None:
        return None
    return getattr(token.application, "provisioning_connection", None)


def connection_free_name(*, base: str, organization=None) -> str:
    """
    `base`, or "`base` 2", "`base` 3"… : the first name no connection of the organization has
    (of any organization when none is given, for the platform's form where it is chosen later).
    Names are compared as the unique constraint compares them.
    """
    connections = ProvisioningConnection.objects.all()
    if organization is not None:
        connections = connections.filter(organization=organization)
    taken = set(connections.filter(name__startswith=base).values_list("name", flat=True))
    if base not in taken:
        return base
    number = 2
    while f"{base} {number}" in taken:
        number += 1
    return f"{base} {number}"
