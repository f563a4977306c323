"""Reads of organizations, work accounts and groups. Every account query starts from live_accounts()."""

import functools
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import (
    BooleanField,
    CharField,
    F,
    PositiveSmallIntegerField,
    Prefetch,
    QuerySet,
    Value,
)
from django.db.models.functions import Cast, Coalesce, NullIf

from accounts import loaded, prepared
from accounts.attributes import ADDRESS_PARTS, SIMPLE_FIELDS, AccountAttributes, ContactValue, PostalAddress
from accounts.loaded import GROUP_ORDER, VALUE_COLUMNS, VALUE_ORDER
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


def with_values_and_groups(queryset: QuerySet[WorkAccount]) -> QuerySet[WorkAccount]:
    """Load emails, phoneNumbers and addresses of every account in one extra query, and its
    groups (the User's read-only `groups`) in another."""
    return queryset.prefetch_related(_values_prefetch(), _groups_prefetch())


@functools.cache
def _values_queryset() -> QuerySet[WorkAccountValue]:
    return WorkAccountValue.objects.order_by(*VALUE_ORDER)


def _values_prefetch() -> Prefetch:
    # A clone of a queryset built once: building it was a fifth of a list request's hooks (issue 15).
    return Prefetch("multi_values", queryset=_values_queryset().all())


def with_values_and_groups_loaded(account: WorkAccount) -> WorkAccount:
    """One account read on its own, with its values and groups: as its read loaded them
    (WorkAccountManager.get, on PostgreSQL), or in one extra query."""
    if not loaded.is_loaded(account):
        load_values_and_groups([account])
    return account


def account_attributes(account: WorkAccount) -> AccountAttributes:
    """The provisioned attributes of an account (multi-values loaded, or from the prefetch cache)."""
    values = getattr(account, _LOADED_VALUES, None)
    if values is None:
        values = [tuple(getattr(row, name) for name in VALUE_COLUMNS) for row in account.multi_values.all()]
    emails, phones, addresses = [], [], []
    for attribute, kind, primary, display, value, *parts in values:
        if attribute == ValueAttribute.ADDRESSES:
            addresses.append(
                PostalAddress(type=kind, primary=primary, **dict(zip(ADDRESS_PARTS, parts, strict=True)))
            )
        else:
            element = ContactValue(value=value, type=kind, primary=primary, display=display)
            (emails if attribute == ValueAttribute.EMAILS else phones).append(element)
    return AccountAttributes(
        active=account.is_active,
        emails=tuple(emails),
        phone_numbers=tuple(phones),
        addresses=tuple(addresses),
        roles=tuple(account.roles or ()),
        manager_id=account.manager_id,
        manager_reference=account.manager_reference,
        **{name: getattr(account, name) for name in SIMPLE_FIELDS},
    )


def organization_groups(*, organization: Organization) -> QuerySet[WorkGroup]:
    return WorkGroup.objects.filter(organization=organization)


@functools.cache
def _groups_queryset() -> QuerySet[GroupMembership]:
    return (
        GroupMembership.objects.select_related("group")
        .only("account_id", "group__id", "group__display_name")
        .order_by(*GROUP_ORDER)
    )


def _groups_prefetch() -> Prefetch:
    return Prefetch("memberships", queryset=_groups_queryset().all())


def account_groups(account: WorkAccount) -> list[tuple]:
    """(group id, displayName) of the account's groups: loaded, from the prefetch cache, or one query."""
    loaded = getattr(account, _LOADED_GROUPS, None)
    if loaded is not None:
        return loaded
    if "memberships" in getattr(account, "_prefetched_objects_cache", {}):
        return [(m.group_id, m.group.display_name) for m in account.memberships.all()]
    # A write's answer: one account's groups, compiled once like a page's (accounts.prepared).
    return [tuple(group) for _, *group in prepared.rows(("account-groups", 1), _groups_query, account.pk)]


# Accounts read as rows (SCIM reads, issue 15) ---------------------------------------------------

# The columns a User resource is rendered from (and the provisioning log names it by); the rest
# of the account (its password hash, sign-in state) is never read for SCIM. In the model's order,
# as Model.from_db takes them.
_DOCUMENT_COLUMNS = {
    "id",
    "organization_id",
    *SIMPLE_FIELDS,
    "is_active",
    "roles",
    "manager_id",
    "manager_reference",
    "date_joined",
    "updated_at",
    "version",
}
DOCUMENT_FIELDS = tuple(
    f.attname for f in WorkAccount._meta.concrete_fields if f.attname in _DOCUMENT_COLUMNS
)
# Where load_values_and_groups leaves an account's rows for account_attributes and account_groups.
_LOADED_VALUES, _LOADED_GROUPS = loaded.LOADED_VALUES, loaded.LOADED_GROUPS


