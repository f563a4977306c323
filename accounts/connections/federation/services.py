"""Adding and removing a connection's federated credentials (what an admin configures)."""

import json
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.urls import reverse

from accounts.connections.credentials import access_tokens_end
from accounts.connections.federation.keys import jwks_url_clean, parse_jwks, pasted_jwks_clean
from accounts.connections.federation.models import FederatedCredential
from accounts.connections.models import ProvisioningConnection
from accounts.exceptions import InvalidAttributeValue, UniquenessConflict
from accounts.services.common import check_length


# Entra accepts at most 20 federated identity credentials per application; so do we per connection.
MAX_PER_CONNECTION = 20
ISSUER_REQUIRED = "Give the issuer, for example https://login.microsoftonline.com/<tenant id>/v2.0."
SUBJECT_REQUIRED = "Give the subject: the identity Entra's provisioning service signs in as."
NO_WHITESPACE = "The {field} cannot contain spaces or line breaks."
ONE_KEY_SOURCE = "Give either a JWKS URL or a pasted JWK Set, not both."
NO_KEY_SOURCE = "Say where the signing keys come from: a JWKS URL, or paste a JWK Set."
NO_OAUTH_CLIENT = (
    "The connection “{name}” has no OAuth client, which a federated credential signs in as. "
    "Connect Microsoft Entra ID again to create a connection with one."
)
TAKEN = "This connection already trusts the subject {subject} of {issuer}."
TOO_MANY = f"A connection can have at most {MAX_PER_CONNECTION} federated credentials."


def default_audience(base: str) -> str:
    """Our token endpoint's URL, RFC 7523 §3 item 3's suggested audience."""
    return base.rstrip("/") + reverse("oauth2_provider:token")


def _required(value, field: str, message: str) -> str:
    value = (value or "").strip()
    if not value:
        raise InvalidAttributeValue(message)
    if any(c.isspace() for c in value):
        raise InvalidAttributeValue(NO_WHITESPACE.format(field=field))
    check_length(FederatedCredential, field, value)
    return value


def federated_credential_create(
    *,
    connection: ProvisioningConnection,
    issuer: str,
    subject: str,
    audience: str | None = None,
    base: str,
    jwks_url: str | None = None,
    jwks: str | None = None,
) -> FederatedCredential:
    """
    Trust assertions from `issuer` about `subject` for this connection. `audience` defaults to
    our token URL (under `base`, the portal's public URL); the keys come from `jwks_url` (fetched
    when an assertion arrives) or from the pasted JWK Set `jwks` (checked now).
    """
    issuer = _required(issuer, "issuer", ISSUER_REQUIRED)
    subject = _required(subject, "subject", SUBJECT_REQUIRED)
    audience = _required(audience or default_audience(base), "audience", "Give the audience.")
    jwks_url, jwks = (jwks_url or "").strip(), (jwks or "").strip()
    if jwks_url and jwks:
        raise InvalidAttributeValue(ONE_KEY_SOURCE)
    if not jwks_url and not jwks:
        raise InvalidAttributeValue(NO_KEY_SOURCE)
    if jwks_url:
        jwks_url = jwks_url_clean(jwks_url)
        check_length(FederatedCredential, "jwks_url", jwks_url)
    else:
        jwks = pasted_jwks_clean(jwks)
    if connection.application_id is None:
        raise InvalidAttributeValue(NO_OAUTH_CLIENT.format(name=connection.name))
    try:
        with transaction.atomic():
            # Locks the connection, so that two admins adding at once cannot pass the limit.
            ProvisioningConnection.objects.select_for_update().filter(pk=connection.pk).first()
            if connection.federated_credentials.count() >= MAX_PER_CONNECTION:
                raise InvalidAttributeValue(TOO_MANY)
            if connection.federated_credentials.filter(issuer=issuer, subject=subject).exists():
                raise UniquenessConflict(TAKEN.format(subject=subject, issuer=issuer))
            return FederatedCredential.objects.create(
                connection=connection,
                issuer=issuer,
                subject=subject,
                audience=audience,
                jwks_url=jwks_url,
                jwks=jwks,
            )
    except IntegrityError:
        raise UniquenessConflict(TAKEN.format(subject=subject, issuer=issuer)) from None


@dataclass(frozen=True)
class RemovedCredential:
    credential: FederatedCredential
    access_tokens_ended: int  # the access tokens it got, which stopped working with it


@transaction.atomic
def federated_credential_remove(
    *, connection: ProvisioningConnection, credential_id: int
) -> RemovedCredential:
    credential = connection.federated_credentials.filter(pk=credential_id).first()
    if credential is None:
        raise InvalidAttributeValue("No such federated credential on this connection.")
    ended = access_tokens_end(credential)  # before the delete, which takes their records with it
    credential.delete()
    return RemovedCredential(credential=credential, access_tokens_ended=ended)


def federated_credential_description(credential: FederatedCredential, *, token_url: str) -> dict:
    """What was configured, and what Entra needs back (client id, token URL), as JSON-ready data."""
    keys = (
        {"jwks_url": credential.jwks_url}
        if credential.jwks_url
        else {"jwks_keys": [key.kid for key in parse_jwks(json.loads(credential.jwks))]}
    )
    return {
        "id": credential.pk,
        "organization": credential.connection.organization.slug,
        "connection": credential.connection.name,
        "client_id": credential.connection.application.client_id,
        "token_url": token_url,
        "issuer": credential.issuer,
        "subject": credential.subject,
        "audience": credential.audience,
        **keys,
    }
