"""
Work groups and their memberships.

Membership writes never read the member list: adding or removing members costs the same for a
group of ten as for one of 100,000. The group row is locked for the duration, so concurrent
requests on one group apply one after the other and none is lost.
"""

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Exists, F, OuterRef
from django.utils import timezone

from accounts.attributes import GroupAttributes
from accounts.exceptions import AccountNotFound, InvalidAttributeValue, VersionMismatch
from accounts.models import GroupMembership, Organization, WorkAccount, WorkGroup
from accounts.selectors import live_accounts
from accounts.services.common import IntegrityErrorTranslator, PropertyChange, check_length


DISPLAY_NAME_TAKEN = "displayName '{display_name}' is already taken in this organization."
DISPLAY_NAME_REQUIRED = "displayName is required and cannot be empty."
MEMBER_UNKNOWN = "members: '{member_id}' is not a work account of this organization."
GROUP_NOT_FOUND = "Resource {group_id} not found"
INSERT_BATCH = 5000


@dataclass(frozen=True)
class MembershipUpdate:
    """
    Member changes of one request. With `replacement`, the group's members become exactly that
    set (applied as a difference); otherwise `add` and `remove` are applied.
    """

    add: frozenset[uuid.UUID] = frozenset()
    remove: frozenset[uuid.UUID] = frozenset()
    replacement: frozenset[uuid.UUID] | None = None


@dataclass(frozen=True)
class GroupChange:
    group: WorkGroup
    attributes: GroupAttributes
    changes: tuple[PropertyChange, ...]
    members_added: int = 0
    members_removed: int = 0
    added_ids: tuple = field(default=())


def group_create(
    *, organization: Organization, attributes: GroupAttributes, member_ids: frozenset[uuid.UUID] = frozenset()
) -> GroupChange:
    """Create a group, with members if given; a taken displayName (any case) is a conflict."""
    with _translated_integrity_errors(attributes), transaction.atomic():
        _validate(attributes)
        _check_members_exist(organization, member_ids)
        now = timezone.now()
        group = WorkGroup(organization=organization, created_at=now, updated_at=now)
        group.display_name = attributes.display_name
        group.external_id = attributes.external_id
        group.save(force_insert=True)
        _insert_members(group, member_ids)
    changes = tuple(
        PropertyChange(name, None, value)
        for name, value in (
            ("display_name", attributes.display_name),
            ("external_id", attributes.external_id),
        )
        if value is not None
    )
    if member_ids:
        changes += (members_change(_names_of(sorted(member_ids)), {}),)
    return GroupChange(group=group, attributes=attributes, changes=changes, members_added=len(member_ids))


def group_update(
    *,
    organization: Organization,
    group_id: uuid.UUID,
    transform: Callable[[GroupAttributes], GroupAttributes] | None = None,
    membership: MembershipUpdate | None = None,
    expected_version: int | None = None,
) -> GroupChange:
    """
    Change a group's attributes and members in one transaction: an unknown member id (of those
    being added) or a taken displayName changes nothing. Adding a member twice or removing a
    non-member succeeds and changes nothing.
    """
    membership = membership or MembershipUpdate()
    if transform is None and membership.replacement is None and expected_version is None:
        return _update_members(organization, group_id, membership)
    transform = transform or (lambda current: current)
    guard = _translated_integrity_errors()
    with guard, transaction.atomic():
        group = _locked_group(organization, group_id, expected_version)
        current = GroupAttributes(display_name=group.display_name, external_id=group.external_id)
        desired = guard.attributes = transform(current)
        changes = [
            PropertyChange(name, getattr(current, name), getattr(desired, name))
            for name in ("display_name", "external_id")
            if getattr(current, name) != getattr(desired, name)
        ]
        if changes:
            _validate(desired)
        added, removed = _apply_membership(organization, group, membership)
        if added or removed:
            changes.append(members_change(added, removed))
        if changes:
            group.display_name, group.external_id = desired.display_name, desired.external_id
            group.updated_at, group.version = timezone.now(), group.version + 1
            group.save(update_fields=["display_name", "external_id", "updated_at", "version"])
    return GroupChange(
        group=group,
        attributes=desired,
        changes=tuple(changes),
        members_added=len(added),
        members_removed=len(removed),
        added_ids=tuple(added),
    )


def _update_members(
    organization: Organization, group_id: uuid.UUID, membership: MembershipUpdate
) -> GroupChange:
    """
    Adds and removes only (Entra's everyday PATCH): no row lock on the group, so concurrent
    requests for one group do not queue. The membership key makes concurrent adds safe, and the
    version is bumped with an atomic increment.
    """
    with transaction.atomic():
        try:
            group = WorkGroup.objects.get(organization=organization, pk=group_id)
        except (WorkGroup.DoesNotExist, ValueError):
            raise AccountNotFound(GROUP_NOT_FOUND.format(group_id=group_id)) from None
        added, removed = _apply_membership(organization, group, membership)
        changes = ()
        if added or removed:
            changes = (members_change(added, removed),)
            now = timezone.now()
            WorkGroup.objects.filter(pk=group.pk).update(updated_at=now, version=F("version") + 1)
            # The in-memory version is a lower bound: a concurrent request may have bumped it too.
            group.updated_at, group.version = now, group.version + 1
    attributes = GroupAttributes(display_name=group.display_name, external_id=group.external_id)
    return GroupChange(
        group=group,
        attributes=attributes,
        changes=changes,
        members_added=len(added),
        members_removed=len(removed),
        added_ids=tuple(added),
    )


@transaction.atomic
def group_delete(
    *, organization: Organization, group_id: uuid.UUID, expected_version: int | None = None
) -> WorkGroup:
    """Delete a group and its memberships (its accounts stay)."""
    group = _locked_group(organization, group_id, expected_version)
    GroupMembership.objects.filter(group=group).delete()
    group.delete()
    return group