def document_rows(queryset: QuerySet[WorkAccount]) -> QuerySet:
    """
    The accounts as rows for accounts_from_rows: DOCUMENT_FIELDS and, on PostgreSQL, the
    account's values and groups as two JSON columns of the same statement (accounts.loaded): a
    read is one round trip fewer (issue 15). SQLite has no jsonb_agg: its
    values and groups are one statement after the page (load_values_and_groups).
    """
    if connections[queryset.db].vendor != "postgresql":
        return queryset.values_list(*DOCUMENT_FIELDS)
    return loaded.with_json_columns(queryset).values_list(*DOCUMENT_FIELDS, *loaded.JSON_COLUMNS)


def accounts_from_rows(rows: list[tuple]) -> list[WorkAccount]:
    """Accounts from document_rows, with their values and groups loaded."""
    width = len(DOCUMENT_FIELDS)
    if rows and len(rows[0]) == width:
        accounts = [WorkAccount.from_db(DEFAULT_DB_ALIAS, DOCUMENT_FIELDS, row) for row in rows]
        load_values_and_groups(accounts)
        return accounts
    accounts = []
    for row in rows:
        account = WorkAccount.from_db(DEFAULT_DB_ALIAS, DOCUMENT_FIELDS, row[:width])
        loaded.set_loaded(account, row[width], row[width + 1])
        accounts.append(account)
    return accounts


def load_values_and_groups(accounts: list[WorkAccount]) -> None:
    """
    The values and groups of the accounts, in one statement compiled once per number of accounts
    (accounts.prepared): the value rows and the membership rows as one UNION ALL, in the order
    with_values_and_groups prefetches each. A statement fewer per read: every round trip costs
    about 50 µs of CPU on the client side (issue 15).
    """
    if not accounts:
        return
    ids = tuple(account.pk for account in accounts)
    values = {account_id: [] for account_id in ids}
    groups = {account_id: [] for account_id in ids}
    for account_id, attribute, _position, display, kind, *rest in prepared.rows(
        ("account-values-and-groups", len(ids)), _values_and_groups_query, *ids
    ):
        if attribute == _MEMBERSHIP_ROW:
            groups[account_id].append((uuid.UUID(kind), display))
        else:
            primary, value, *parts = rest
            values[account_id].append((attribute, kind, primary, display, value, *parts))
    for account in accounts:
        setattr(account, _LOADED_VALUES, values[account.pk])
        setattr(account, _LOADED_GROUPS, groups[account.pk])


# What a membership row of _values_and_groups_query has in the attribute column (no value's
# attribute: those are ValueAttribute's).
_MEMBERSHIP_ROW = "#group"


def _values_and_groups_query(*account_ids):
    """
    (account, attribute, position, display, type, primary, value, *address parts) of each value;
    and of each membership (account, "#group", 0, the group's displayName, its id as text, …NULL),
    ordered by account, attribute, position, display: values as VALUE_ORDER, an account's groups by
    displayName as GROUP_ORDER.
    """
    # .order_by(): no ordering of the models' own Meta inside the compound statement.
    values = (
        WorkAccountValue.objects.filter(account_id__in=account_ids)
        .order_by()
        .values_list(
            "account_id", "attribute", "position", "display", "type", "primary", "value", *ADDRESS_PARTS
        )
    )
    text = CharField()
    memberships = (
        GroupMembership.objects.filter(account_id__in=account_ids)
        .order_by()
        .values_list(
            "account_id",
            Value(_MEMBERSHIP_ROW, output_field=text),
            Value(0, output_field=PositiveSmallIntegerField()),
            "group__display_name",
            Cast("group_id", output_field=text),
            Value(False, output_field=BooleanField()),
            *[Value(None, output_field=text) for _ in range(1 + len(ADDRESS_PARTS))],
        )
    )
    return values.union(memberships, all=True).order_by("account_id", "attribute", "position", "display")


def _groups_query(*account_ids):
    return (
        GroupMembership.objects.filter(account_id__in=account_ids)
        .order_by(*GROUP_ORDER)
        .values_list("account_id", "group_id", "group__display_name")
    )


def group_member_pages(*, group_id, page_size: int = 5000) -> Iterator[list[tuple]]:
    """
    The members of a group in pages of (account id, display), in id order, one keyset query per
    page joined to the accounts: a 100,000-member group is never held in memory at once.
    """
    last = None
    while True:
        # The keyset on both sides of the join: with it on the memberships only, PostgreSQL
        # merge-joined the accounts from the start of their key, so the 10th page of 5,000 read
        # 50,000 accounts (a 100,000-member GET: 1.1 s before display, 2.1 s with this join).
        # One filter() call: a second would join the memberships again (a row per other group).
        keyset = {} if last is None else {"id__gt": last, "memberships__account_id__gt": last}
        rows = WorkAccount.objects.filter(memberships__group_id=group_id, **keyset)
        page = list(
            rows.order_by("id").annotate(display=member_display()).values_list("id", "display")[:page_size]
        )
        if page:
            yield page
        if len(page) < page_size:
            return
        last = page[-1][0]


