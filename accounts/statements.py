"""
The few statements every SCIM write runs, compiled once per process and database (issue 15).

Django compiles a queryset's SQL anew on each evaluation; for a PATCH or a POST that compilation
(and the queryset building before it) was the largest share of the request's CPU, larger than
the work itself. A Statement is written as an ordinary queryset; the first call compiles it with
marker arguments and remembers where each marker landed among the SQL parameters, later calls put
their own arguments there and run the same SQL. The SQL and the converters of the selected
columns are exactly the ORM's own; rows come back as values_list() gives them.

Arguments are declared with the model field that prepares them, and must reach the SQL as
parameters of their own (equality lookups and .update() assignments, not `in` lists or lookups
that transform the value): a marker that does not appear among the parameters is refused at the
first call. None binds as SQL NULL, which in a comparison matches nothing (the ORM would write IS
NULL). A compiled statement is immutable, so the threads of a worker share it.
"""

import datetime
import json
import uuid
from collections.abc import Callable

from django.db import DatabaseError, connections, transaction
from django.db.backends.base.operations import BaseDatabaseOperations
from django.db.models import (
    AutoField,
    BigAutoField,
    BigIntegerField,
    BooleanField,
    CharField,
    DateTimeField,
    Field,
    IntegerField,
    JSONField,
    Model,
    PositiveBigIntegerField,
    PositiveIntegerField,
    PositiveSmallIntegerField,
    QuerySet,
    SmallAutoField,
    SmallIntegerField,
    TextField,
    UUIDField,
    Value,
)
from django.db.models.constants import OnConflict
from django.db.models.sql import UpdateQuery


class Statement:
    def __init__(
        self, build: Callable[..., QuerySet], *, update: Callable[..., dict] | None = None, **fields: Field
    ):
        """
        `build(**arguments)` returns the queryset; with `update(**arguments)`, the statement is
        `queryset.update(**update(**arguments))`. `fields` names each argument's model field.
        """
        self.build = build
        self.update = update
        self.fields = fields
        self._compiled = {}

    # Running -------------------------------------------------------------------------------------

    def rows(self, using: str = "default", **arguments) -> list[tuple]:
        """The selected rows, each value converted as the ORM converts it (values_list)."""
        compiled, connection = self._compile(using, arguments)
        with connection.cursor() as cursor:
            cursor.execute(compiled.sql, compiled.bind(arguments, connection))
            rows = cursor.fetchall()
        if compiled.converters:
            rows = [compiled.convert(row, connection) for row in rows]
        return rows

    def bound(self, using: str = "default", **arguments) -> tuple[str, list]:
        """The SQL and parameters rows() or execute() would run (for run_together)."""
        compiled, connection = self._compile(using, arguments)
        return compiled.sql, compiled.bind(arguments, connection)

    def execute(self, using: str = "default", **arguments) -> int:
        """Run an UPDATE; the number of rows it changed."""
        compiled, connection = self._compile(using, arguments)
        with connection.cursor() as cursor:
            # As QuerySet.update: a failed UPDATE inside an atomic block dooms the block.
            with transaction.mark_for_rollback_on_error(using=using):
                cursor.execute(compiled.sql, compiled.bind(arguments, connection))
            return cursor.rowcount

    # Compiling -----------------------------------------------------------------------------------

    def _compile(self, using: str, arguments: dict):
        connection = connections[using]
        compiled = self._compiled.get((using, connection.vendor))
        if compiled is None:
            if set(arguments) != set(self.fields):
                raise TypeError(f"arguments {sorted(arguments)} are not {sorted(self.fields)}")
            compiled = self._compiled[(using, connection.vendor)] = _Compiled(self, using, connection)
        return compiled, connection


