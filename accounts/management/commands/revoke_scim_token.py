from django.core.management.base import BaseCommand, CommandError

from accounts.connections.services import scim_token_revoke
from accounts.exceptions import AccountsError
from accounts.models import ActivityAction
from accounts.services import organization_get
from accounts.services.activity import admin_activity_record


class Command(BaseCommand):
    help = "Revoke a SCIM bearer token by its label: manage.py revoke_scim_token SLUG LABEL"

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("label")

    def handle(self, *args, slug, label, **options):
        try:
            organization = organization_get(slug=slug)
            scim_token_revoke(organization=organization, label=label)
        except AccountsError as exc:
            raise CommandError(exc.message) from None
        admin_activity_record(
            action=ActivityAction.TOKEN_REVOKED,
            summary=f"Revoked secret token {label}.",
            organization=organization,
            command="revoke_scim_token",
        )
        self.stdout.write(f"Revoked token {label} of {organization.slug}.")
