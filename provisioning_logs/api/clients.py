"""
The audit API's machine clients: created by an organization admin (portal or manage.py
create_api_client), each an OAuth confidential client whose only grant is client credentials and
whose only scope is audit:read; revoked by deleting its OAuth application, which ends its tokens.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from accounts.exceptions import InvalidAttributeValue, UniquenessConflict
from accounts.services.common import check_length
from provisioning_logs.api.models import ApiClient


AUDIT_SCOPE = "audit:read"
# last_used_at is a hint for admins: written at most this often, not on every request.
LAST_USED_RESOLUTION = timedelta(minutes=5)
NAME_REQUIRED = "Give the API client a name, for example 'Splunk' or 'Helpdesk tool'."
NAME_TAKEN = "An API client named '{name}' already exists in this organization."


@dataclass(frozen=True)
class IssuedApiClient:
    client: ApiClient
    client_secret: str  # shown once; django-oauth-toolkit stores it hashed


def api_client_create(*, organization, name: str, created_by=None) -> IssuedApiClient:
    from oauth2_provider.generators import generate_client_secret
    from oauth2_provider.models import get_application_model

    name = (name or "").strip()
    if not name:
        raise InvalidAttributeValue(NAME_REQUIRED)
    check_length(ApiClient, "name", name)
    application_model = get_application_model()
    secret = generate_client_secret()
    try:
        with transaction.atomic():
            active = ApiClient.objects.filter(organization=organization, revoked_at__isnull=True)
            if active.filter(name=name).exists():
                raise UniquenessConflict(NAME_TAKEN.format(name=name))
            application = application_model.objects.create(
                name=f"{organization.slug}: {name} (audit API)"[:255],
                client_type=application_model.CLIENT_CONFIDENTIAL,
                authorization_grant_type=application_model.GRANT_CLIENT_CREDENTIALS,
                redirect_uris="",
                client_secret=secret,
            )
            client = ApiClient.objects.create(
                organization=organization,
                name=name,
                application=application,
                client_id=application.client_id,
                created_by=created_by,
            )
    except IntegrityError:
        raise UniquenessConflict(NAME_TAKEN.format(name=name)) from None
    return IssuedApiClient(client=client, client_secret=secret)


def api_client_revoke(*, client: ApiClient, actor=None) -> bool:
    """Revoke the client and end its tokens at once. False when it was revoked already."""
    with transaction.atomic():
        locked = ApiClient.objects.select_for_update().filter(pk=client.pk, revoked_at__isnull=True).first()
        if locked is None:
            return False
        application = locked.application
        locked.revoked_at = timezone.now()
        locked.revoked_by = actor
        locked.application = None
        locked.save(update_fields=["revoked_at", "revoked_by", "application"])
        if application is not None:
            # Its access tokens go with it (ON DELETE CASCADE); the client id no longer exists.
            application.delete()
    client.refresh_from_db()
    return True


def api_client_of_token(token) -> ApiClient | None:
    """
    The active API client a valid access token was issued to, with its organization; None for
    any other token (a provisioning connection's `scim` token among them), so scopes never cross.
    """
    if token is None or token.application_id is None or not token.allow_scopes([AUDIT_SCOPE]):
        return None
    client = (
        ApiClient.objects.select_related("organization")
        .filter(application_id=token.application_id, revoked_at__isnull=True)
        .first()
    )
    if client is None:
        return None
    now = timezone.now()
    if client.last_used_at is None or now - client.last_used_at > LAST_USED_RESOLUTION:
        ApiClient.objects.filter(pk=client.pk).update(last_used_at=now)
        client.last_used_at = now
    return client


def api_client_settings(issued: IssuedApiClient, base_url: str) -> dict:
    """What the operator of the SIEM or tool enters: shown once, with the secret."""
    base_url = base_url.rstrip("/")
    return {
        "organization": issued.client.organization.slug,
        "name": issued.client.name,
        "client_id": issued.client.client_id,
        "client_secret": issued.client_secret,
        "token_url": base_url + reverse("oauth2_provider:token"),
        "scope": AUDIT_SCOPE,
        "api_url": base_url + reverse("api:api-root"),
    }