class _Compiled:
    def __init__(self, statement: Statement, using: str, connection):
        markers = {name: _marker(field, i) for i, (name, field) in enumerate(statement.fields.items())}
        queryset = statement.build(**markers).using(using)
        if statement.update is not None:
            query = queryset.query.chain(klass=UpdateQuery)
            query.add_update_values(statement.update(**markers))
            compiler = query.get_compiler(using)
            sql, params = compiler.as_sql()
            if query.related_updates:
                raise TypeError("an UPDATE of one table only")
            self.converters = {}
        else:
            compiler = queryset.query.get_compiler(using)
            sql, params = compiler.as_sql()
            columns = [expression for expression, _, _ in compiler.select[: compiler.col_count]]
            self.converters = compiler.get_converters(columns)
        self.sql = sql
        self.template = list(params)
        self.positions = {}
        for name, marker in markers.items():
            field = statement.fields[name]
            prepared = _prepared(field, marker, connection)
            found = [i for i, p in enumerate(params) if type(p) is type(prepared) and p == prepared]
            if not found:
                raise TypeError(f"argument {name!r} does not reach the SQL as a parameter of its own: {sql}")
            self.positions[name] = (field, found)

    def bind(self, arguments: dict, connection) -> list:
        params = list(self.template)
        for name, (field, found) in self.positions.items():
            value = _prepared(field, arguments[name], connection)
            for index in found:
                params[index] = value
        return params

    def convert(self, row: tuple, connection) -> tuple:
        row = list(row)
        for position, (converters, expression) in self.converters.items():
            value = row[position]
            for converter in converters:
                value = converter(value, expression, connection)
            row[position] = value
        return tuple(row)


def _prepared(field: Field, value, connection):
    if value is None:
        return None
    target = getattr(field, "target_field", field)  # a foreign key prepares as the key it points at
    return target.get_db_prep_value(target.get_prep_value(value), connection, prepared=True)


def _marker(field: Field, index: int):
    """A value of the field's type that no statement holds as a constant."""
    target = getattr(field, "target_field", field)
    kind = target.get_internal_type()
    if kind == "UUIDField":
        return uuid.UUID(int=0x5CA1AB1E_0000_4000_8000_000000000000 + index)
    if kind == "DateTimeField":
        return datetime.datetime(1901, 2, 3, 4, 5, index, 678_901, tzinfo=datetime.UTC)
    if kind in BaseDatabaseOperations.integer_field_ranges:
        # Inside the field's range: the ORM drops a comparison with a value beyond it (a `gte`
        # below a positive field's minimum is always true), and the marker would vanish.
        return BaseDatabaseOperations.integer_field_ranges[kind][1] - 12_345 - index
    return f"\x1fmarker-{index}"


def save_columns(instance: Model, names: list[str], using: str = "default") -> None:
    """
    instance.save(update_fields=names), its UPDATE compiled once per model and set of columns.
    For models without save() overrides, pre_save work or signal receivers that these columns
    need: the values are written as they are on the instance.
    """
    if not _columns_update(type(instance), names).run(instance, using):
        raise DatabaseError(_NO_ROW_SAVED)


def save_columns_statement(instance: Model, names: list[str], using: str = "default") -> tuple[str, list]:
    """The SQL and parameters of save_columns(instance, names), for run_together."""
    return _columns_update(type(instance), names).statement(instance, using)


def save_columns_after(
    statements: list[tuple[str, list]], instance: Model, names: list[str], using: str = "default"
) -> None:
    """(PostgreSQL) `statements`, then save_columns(instance, names), as one (run_together)."""
    if not run_together([*statements, save_columns_statement(instance, names, using)], using=using):
        raise DatabaseError(_NO_ROW_SAVED)


_NO_ROW_SAVED = "Save with update_fields did not affect any rows."  # Model.save's own words


def _columns_update(model, names) -> "_ColumnsUpdate":
    key = (model, tuple(names))
    statement = _SAVES.get(key)
    if statement is None:
        statement = _SAVES[key] = _ColumnsUpdate(model, tuple(names))
    return statement


_SAVES: dict = {}


