"""Reads of organizations and work accounts. Every account query starts from live_accounts()."""

from django.db.models import Prefetch, QuerySet

from accounts.attributes import ADDRESS_PARTS, SIMPLE_FIELDS, AccountAttributes, ContactValue, PostalAddress
from accounts.models import Organization, ValueAttribute, WorkAccount, WorkAccountValue


def live_accounts(*, organization: Organization) -> QuerySet[WorkAccount]:
    """The organization's accounts that exist for SCIM (tombstones of deleted ones excluded)."""
    return WorkAccount.objects.filter(organization=organization, deleted_at__isnull=True)


def with_values(queryset: QuerySet[WorkAccount]) -> QuerySet[WorkAccount]:
    """Load emails, phoneNumbers and addresses of every account in one extra query."""
    return queryset.prefetch_related(
        Prefetch("multi_values", queryset=WorkAccountValue.objects.order_by("attribute", "position"))
    )


def account_attributes(account: WorkAccount) -> AccountAttributes:
    """The provisioned attributes of an account (multi-values from the prefetch cache)."""
    emails, phones, addresses = [], [], []
    for row in account.multi_values.all():
        if row.attribute == ValueAttribute.ADDRESSES:
            parts = {part: getattr(row, part) for part in ADDRESS_PARTS}
            addresses.append(PostalAddress(type=row.type, primary=row.primary, **parts))
        else:
            element = ContactValue(value=row.value, type=row.type, primary=row.primary, display=row.display)
            (emails if row.attribute == ValueAttribute.EMAILS else phones).append(element)
    return AccountAttributes(
        active=account.is_active,
        emails=tuple(emails),
        phone_numbers=tuple(phones),
        addresses=tuple(addresses),
        roles=tuple(account.roles or ()),
        manager_id=account.manager_id,
        **{name: getattr(account, name) for name in SIMPLE_FIELDS},
    )
