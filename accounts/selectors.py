"""Reads of organizations, work accounts and groups. Every account query starts from live_accounts()."""

from collections.abc import Iterator

from django.db.models import Prefetch, QuerySet, prefetch_related_objects

from accounts.attributes import ADDRESS_PARTS, SIMPLE_FIELDS, AccountAttributes, ContactValue, PostalAddress
from accounts.models import (
    GroupMembership,
    Organization,
    ValueAttribute,
    WorkAccount,
    WorkAccountValue,
    WorkGroup,
)


def live_accounts(*, organization: Organization) -> QuerySet[WorkAccount]:
    """The organization's accounts that exist for SCIM (tombstones of deleted ones excluded)."""
    return WorkAccount.objects.filter(**live_accounts_scope(organization=organization))


def live_accounts_scope(*, organization: Organization) -> dict:
    """live_accounts as filter keywords (django-scim2's GET_EXTRA_MODEL_FILTER_KWARGS_GETTER)."""
    return {"organization": organization, "deleted_at__isnull": True}


def with_values(queryset: QuerySet[WorkAccount]) -> QuerySet[WorkAccount]:
    """Load emails, phoneNumbers and addresses of every account in one extra query."""
    return queryset.prefetch_related(_values_prefetch())


def _values_prefetch() -> Prefetch:
    return Prefetch("multi_values", queryset=WorkAccountValue.objects.order_by("attribute", "position"))


def with_values_and_groups_loaded(account: WorkAccount) -> WorkAccount:
    """One account read on its own: its values and groups in two extra queries, as with_values
    and with_groups load them for a list."""
    prefetch_related_objects([account], _values_prefetch(), _groups_prefetch())
    return account


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


def organization_groups(*, organization: Organization) -> QuerySet[WorkGroup]:
    return WorkGroup.objects.filter(organization=organization)


def with_groups(queryset: QuerySet[WorkAccount]) -> QuerySet[WorkAccount]:
    """Load the groups of every account in one extra query (the User's read-only `groups`)."""
    return queryset.prefetch_related(_groups_prefetch())


def _groups_prefetch() -> Prefetch:
    return Prefetch(
        "memberships",
        queryset=GroupMembership.objects.select_related("group")
        .only("account_id", "group__id", "group__display_name")
        .order_by("group__display_name"),
    )


def account_groups(account: WorkAccount) -> list[tuple]:
    """(group id, displayName) of the account's groups: from the prefetch cache, or one query."""
    if "memberships" in getattr(account, "_prefetched_objects_cache", {}):
        return [(m.group_id, m.group.display_name) for m in account.memberships.all()]
    return list(
        GroupMembership.objects.filter(account=account)
        .order_by("group__display_name")
        .values_list("group_id", "group__display_name")
    )


def group_member_pages(*, group_id, page_size: int = 5000) -> Iterator[list]:
    """
    The member ids of a group in pages, in id order, one keyset query per page (an index-only
    scan of the membership key): a 100,000-member group is never held in memory at once.
    """
    last = None
    while True:
        rows = GroupMembership.objects.filter(group_id=group_id)
        if last is not None:
            rows = rows.filter(account_id__gt=last)
        page = list(rows.order_by("account_id").values_list("account_id", flat=True)[:page_size])
        if page:
            yield page
        if len(page) < page_size:
            return
        last = page[-1]
