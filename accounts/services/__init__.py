"""
Every write to the accounts domain goes through these services; each owns its transaction.
Split by entity, re-exported here so callers import from `accounts.services`.
"""

from accounts.services.common import TOO_LONG, PropertyChange
from accounts.services.groups import (
    DISPLAY_NAME_TAKEN,
    MEMBER_UNKNOWN,
    GroupChange,
    MembershipUpdate,
    group_create,
    group_delete,
    group_update,
)
from accounts.services.organizations import SLUG_TAKEN, organization_create, organization_get
from accounts.services.work_accounts import (
    CONCURRENT_CHANGE,
    MANAGER_SELF,
    MANAGER_UNKNOWN,
    MANAGER_UNRESOLVED,
    TWO_PRIMARIES,
    USERNAME_REQUIRED,
    USERNAME_TAKEN,
    AccountChange,
    account_create,
    account_delete,
    account_set_password,
    account_set_role,
    account_update,
    admin_create,
)


__all__ = [
    "CONCURRENT_CHANGE",
    "DISPLAY_NAME_TAKEN",
    "MANAGER_SELF",
    "MANAGER_UNKNOWN",
    "MANAGER_UNRESOLVED",
    "MEMBER_UNKNOWN",
    "SLUG_TAKEN",
    "TOO_LONG",
    "TWO_PRIMARIES",
    "USERNAME_REQUIRED",
    "USERNAME_TAKEN",
    "AccountChange",
    "GroupChange",
    "MembershipUpdate",
    "PropertyChange",
    "account_create",
    "account_delete",
    "account_set_password",
    "account_set_role",
    "account_update",
    "admin_create",
    "group_create",
    "group_delete",
    "group_update",
    "organization_create",
    "organization_get",
]
