"""What an admin enters in Entra for a connection: the Tenant URL and the OAuth endpoints."""

from django.urls import reverse

from accounts.sso.locations import portal_base


def scim_base_url(request=None) -> str:
    return portal_base(request) + reverse("scim:root").rstrip("/")


def entra_connection_settings(base: str, issued) -> dict:
    """What an admin enters in Entra for a new connection (IssuedClient); the secret appears once."""
    base = base.rstrip("/")
    return {
        "organization": issued.connection.organization.slug,
        "connection": issued.connection.name,
        "tenant_url": base + reverse("scim:root"),
        "authorization_url": base + reverse("oauth2_provider:authorize"),
        "token_url": base + reverse("oauth2_provider:token"),
        "client_id": issued.client_id,
        "client_secret": issued.client_secret,
        "scope": "scim",
        "redirect_uris": list(issued.redirect_uris),
    }
