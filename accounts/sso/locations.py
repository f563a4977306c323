"""
Our service-provider addresses per organization. The entity id is the metadata URL (Entra's
"Identifier (Entity ID)"), the ACS URL Entra's "Reply URL". Set PORTAL_BASE_URL in production:
without it they follow the host the request came to, and Entra needs them stable.
"""

from django.conf import settings
from django.urls import reverse

from accounts.models import Organization


def portal_base(request=None) -> str:
    if settings.PORTAL_BASE_URL:
        return settings.PORTAL_BASE_URL
    if request is None:
        return "http://localhost"
    return f"{request.scheme}://{request.get_host()}"


def sp_entity_id(organization: Organization, base: str) -> str:
    return base + reverse("sso-metadata", kwargs={"slug": organization.slug})


def sp_acs_url(organization: Organization, base: str) -> str:
    return base + reverse("sso-acs", kwargs={"slug": organization.slug})


def sp_login_url(organization: Organization, base: str) -> str:
    return base + reverse("sso-login", kwargs={"slug": organization.slug})