class _ColumnsUpdate:
    """UPDATE <table> SET <columns> WHERE pk = …: the ORM's SQL, whose parameters are the column
    values in order (each a Value, never NULL while compiling) and then the key."""

    def __init__(self, model, names: tuple[str, ...]):
        self.model = model
        self.fields = [model._meta.get_field(name) for name in names]
        self._compiled = {}

    def run(self, instance, using: str) -> int:
        connection = connections[using]
        sql, params = self.statement(instance, using)
        with connection.cursor() as cursor:
            with transaction.mark_for_rollback_on_error(using=using):
                cursor.execute(sql, params)
            return cursor.rowcount

    def statement(self, instance, using: str) -> tuple[str, list]:
        connection = connections[using]
        sql = self._compiled.get((using, connection.vendor))
        if sql is None:
            sql = self._compiled[(using, connection.vendor)] = self._compile(using, connection)
        params = [
            field.get_db_prep_save(getattr(instance, field.attname), connection) for field in self.fields
        ]
        params.append(_prepared(self.model._meta.pk, instance.pk, connection))
        return sql, params

    def _compile(self, using: str, connection) -> str:
        pk = self.model._meta.pk
        key_marker = _marker(pk, 0)
        query = UpdateQuery(self.model)
        query.add_update_values(
            {field.name: Value(_value_marker(field), output_field=field) for field in self.fields}
        )
        query.add_filter("pk", key_marker)
        sql, params = query.get_compiler(using).as_sql()
        if len(params) != len(self.fields) + 1 or params[-1] != _prepared(pk, key_marker, connection):
            raise TypeError(f"not one parameter per column and the key: {sql}")
        return sql


def _as_is(value):
    return value


def _isoformat(value):
    return value.isoformat()


def _json_value(value):
    return value.obj  # psycopg's Jsonb wrapper, which JSONField.get_db_prep_save returns on PostgreSQL


# How a prepared value of each internal type is written into the JSON rows, so that PostgreSQL
# reads back exactly that value for the column (None: the type is not carried this way).
_JSON_ENCODERS = {
    **dict.fromkeys(("CharField", "TextField", "SlugField", "EmailField", "GenericIPAddressField"), _as_is),
    **dict.fromkeys(
        (
            "IntegerField",
            "BigIntegerField",
            "SmallIntegerField",
            "PositiveIntegerField",
            "PositiveSmallIntegerField",
            "PositiveBigIntegerField",
            "AutoField",
            "BigAutoField",
            "SmallAutoField",
        ),
        _as_is,
    ),
    "BooleanField": _as_is,
    "UUIDField": str,
    "DateTimeField": _isoformat,  # aware (USE_TZ): an offset PostgreSQL keeps
    "DateField": _isoformat,
}


def _json_writer(field: Field, encode: Callable) -> Callable:
    """
    A value as the JSON rows carry it: prepared as the ORM saves it (get_db_prep_save), then put
    into JSON by `encode` (None: null). A value of a type the ORM returns unchanged, and that JSON
    writes as PostgreSQL reads it back, goes as it is (a third of the log flusher's CPU, issue 15).
    """
    prep = field.get_db_prep_save
    target = field.target_field if field.is_relation else field
    as_is = _AS_IS_IN_JSON.get(type(target), ())
    if isinstance(target, JSONField) and target.encoder is not None:
        as_is = ()
    aware_datetime = type(target) is DateTimeField
    uuid_text = type(target) is UUIDField

    def written(value, connection):
        kind = type(value)
        if kind in as_is:
            return value
        if aware_datetime and kind is datetime.datetime and value.tzinfo is not None:
            return value.isoformat()  # as the ORM prepares it on PostgreSQL, then _isoformat
        if uuid_text and kind is uuid.UUID:
            return str(value)
        value = prep(value, connection)
        return None if value is None else encode(value)

    return written


