"""Absolute URLs for meta.location and $ref (django-scim2's BASE_LOCATION_GETTER)."""

from django.urls import reverse

from accounts.sso.locations import portal_base


def base_location(request=None, *args, **kwargs) -> str:
    """PORTAL_BASE_URL when set, else the request's host."""
    return portal_base(request)


def resource_location(request, url_name: str, resource_id) -> str:
    return base_location(request) + reverse(url_name, kwargs={"uuid": str(resource_id)})
