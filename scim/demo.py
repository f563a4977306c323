"""The demo organization `make run` seeds: contoso, an admin, and a fresh SCIM token per start."""

from dataclasses import dataclass

from accounts.models import Organization, WorkAccount
from accounts.services import admin_create, organization_create
from scim.services import scim_token_create


DEMO_SLUG = "contoso"
DEMO_NAME = "Contoso"
DEMO_ADMIN = "admin@contoso.example"
# A development-only credential for the embedded demo; never used with production settings.
DEMO_PASSWORD = "contoso-demo-admin-1"


@dataclass(frozen=True)
class DemoOrganization:
    admin_user_name: str
    admin_password: str
    token_label: str
    token_secret: str


def seed_demo_organization() -> DemoOrganization:
    organization = Organization.objects.filter(slug=DEMO_SLUG).first()
    if organization is None:
        organization = organization_create(slug=DEMO_SLUG, name=DEMO_NAME)
    if not WorkAccount.objects.filter(
        organization=organization, user_name__iexact=DEMO_ADMIN, deleted_at__isnull=True
    ).exists():
        admin_create(organization=organization, email=DEMO_ADMIN, password=DEMO_PASSWORD)
    issued = scim_token_create(organization=organization)
    return DemoOrganization(
        admin_user_name=DEMO_ADMIN,
        admin_password=DEMO_PASSWORD,
        token_label=issued.token.label,
        token_secret=issued.secret,
    )
