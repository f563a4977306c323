"""Organizations: create and look up."""

from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.exceptions import InvalidAttributeValue, OrganizationNotFound, UniquenessConflict
from accounts.models import Organization


SLUG_TAKEN = "An organization with the slug '{slug}' already exists."


@transaction.atomic
def organization_create(*, slug: str, name: str) -> Organization:
    if Organization.objects.filter(slug=slug).exists():
        raise UniquenessConflict(SLUG_TAKEN.format(slug=slug))
    organization = Organization(slug=slug, name=name)
    try:
        organization.full_clean()
    except ValidationError as exc:
        raise InvalidAttributeValue(exc.messages[0] if exc.messages else "Invalid value.") from None
    organization.save()
    return organization


def organization_get(*, slug: str) -> Organization:
    try:
        return Organization.objects.get(slug=slug)
    except Organization.DoesNotExist:
        raise OrganizationNotFound(f"No organization has the slug '{slug}'.") from None
