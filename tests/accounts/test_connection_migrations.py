"""
Provisioning connections moved from the scim app to accounts: an existing database is upgraded in
place. The test migrates a database back to the schema before the move, fills it as production
would be filled (connections, secret tokens, an OAuth client with an access token, provisioning
events, health), migrates forward, and checks that every row is there and still works.
"""

import hashlib
import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone
from oauth2_provider.models import AccessToken, Application

from accounts.connections.models import ProvisioningConnection, ScimSecretToken
from provisioning_logs.models import ConnectionHealth, ProvisioningEvent
from tests.conftest import ScimClient


BEFORE_THE_MOVE = [
    ("accounts", "0004_sso"),
    ("scim", "0004_connection_oauth_last_used"),
    ("provisioning_logs", "0004_event_search_indexes"),
]
SECRET = "wat_" + "k" * 43
OAUTH_SECRET = "an-oauth-access-token-issued-before-the-move"


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def _latest():
    executor = MigrationExecutor(connection)
    return [
        key
        for key in executor.loader.graph.leaf_nodes()
        if key[0] in ("accounts", "scim", "provisioning_logs")
    ]


@pytest.fixture
def populated_before_the_move(transactional_db):
    """The database as it was before the move, with one organization's connections in it."""
    old = _migrate(BEFORE_THE_MOVE)
    try:
        yield _populate(old)
    finally:
        _migrate(_latest())


def _populate(old) -> dict:
    organization = old.get_model("accounts", "Organization").objects.create(slug="contoso", name="Contoso")
    # django-oauth-toolkit's own tables are not rolled back: its current models write them.
    application = Application.objects.create(
        name="contoso: Entra OAuth",
        client_type="confidential",
        authorization_grant_type="authorization-code",
        redirect_uris="https://portal.azure.com/TokenAuthorize",
    )
    connection_model = old.get_model("scim", "ProvisioningConnection")
    secret_connection = connection_model.objects.create(organization=organization, name="Entra production")
    oauth_connection = connection_model.objects.create(
        organization=organization, name="Entra OAuth", application_id=application.pk
    )
    old.get_model("scim", "ScimSecretToken").objects.create(
        connection=secret_connection,
        label="entra-prod",
        digest=hashlib.sha256(SECRET.encode()).hexdigest(),
        prefix=SECRET[:10],
    )
    AccessToken.objects.create(
        application=application,
        token=OAUTH_SECRET,
        token_checksum=hashlib.sha256(OAUTH_SECRET.encode()).hexdigest(),
        expires=timezone.now() + timedelta(hours=1),
        scope="scim",
    )
    old.get_model("provisioning_logs", "ProvisioningEvent").objects.create(
        organization=organization,
        connection=secret_connection,
        method="GET",
        path="/scim/v2/Users",
        http_status=200,
        status="Success",
        action="Lookup",
        resource_id=uuid.uuid4(),
    )
    old.get_model("provisioning_logs", "ConnectionHealth").objects.create(
        organization=organization, connection=oauth_connection
    )
    return {"secret": secret_connection.pk, "oauth": oauth_connection.pk}


def test_upgrade_keeps_connections_tokens_and_log_rows(populated_before_the_move):
    _migrate(_latest())

    connections = {c.pk: c for c in ProvisioningConnection.objects.select_related("application")}
    assert {c.name for c in connections.values()} == {"Entra production", "Entra OAuth"}
    assert connections[populated_before_the_move["oauth"]].application.name == "contoso: Entra OAuth"
    token = ScimSecretToken.objects.get()
    assert (token.label, token.connection_id) == ("entra-prod", populated_before_the_move["secret"])
    assert ProvisioningEvent.objects.get().connection_id == populated_before_the_move["secret"]
    assert ConnectionHealth.objects.get().connection_id == populated_before_the_move["oauth"]


def test_secret_token_issued_before_the_upgrade_still_authenticates(populated_before_the_move):
    _migrate(_latest())

    response = ScimClient(SECRET).get("/Users")

    assert response.status_code == 200
    assert response.body["totalResults"] == 0
    assert ScimSecretToken.objects.get().last_used_at is not None


def test_oauth_token_issued_before_the_upgrade_still_authenticates(populated_before_the_move):
    _migrate(_latest())

    response = ScimClient(OAUTH_SECRET).get("/Users")

    assert response.status_code == 200
    connection_row = ProvisioningConnection.objects.get(pk=populated_before_the_move["oauth"])
    assert connection_row.oauth_last_used_at is not None
