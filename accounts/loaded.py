"""
An account's emails, phoneNumbers, addresses and groups read together with the account (issue 15),
and where a read leaves them for accounts.selectors (account_attributes, account_groups).

On PostgreSQL they are two JSON columns of the statement that reads the account (jsonb_agg in
the order the ORM's prefetch gives), so a read costs no statement of its own for them. This
module imports no model: it reaches the value and membership models through the account model's
relations, so that models.py (its manager answers django-scim2's GET /Users/{id}) and
selectors can both use it.
"""

import uuid

from django.contrib.postgres.aggregates import JSONBAgg
from django.db.models import OuterRef, QuerySet, Subquery
from django.db.models.functions import JSONArray

from accounts.attributes import ADDRESS_PARTS


# A value row as account_attributes reads it (the columns of WorkAccountValue it renders).
VALUE_COLUMNS = ("attribute", "type", "primary", "display", "value", *ADDRESS_PARTS)
VALUE_ORDER = ("attribute", "position")
GROUP_ORDER = ("group__display_name",)
# The annotations' names ("groups" would be PermissionsMixin's relation).
JSON_COLUMNS = ("scim_values", "scim_groups")
# Where a read leaves an account's rows.
LOADED_VALUES, LOADED_GROUPS = "_loaded_value_rows", "_loaded_group_rows"


def with_json_columns(queryset: QuerySet) -> QuerySet:
    """(PostgreSQL) The accounts with their values and groups as the JSON_COLUMNS."""
    return queryset.annotate(
        scim_values=values_column(queryset.model), scim_groups=groups_column(queryset.model)
    )


def values_column(account_model) -> Subquery:
    """An account's value rows as one JSON column: VALUE_COLUMNS in VALUE_ORDER (NULL: none)."""
    return _rows_column(account_model, "multi_values", JSONArray(*VALUE_COLUMNS), VALUE_ORDER)


def groups_column(account_model) -> Subquery:
    """An account's groups as one JSON column: [group id, displayName] in GROUP_ORDER (NULL: none)."""
    row = JSONArray("group_id", "group__display_name")
    return _rows_column(account_model, "memberships", row, GROUP_ORDER)


def _rows_column(account_model, relation: str, row: JSONArray, order: tuple) -> Subquery:
    related = account_model._meta.get_field(relation).related_model
    return Subquery(
        related.objects.filter(account_id=OuterRef("pk"))
        .order_by()
        .values("account_id")
        .annotate(rows=JSONBAgg(row, order_by=order))
        .values("rows")
    )


def set_loaded(account, values_column_value, groups_column_value) -> None:
    """The values and groups the JSON columns read, left on the account."""
    set_loaded_values(account, values_column_value)
    set_loaded_groups(account, groups_column_value)


def set_loaded_values(account, column) -> None:
    setattr(account, LOADED_VALUES, [tuple(row) for row in column or ()])


def set_loaded_groups(account, column) -> None:
    setattr(account, LOADED_GROUPS, [(uuid.UUID(group_id), name) for group_id, name in column or ()])


def is_loaded(account) -> bool:
    return (
        getattr(account, LOADED_VALUES, None) is not None
        and getattr(account, LOADED_GROUPS, None) is not None
    )
