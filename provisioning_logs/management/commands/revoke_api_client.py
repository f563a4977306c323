from django.core.management.base import BaseCommand, CommandError

from accounts.exceptions import AccountsError
from accounts.models import ActivityAction
from accounts.services import organization_get
from accounts.services.activity import admin_activity_record
from provisioning_logs.api.clients import api_client_revoke
from provisioning_logs.api.models import ApiClient


class Command(BaseCommand):
    help = "Revoke an audit API client: its tokens stop working at once and it can get no new ones."

    def add_arguments(self, parser):
        parser.add_argument("slug", help="The organization's slug.")
        parser.add_argument("client_id", help="The client id create_api_client printed.")

    def handle(self, *args, slug, client_id, **options):
        try:
            organization = organization_get(slug=slug)
        except AccountsError as exc:
            raise CommandError(exc.message) from None
        client = ApiClient.objects.filter(organization=organization, client_id=client_id).first()
        if client is None:
            raise CommandError(f"No API client with client id '{client_id}' in organization '{slug}'.")
        if not api_client_revoke(client=client):
            raise CommandError(f"API client '{client.name}' was revoked already.")
        admin_activity_record(
            action=ActivityAction.API_CLIENT_REVOKED,
            summary=f"Revoked API client {client.name}.",
            target=client,
            command="revoke_api_client",
        )
        self.stdout.write(f"API client '{client.name}' revoked; its tokens no longer work.")