# Field classes (exact) and the value types their get_db_prep_save returns unchanged (to_python
# or int() of a value already right), whose JSON is the column's value as PostgreSQL reads it.
_AS_IS_IN_JSON = {
    CharField: (str, type(None)),
    TextField: (str, type(None)),
    BooleanField: (bool, type(None)),
    **dict.fromkeys(
        (
            IntegerField,
            BigIntegerField,
            SmallIntegerField,
            PositiveIntegerField,
            PositiveSmallIntegerField,
            PositiveBigIntegerField,
            AutoField,
            BigAutoField,
            SmallAutoField,
        ),
        (int, type(None)),
    ),
    DateTimeField: (type(None),),
    UUIDField: (type(None),),
    JSONField: (dict, list),  # the default encoder: psycopg's Jsonb of the value itself
}


def _json_encoder(field: Field):
    target = getattr(field, "target_field", field)
    kind = target.get_internal_type()
    if kind == "JSONField":
        # The field's own encoder (DjangoJSONEncoder…) would have to run first: only the default.
        return _json_value if getattr(target, "encoder", None) is None else None
    return _JSON_ENCODERS.get(kind)


def _value_marker(field: Field):
    """A non-NULL value of the field's type (only its place in the SQL matters)."""
    kind = getattr(field, "target_field", field).get_internal_type()
    if kind == "BooleanField":
        return True
    if kind == "JSONField":
        return []
    return _marker(field, 1)


def insert_instances(instances: list[Model], using: str = "default") -> None:
    """
    bulk_create() of unsaved instances of one model through insert_rows: each value as
    bulk_create reads it (the field's pre_save), the primary keys set on the instances.
    """
    if not instances:
        return
    model = type(instances[0])
    keys = insert_rows(model, instances, using=using)
    if keys:
        for instance, key in zip(instances, keys, strict=True):
            instance.pk = key
    for instance in instances:
        instance._state.adding, instance._state.db = False, using


def insert_statement(
    instances: list[Model], *, as_json: bool = False, using: str = "default"
) -> tuple[str, list]:
    """
    The SQL and parameters of insert_instances(instances), for run_together (no keys are read
    back: the instances keep the keys they have, None for a database-generated one). With
    `as_json` (PostgreSQL), the rows are one JSON parameter whatever their number of columns,
    so that the statement they join stays within psycopg's cached conversions (see
    PSYCOPG_CACHED_PARAMS).
    """
    connection = connections[using]
    insert = _rows_insert(type(instances[0]), ignore_conflicts=False)
    if as_json and not insert.can_be_json(connection):
        raise TypeError(f"{type(instances[0]).__name__} rows cannot be one JSON parameter here")
    for instance in instances:
        instance._state.adding, instance._state.db = False, using
    # Without as_json, the form insert_rows would choose (JSON only beyond psycopg's cache).
    return insert.statement(instances, connection, as_json=True if as_json else None)


def run_together(statements: list[tuple[str, list]], using: str = "default") -> int:
    """
    (PostgreSQL) Data-modifying statements as one: all but the last as WITH queries, each run
    exactly once, all seeing the snapshot the statement started with (none sees another's rows;
    foreign keys are checked at commit), in one round trip instead of one each (issue 15). The
    last statement's row count.
    """
    connection = connections[using]
    if connection.vendor != "postgresql":
        raise TypeError(f"{connection.vendor} has no data-modifying WITH queries")
    *first, (last_sql, last_params) = statements
    sql, params = last_sql, list(last_params)
    if first:
        steps = ", ".join(f"_step{i} AS ({text})" for i, (text, _) in enumerate(first))
        sql, params = f"WITH {steps} {last_sql}", [param for _, part in first for param in part] + params
    with connection.cursor() as cursor:
        with transaction.mark_for_rollback_on_error(using=using):
            cursor.execute(sql, params)
        return cursor.rowcount


