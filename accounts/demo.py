"""
The demo organization `make run` seeds: contoso and its admin. Every start prints a fresh admin
password and a fresh SCIM token, so no credential is written down anywhere.
"""

import secrets
from dataclasses import dataclass

from accounts.connections.services import scim_token_create
from accounts.models import Organization, WorkAccount
from accounts.services import account_set_password, admin_create, organization_create


DEMO_SLUG = "contoso"
DEMO_NAME = "Contoso"
DEMO_ADMIN = "admin@contoso.example"


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
    password = secrets.token_urlsafe(12)
    admin = WorkAccount.objects.filter(
        organization=organization, user_name__iexact=DEMO_ADMIN, deleted_at__isnull=True
    ).first()
    if admin is None:
        admin_create(organization=organization, email=DEMO_ADMIN, password=password)
    else:
        account_set_password(account=admin, password=password)
    issued = scim_token_create(organization=organization)
    return DemoOrganization(
        admin_user_name=DEMO_ADMIN,
        admin_password=password,
        token_label=issued.token.label,
        token_secret=issued.secret,
    )
