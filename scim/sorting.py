"""
sortBy/sortOrder (RFC 7644 §3.4.2.3) for index and cursor paging, on the attributes an index
orders: each resource type declares its SortKeys (scim.users.filters, scim.groups.filters). Any
other attribute is a 400 invalidValue rather than a silently unsorted page: ServiceProviderConfig
says sort is supported, so a client must be able to trust an answered sortBy.
"""

from dataclasses import dataclass

from django.db.models import F, Q
from django.db.models.fields import tuple_lookups

from scim import constants
from scim.errors import bad_request


ASCENDING, DESCENDING = "ascending", "descending"
SORT_VALUE = "scim_sort_value"  # the annotation that carries a row's sort value (cursor positions)


@dataclass(frozen=True)
class SortKey:
    name: str  # the SCIM name as documented, e.g. "meta.lastModified"
    expression: object  # an ORM expression over the model, matching an index's expression
    kind: str = "string"  # "string" or "dateTime": how a cursor carries a position
    # Unique among the listed rows (live accounts of one organization): no id tie-break needed.
    unique: bool = False
    nullable: bool = False


@dataclass(frozen=True)
class Sort:
    key: SortKey
    descending: bool = False

    @property
    def fingerprint(self) -> str:
        return f"{self.key.name}:{'d' if self.descending else 'a'}"

    def ordering(self, reverse: bool = False) -> list:
        """ORDER BY terms; nulls last when ascending, first when descending (RFC 7644 §3.4.2.3)."""
        descending = self.descending != reverse
        terms = [_term(F(SORT_VALUE), descending)]
        if not self.key.unique:
            terms.append(_term(F("pk"), descending))
        return terms

    def annotate(self, queryset):
        return queryset.annotate(**{SORT_VALUE: self.key.expression})

    def after(self, value, pk, *, reverse: bool, inclusive: bool):
        """Rows after the position (value, pk) in this order (reversed: before it)."""
        descending = self.descending != reverse
        beyond = ("lte" if inclusive else "lt") if descending else ("gte" if inclusive else "gt")
        if self.key.unique:
            return Q(**{f"{SORT_VALUE}__{beyond}": value})
        if value is None:  # only a nullable key: the position is among the rows without a value
            same = Q(**{f"{SORT_VALUE}__isnull": True, f"pk__{beyond}": pk})
            # Descending puts nulls first: every row with a value comes after them.
            return same | Q(**{f"{SORT_VALUE}__isnull": False}) if descending else same
        # A row comparison, (value, id) > (v, pk): one index range even where many rows share a
        # value (a bulk import's timestamp), where `value >= v AND (value > v OR id > pk)` scans them.
        after = Q(_ROW_COMPARISONS[beyond]((F(SORT_VALUE), F("pk")), (value, pk)))
        if self.key.nullable and not descending:
            after |= Q(**{f"{SORT_VALUE}__isnull": True})  # ascending puts nulls last
        return after


# Django's own row-value lookups (behind composite primary keys), with their fallback SQL for
# databases without row values.
_ROW_COMPARISONS = {
    "gt": tuple_lookups.TupleGreaterThan,
    "gte": tuple_lookups.TupleGreaterThanOrEqual,
    "lt": tuple_lookups.TupleLessThan,
    "lte": tuple_lookups.TupleLessThanOrEqual,
}


def _term(expression, descending: bool):
    return expression.desc(nulls_first=True) if descending else expression.asc(nulls_last=True)


def parse_sort(params, keys: dict[str, SortKey], default: str, resource_type) -> Sort:
    """The request's sort; `default` (a key of `keys`) when sortBy is absent."""
    sort_by = params.get("sortBy")
    order = params.get("sortOrder")
    if order not in (None, "") and (
        not isinstance(order, str) or order.strip().lower() not in (ASCENDING, DESCENDING)
    ):
        raise bad_request(constants.BAD_SORT_ORDER.format(value=order), constants.INVALID_VALUE)
    descending = isinstance(order, str) and order.strip().lower() == DESCENDING
    if sort_by is None or sort_by == "":
        return Sort(keys[default], descending)
    key = keys.get(_sort_name(sort_by, resource_type.core.id)) if isinstance(sort_by, str) else None
    if key is None:
        sortable = ", ".join(k.name for k in keys.values())
        detail = constants.NOT_SORTABLE.format(value=sort_by, resource=resource_type.name, sortable=sortable)
        raise bad_request(detail, constants.INVALID_VALUE)
    return Sort(key, descending)


def _sort_name(sort_by: str, core_urn: str) -> str:
    """Attribute names are case-insensitive and may carry their schema URN (RFC 7644 §3.10)."""
    name = sort_by.strip().lower()
    prefix = core_urn.lower() + ":"
    return name[len(prefix) :] if name.startswith(prefix) else name
