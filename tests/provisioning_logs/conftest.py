"""Fixtures the provisioning-log tests share."""

import pytest

from accounts.connections.models import ProvisioningConnection
from accounts.connections.services import scim_token_create, scim_token_revoke
from provisioning_logs.notifications import notification_settings_save
from tests.conftest import ScimClient


@pytest.fixture
def scim_connection(organization, scim) -> ProvisioningConnection:
    """The connection the `scim` client's token belongs to."""
    return ProvisioningConnection.objects.get(organization=organization)


@pytest.fixture
def notified(organization):
    """Notification addresses for the organization, so transitions have someone to mail."""
    return notification_settings_save(
        connection=None, organization=organization, addresses="ops@contoso.com", send_on_failure=False
    )


@pytest.fixture
def revoked(organization, scim_connection) -> ScimClient:
    """A SCIM client whose secret token of the same connection has been revoked."""
    secret = scim_token_create(organization=organization, label="old").secret
    scim_token_revoke(organization=organization, label="old")
    return ScimClient(secret)