# Helpers ------------------------------------------------------------------------------------------


def _locked_group(organization: Organization, group_id: uuid.UUID, expected_version: int | None) -> WorkGroup:
    try:
        group = WorkGroup.objects.select_for_update().get(organization=organization, pk=group_id)
    except (WorkGroup.DoesNotExist, ValueError):
        raise AccountNotFound(GROUP_NOT_FOUND.format(group_id=group_id)) from None
    if expected_version is not None and expected_version != group.version:
        raise VersionMismatch(f'The resource has changed: its version is W/"{group.version}".')
    return group


def _validate(attributes: GroupAttributes) -> None:
    if not attributes.display_name or not attributes.display_name.strip():
        raise InvalidAttributeValue(DISPLAY_NAME_REQUIRED)
    check_length(WorkGroup, "display_name", attributes.display_name)
    check_length(WorkGroup, "external_id", attributes.external_id)


def _check_members_exist(organization: Organization, member_ids) -> None:
    if not member_ids:
        return
    found = set(
        _lock_for_membership(live_accounts(organization=organization).filter(pk__in=member_ids)).values_list(
            "pk", flat=True
        )
    )
    _refuse_missing(member_ids, found)


def _refuse_missing(member_ids, found) -> None:
    missing = sorted(str(i) for i in set(member_ids) - set(found))
    if missing:
        raise InvalidAttributeValue(MEMBER_UNKNOWN.format(member_id=missing[0]))


def _apply_membership(organization: Organization, group: WorkGroup, membership: MembershipUpdate):
    """
    Return (accounts added, accounts removed) as {id: name}. Reads only the rows named by the
    change, names included, so the log can say who was added or removed without another query.
    """
    if membership.replacement is not None:
        wanted = set(membership.replacement)
        _check_members_exist(organization, wanted)
        # A replace needs the current set to compute the difference (Zulip does the same).
        current = set(GroupMembership.objects.filter(group=group).values_list("account_id", flat=True))
        added = wanted - current
        removed = current - wanted
        _insert_members(group, added)
        if removed:
            GroupMembership.objects.filter(group=group, account_id__in=removed).delete()
        return _names_of(sorted(added)), _names_of(sorted(removed))

    added = {}
    if membership.add:
        # One query: which ids are accounts of the organization, and which are members already.
        rows = (
            _lock_for_membership(live_accounts(organization=organization).filter(pk__in=membership.add))
            .annotate(is_member=Exists(GroupMembership.objects.filter(group=group, account=OuterRef("pk"))))
            .values_list("pk", "is_member", "display_name", "user_name")
        )
        found = {
            pk: (is_member, display_name or user_name) for pk, is_member, display_name, user_name in rows
        }
        _refuse_missing(membership.add, found)
        added = {pk: name for pk, (is_member, name) in sorted(found.items()) if not is_member}
        _insert_members(group, added)
    removed = {}
    if membership.remove:
        rows = (
            WorkAccount.objects.filter(pk__in=membership.remove)
            .annotate(is_member=Exists(GroupMembership.objects.filter(group=group, account=OuterRef("pk"))))
            .filter(is_member=True)
            .values_list("pk", "display_name", "user_name")
        )
        removed = {pk: display_name or user_name for pk, display_name, user_name in sorted(rows)}
        if removed:
            GroupMembership.objects.filter(group=group, account_id__in=removed).delete()
    return added, removed


NAMED_MEMBERS = 10


def _names_of(account_ids: list) -> dict:
    """{id: displayName or userName} of the first NAMED_MEMBERS ids, None for the others (not read)."""
    named = dict.fromkeys(account_ids)
    rows = WorkAccount.objects.filter(pk__in=account_ids[:NAMED_MEMBERS]).values_list(
        "pk", "display_name", "user_name"
    )
    for pk, display_name, user_name in rows:
        named[pk] = display_name or user_name
    return named


def members_change(added: dict, removed: dict) -> PropertyChange:
    """
    The log's "members" property: who was added and removed, by name ("+ Alice Example, − Bob"),
    the first NAMED_MEMBERS of each and a count of the rest.
    """
    parts = []
    for sign, accounts, verb in (("+", added, "added"), ("−", removed, "removed")):
        names = [name for name in accounts.values() if name][:NAMED_MEMBERS]
        parts += [f"{sign} {name}" for name in names]
        if len(accounts) > len(names):
            parts.append(f"{sign} {len(accounts) - len(names):,} more {verb}")
    return PropertyChange("members", None, ", ".join(parts))


def _lock_for_membership(accounts):
    """
    Lock the accounts being added until commit, so a concurrent DELETE of one of them (which
    removes its memberships) cannot miss the new membership. NO KEY UPDATE conflicts with the
    delete's row lock but not with the key-share locks of the membership foreign keys.
    """
    return accounts.select_for_update(no_key=True, of=("self",))


def _insert_members(group: WorkGroup, account_ids) -> None:
    if not account_ids:
        return
    now = timezone.now()
    rows = [GroupMembership(group=group, account_id=pk, created_at=now) for pk in account_ids]
    GroupMembership.objects.bulk_create(rows, batch_size=INSERT_BATCH, ignore_conflicts=True)


def _translated_integrity_errors(attributes: GroupAttributes | None = None) -> IntegrityErrorTranslator:
    return IntegrityErrorTranslator(
        "group_display_name_ci_unique",
        lambda a: DISPLAY_NAME_TAKEN.format(display_name=a.display_name if a else ""),
        "The group was changed by another request at the same time; retry.",
        attributes,
    )
