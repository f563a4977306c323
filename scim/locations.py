"""Absolute URLs for meta.location and $ref: PORTAL_BASE_URL when set, else the request's host."""

from django.conf import settings
from django.urls import reverse


def base_location(request=None, *args, **kwargs) -> str:
    if settings.PORTAL_BASE_URL:
        return settings.PORTAL_BASE_URL
    if request is None:
        return "http://localhost"
    return f"{request.scheme}://{request.get_host()}"


def resource_location(request, url_name: str, resource_id) -> str:
    return base_location(request) + reverse(url_name, kwargs={"uuid": str(resource_id)})


def scim_base_url(request=None) -> str:
    return base_location(request) + reverse("scim:root").rstrip("/")


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