def insert_rows(
    model, rows: list[dict] | list[Model], *, ignore_conflicts: bool = False, using: str = "default"
) -> list:
    """
    bulk_create() of `rows` (field name -> value; a field left out takes its default; or unsaved
    instances, see insert_instances), its INSERT written once per model and number of rows, no
    model instances built: the primary
    keys in row order, or [] with `ignore_conflicts` (ON CONFLICT DO NOTHING returns no key for
    a skipped row). For models without save() overrides, pre_save work (auto_now) or signal
    receivers: bulk_create() runs none of those either.
    """
    if not rows:
        return []
    connection = connections[using]
    insert = _rows_insert(model, ignore_conflicts)
    keys = []
    size = max(1, connection.ops.bulk_batch_size(insert.fields, rows))
    for start in range(0, len(rows), size):
        keys += insert.run(rows[start : start + size], connection, using)
    return keys


_INSERTS: dict = {}


def _rows_insert(model, ignore_conflicts: bool) -> "_RowsInsert":
    insert = _INSERTS.get((model, ignore_conflicts))
    if insert is None:
        insert = _INSERTS[(model, ignore_conflicts)] = _RowsInsert(model, ignore_conflicts)
    return insert


# Field classes whose get_db_prep_save returns a value of these exact types as it is (the
# to_python of a value already right): that per-value work of the ORM is skipped, 0.6 µs of each
# of a provisioning event's 24 columns (a quarter of the log flusher's CPU, issue 15). Integers
# are not among them: on psycopg 3 the ORM wraps them in the column's own integer type.
_UNCHANGED_BY_PREP = {
    CharField: (str, type(None)),
    TextField: (str, type(None)),
    BooleanField: (bool, type(None)),
}


def _preparer(field: Field) -> Callable:
    """field.get_db_prep_save, but for a value of a type it would return unchanged."""
    prep = field.get_db_prep_save
    unchanged = _UNCHANGED_BY_PREP.get(type(field))
    if unchanged is None:
        return prep

    def prepared(value, connection):
        return value if type(value) in unchanged else prep(value, connection)

    return prepared


# psycopg keeps the conversion of a statement's text only up to this many parameters
# (psycopg._queries.MAX_CACHED_STATEMENT_PARAMS).
PSYCOPG_CACHED_PARAMS = 50