def member_display(prefix: str = ""):
    """
    A member's `display` (RFC 7643 §4.2): the account's displayName, or its userName when it has
    none (an account provisioned without one would otherwise show an empty name).
    """
    return Coalesce(NullIf(F(f"{prefix}display_name"), Value("")), F(f"{prefix}user_name"))


# Portal pages --------------------------------------------------------------------------------------

# (human label, SCIM name, model field) in the order a person reads an account.
PROFILE_FIELDS = (
    ("Display name", "displayName", "display_name"),
    ("User name", "userName", "user_name"),
    ("Given name", "name.givenName", "name_given_name"),
    ("Middle name", "name.middleName", "name_middle_name"),
    ("Family name", "name.familyName", "name_family_name"),
    ("Full name", "name.formatted", "name_formatted"),
    ("Prefix", "name.honorificPrefix", "name_honorific_prefix"),
    ("Suffix", "name.honorificSuffix", "name_honorific_suffix"),
    ("Nickname", "nickName", "nick_name"),
    ("Job title", "title", "title"),
    ("Department", "department", "department"),
    ("Division", "division", "division"),
    ("Company", "organization (enterprise)", "enterprise_organization"),
    ("Cost center", "costCenter", "cost_center"),
    ("Employee number", "employeeNumber", "employee_number"),
    ("User type", "userType", "user_type"),
    ("Preferred language", "preferredLanguage", "preferred_language"),
    ("Locale", "locale", "locale"),
    ("Time zone", "timezone", "timezone"),
    ("Profile URL", "profileUrl", "profile_url"),
    ("Source id", "externalId", "external_id"),
)
VALUE_LABELS = {
    ValueAttribute.EMAILS: ("E-mail", "emails"),
    ValueAttribute.PHONE_NUMBERS: ("Phone", "phoneNumbers"),
    ValueAttribute.ADDRESSES: ("Address", "addresses"),
}


@dataclass(frozen=True)
class ProfileRow:
    label: str
    scim_name: str
    value: str


def contact_text(row: WorkAccountValue) -> str:
    """One e-mail, phone number or address as a person reads it: "a@b.example (work, primary)"."""
    if row.attribute == ValueAttribute.ADDRESSES:
        text = row.formatted or ", ".join(
            part
            for part in (row.street_address, row.locality, row.region, row.postal_code, row.country)
            if part
        )
    else:
        text = row.value or row.display or ""
    notes = ", ".join(note for note in (row.type, "primary" if row.primary else "") if note)
    return f"{text} ({notes})" if notes else text


def account_profile(*, account: WorkAccount) -> list[ProfileRow]:
    """The attributes of an account that are set, with human labels and their SCIM names."""
    rows = [
        ProfileRow(label, scim_name, str(getattr(account, field)))
        for label, scim_name, field in PROFILE_FIELDS
        if getattr(account, field) not in (None, "")
    ]
    for value in account.multi_values.all():
        label, scim_name = VALUE_LABELS[value.attribute]
        text = contact_text(value)
        if text:
            rows.append(ProfileRow(label, scim_name, text))
    if account.roles:
        roles = [
            str(role.get("value") or role.get("display") or role) if isinstance(role, dict) else str(role)
            for role in account.roles
        ]
        rows.append(ProfileRow("Roles", "roles", ", ".join(roles)))
    return rows


MEMBER_PAGE_SIZE = 50


@dataclass(frozen=True)
class MemberPage:
    members: list
    next_after: object  # the last id shown when there are more, else None
    total: int


def group_member_page(*, group: WorkGroup, after=None, size: int = MEMBER_PAGE_SIZE) -> MemberPage:
    """
    One page of a group's members in id order, by keyset (`after` the last id of the previous
    page): the membership key (group, account) serves it, so page 2,000 of a 100,000-member group
    costs what page 1 does.
    """
    rows = GroupMembership.objects.filter(group=group)
    if after is not None:
        rows = rows.filter(account_id__gt=after)
    # The ids first (an index-only range of the membership key), then those accounts by primary
    # key: joined in one query, PostgreSQL merge-joined the accounts from the start of their index
    # (340 ms for a middle page of 100,000 members).
    ids = list(rows.order_by("account_id").values_list("account_id", flat=True)[: size + 1])
    more = len(ids) > size
    ids = ids[:size]
    accounts = WorkAccount.objects.filter(pk__in=ids).only("user_name", "display_name", "is_active")
    return MemberPage(
        members=sorted(accounts, key=lambda account: account.pk),
        next_after=ids[-1] if more else None,
        total=GroupMembership.objects.filter(group=group).count(),
    )
