"""
Reads compiled to SQL by the ORM once and run again with new values (issue 15).

Django compiles a QuerySet to SQL each time it is evaluated. For the few reads every SCIM
request makes (its bearer token, Entra's `userName eq "…"` match, a page's values and groups)
compiling cost far more CPU than PostgreSQL spent answering them (0.1 ms). A statement here is the
ORM's own SQL and value converters for one query *shape*: the caller names the shape with a key
and builds the queryset from placeholder values; the positions of those values among the query's
parameters are found by compiling it twice, with two different sets of placeholders. Whatever
the ORM does with a value other than binding it (or a rendering listed in _renderings) leaves
the shape unprepared, and the caller evaluates its queryset the ordinary way.
"""

import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from django.core.exceptions import EmptyResultSet
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import QuerySet


# Statements kept per thread (a database connection belongs to one thread, and so do the
# converters compiled for it); beyond this, the least recently used shape is compiled again.
MAX_STATEMENTS = 256
_UNPREPARED = object()  # a shape found unpreparable (remembered, so it is not compiled again)
_local = threading.local()


@dataclass(frozen=True)
class _Statement:
    sql: str
    bindings: tuple  # per parameter: (index of the value, rendering) or (None, constant)
    converters: dict  # the compiler's converters of the selected columns, for this connection
    compiler: object


def rows(key, build: Callable[..., QuerySet], *values, using: str = DEFAULT_DB_ALIAS) -> list[tuple]:
    """
    The rows of `build(*values)` (a values_list queryset), as a prepared statement: `key` must
    name everything the SQL depends on except `values` (str, int or UUID each). A shape that
    cannot be prepared is evaluated by the ORM, with the same rows.
    """
    connection = connections[using]
    cache = _cache(connection)
    kinds = tuple(type(value) for value in values)
    statement = cache.get((key, kinds))
    if statement is None:
        statement = _prepare(build, kinds, connection, using)
        cache[(key, kinds)] = statement
        if len(cache) > MAX_STATEMENTS:
            cache.popitem(last=False)
    else:
        cache.move_to_end((key, kinds))
    if statement is _UNPREPARED:
        return list(build(*values).using(using))
    params = [
        constant if index is None else render(values[index]) for index, render, constant in statement.bindings
    ]
    with connection.cursor() as cursor:
        cursor.execute(statement.sql, params)
        fetched = cursor.fetchall()
    if statement.converters:
        return [tuple(row) for row in statement.compiler.apply_converters(fetched, statement.converters)]
    return [tuple(row) for row in fetched]


def forget() -> None:
    """Drop this thread's statements: each shape is composed and compiled again when next read."""
    _local.caches = {}


def _cache(connection) -> OrderedDict:
    caches = getattr(_local, "caches", None)
    if caches is None:
        caches = _local.caches = {}
    entry = caches.get(connection.alias)
    if entry is None or entry[0] is not connection:
        entry = caches[connection.alias] = (connection, OrderedDict())
    return entry[1]


def _prepare(build, kinds: tuple, connection, using: str):
    first, second = _placeholders(kinds, 1), _placeholders(kinds, 2)
    try:
        compiled = [_compiled(build(*placeholders), using) for placeholders in (first, second)]
    except EmptyResultSet:
        return _UNPREPARED
    except Exception:
        # The caller refused a placeholder (a filter's dateTime or id must be one): the shape
        # depends on the value. The ORM runs it with the real one, which answers any error.
        return _UNPREPARED
    (sql, params, compiler), (other_sql, other_params, _) = compiled
    if sql != other_sql or len(params) != len(other_params):
        return _UNPREPARED
    bindings, bound = [], set()
    for param, other in zip(params, other_params, strict=True):
        binding = _binding(param, other, first, second, connection)
        if binding is None:
            return _UNPREPARED
        bindings.append(binding)
        bound.add(binding[0])
    if bound - {None} != set(range(len(kinds))):
        return _UNPREPARED  # a value that does not reach the SQL decided its shape: not preparable
    fields = [column[0] for column in compiler.select[: compiler.col_count]]
    return _Statement(sql, tuple(bindings), compiler.get_converters(fields), compiler)


def _compiled(queryset: QuerySet, using: str):
    compiler = queryset.query.get_compiler(using=using)
    sql, params = compiler.as_sql()
    return sql, tuple(params), compiler


def _binding(param, other, first: tuple, second: tuple, connection):
    """(value index, rendering, None) for a parameter that carries a value; (None, None, p) for a constant."""
    for index, (one, two) in enumerate(zip(first, second, strict=True)):
        for render in _renderings(connection):
            if _same(render(one), param) and _same(render(two), other):
                return index, render, None
    if _same(param, other):
        return None, None, param
    return None


def _same(a, b) -> bool:
    return type(a) is type(b) and a == b


def _renderings(connection) -> tuple:
    """How the ORM may put a value into its parameters: as is, a UUID as hex where the database
    has no uuid type (SQLite), a string escaped for LIKE where iexact is a LIKE (SQLite)."""
    return (
        _as_is,
        _hex,
        connection.ops.prep_for_iexact_query,
    )


def _as_is(value):
    return value


def _hex(value):
    return value.hex if isinstance(value, uuid.UUID) else _UNPREPARED


def _placeholders(kinds: tuple, variant: int) -> tuple:
    """Values no real request sends, unlike each other and changed by any case folding or escaping."""
    values = []
    for index, kind in enumerate(kinds):
        if kind is str:
            values.append(f"Prepared-{variant}-{index}-%_\\")
        elif kind is int:
            values.append(-(variant * 1_000_000_007 + index))
        elif kind is uuid.UUID:
            values.append(uuid.UUID(int=(variant << 64) + index + 1))
        else:
            raise TypeError(f"a prepared value is a str, int or UUID, not {kind.__name__}")
    return tuple(values)