class _RowsInsert:
    """INSERT INTO <table> (<columns>) VALUES (…), … [RETURNING <pk>]: the columns of every
    concrete field but an auto primary key, one %s per value, prepared as the ORM saves it."""

    def __init__(self, model, ignore_conflicts: bool):
        meta = model._meta
        self.fields = [f for f in meta.concrete_fields if not (f.primary_key and f.db_returning)]
        self.pk = meta.pk
        self.table = meta.db_table
        self.ignore_conflicts = ignore_conflicts
        self._sql: dict = {}  # (vendor, rows) -> SQL
        self._json_writers: list | tuple | None = None  # per field, its value as it goes into JSON
        self._prepare = [(field, field.name, _preparer(field)) for field in self.fields]

    def run(self, rows: list[dict] | list[Model], connection, using: str) -> list:
        sql, params = self.statement(rows, connection)
        with connection.cursor() as cursor:
            with transaction.mark_for_rollback_on_error(using=using):
                cursor.execute(sql, params)
            # As the ORM reads a key back (SQLite returns a UUID as its hex text).
            return [] if self.ignore_conflicts else [self.pk.to_python(row[0]) for row in cursor.fetchall()]

    def statement(self, rows: list[dict] | list[Model], connection, as_json: bool | None = None):
        """(SQL, parameters); as_json None: the JSON rows only where VALUES has too many parameters."""
        if as_json is None:
            as_json = len(rows) * len(self.fields) > PSYCOPG_CACHED_PARAMS and self.can_be_json(connection)
        prepare = self._json_writers if as_json else self._prepare
        params = []
        for row in rows:
            if isinstance(row, Model):  # an unsaved instance: each value as bulk_create reads it
                params += [prep(field.pre_save(row, True), connection) for field, _, prep in prepare]
                continue
            for field, name, prep in prepare:
                value = row[name] if name in row else field.get_default()
                if isinstance(value, Model):  # a foreign key given as the instance
                    value = value.pk
                params.append(prep(value, connection))
        if as_json:
            return self._json_statement(connection), [self._json_rows(params)]
        return self._statement(connection, len(rows)), params

    # PostgreSQL: the rows as one JSON parameter --------------------------------------------------
    #
    # A multi-row VALUES has a parameter per value (24 per provisioning event), and psycopg parses
    # a statement with more than PSYCOPG_CACHED_PARAMS parameters anew on every execute
    # (_query2pg_nocache: 28 % of the flusher's CPU in batches of 16; below it VALUES is cheaper).
    # One JSON document, expanded by json_populate_recordset into rows of the table's own type, is
    # one parameter: the same short text for every batch. Columns of the types in _JSON_ENCODERS
    # only (each value as the ORM prepared it, put into JSON as PostgreSQL reads it back); any
    # other model keeps VALUES.

    def can_be_json(self, connection) -> bool:
        if connection.vendor != "postgresql":
            return False
        if self._json_writers is None:
            encoders = [_json_encoder(field) for field in self.fields]
            if any(encoder is None for encoder in encoders):
                self._json_writers = ()
            else:
                self._json_writers = [
                    (field, field.name, _json_writer(field, encoder))
                    for field, encoder in zip(self.fields, encoders, strict=True)
                ]
        return bool(self._json_writers)

    def _json_rows(self, values: list) -> str:
        """The rows (their values as _json_writer gives them) as a JSON array of objects by column."""
        columns = [field.column for field in self.fields]
        width = len(columns)
        documents = [
            dict(zip(columns, values[start : start + width], strict=True))
            for start in range(0, len(values), width)
        ]
        return json.dumps(documents, ensure_ascii=False, separators=(",", ":"))

    def _json_statement(self, connection) -> str:
        sql = self._sql.get((connection.vendor, "json"))
        if sql is None:
            ops, quote = connection.ops, connection.ops.quote_name
            on_conflict = OnConflict.IGNORE if self.ignore_conflicts else None
            columns = ", ".join(quote(field.column) for field in self.fields)
            sql = (
                f"{ops.insert_statement(on_conflict=on_conflict)} {quote(self.table)} ({columns}) "
                f"SELECT {columns} FROM json_populate_recordset(NULL::{quote(self.table)}, %s::json)"
            )
            if self.ignore_conflicts:
                sql = f"{sql} {ops.on_conflict_suffix_sql(self.fields, on_conflict, None, None)}".rstrip()
            else:
                # Rows come back in the order the SELECT gave them (Django's bulk_create relies on
                # the same for its INSERT … SELECT FROM UNNEST on PostgreSQL).
                sql = f"{sql} RETURNING {quote(self.table)}.{quote(self.pk.column)}"
            self._sql[(connection.vendor, "json")] = sql
        return sql

    def _statement(self, connection, count: int) -> str:
        sql = self._sql.get((connection.vendor, count))
        if sql is None:
            if len(self._sql) > 512:  # batch sizes vary: a bound on what is kept
                self._sql.clear()
            sql = self._sql[(connection.vendor, count)] = self._compile(connection, count)
        return sql

    def _compile(self, connection, count: int) -> str:
        ops, quote = connection.ops, connection.ops.quote_name
        on_conflict = OnConflict.IGNORE if self.ignore_conflicts else None
        columns = ", ".join(quote(field.column) for field in self.fields)
        row = "(" + ", ".join(["%s"] * len(self.fields)) + ")"
        sql = f"{ops.insert_statement(on_conflict=on_conflict)} {quote(self.table)} ({columns}) VALUES "
        sql += ", ".join([row] * count)
        if self.ignore_conflicts:
            return f"{sql} {ops.on_conflict_suffix_sql(self.fields, on_conflict, None, None)}".rstrip()
        if not connection.features.can_return_rows_from_bulk_insert:
            raise TypeError(f"{connection.vendor} cannot return the keys of a multi-row INSERT")
        return f"{sql} RETURNING {quote(self.table)}.{quote(self.pk.column)}"
