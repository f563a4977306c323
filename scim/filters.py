"""
SCIM filters (RFC 7644 §3.4.2.2) compiled to Django Q objects.

Parsing is scim2-filter-parser's. Compilation is ours rather than its bundled Q transpiler,
which silently drops attributes it does not know (an `and` with a typo widens the result, and
Entra would match the wrong account); here every attribute must resolve, or the request gets
400 invalidFilter. Multi-valued attributes compile to EXISTS subqueries, so a match never
duplicates rows, and everything composes with the organization scope. String comparisons are
case-insensitive unless RFC 7643 marks the attribute caseExact.
"""

import uuid
from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Q
from django.db.models.functions import Upper
from django.db.models.lookups import GreaterThan, GreaterThanOrEqual, LessThan, LessThanOrEqual
from django.utils.dateparse import parse_datetime
from scim2_filter_parser import ast
from scim2_filter_parser.lexer import SCIMLexer
from scim2_filter_parser.parser import SCIMParser

from scim import constants
from scim.errors import bad_request


UNKNOWN_FILTER_ATTRIBUTE = "The filter uses '{path}', which is not a filterable attribute of {resource}."
BAD_FILTER = "The filter is not valid SCIM filter syntax: {reason}."
BAD_OPERATOR = "The filter cannot apply '{op}' to '{path}' ({type})."
BAD_FILTER_VALUE = "The filter compares '{path}' with {value!r}, which is not a valid {type}."
FILTER_TOO_LONG = "The filter is longer than {limit} characters."
MAX_FILTER_LENGTH = 2000

_ORDERING = {"gt": GreaterThan, "ge": GreaterThanOrEqual, "lt": LessThan, "le": LessThanOrEqual}


@dataclass(frozen=True)
class Field:
    """A filterable single-valued attribute: a model field, its type and case sensitivity."""

    lookup: str
    type: str = "string"  # string | boolean | uuid | dateTime
    case_exact: bool = False


@dataclass(frozen=True)
class MultiValued:
    """A multi-valued attribute stored as rows of another model, matched with EXISTS."""

    model: type
    outer_field: str  # the foreign key from the row to the resource
    filters: dict  # fixed conditions on the row model (e.g. attribute="emails")
    sub_attributes: dict  # lower-cased sub-attribute name -> Field on the row model
    default_sub: str | None = "value"


class FilterSpec:
    """What one resource type lets clients filter on: a resolver from attribute paths to fields."""

    resource_name = ""

    def resolve(self, name: str, sub: str | None, uri: str | None):
        raise NotImplementedError


def compile_filter(text: str, spec: FilterSpec) -> Q:
    if len(text) > MAX_FILTER_LENGTH:
        raise bad_request(FILTER_TOO_LONG.format(limit=MAX_FILTER_LENGTH), constants.INVALID_FILTER)
    try:
        tree = SCIMParser().parse(SCIMLexer().tokenize(text))
    except Exception as exc:  # the lexer and parser raise several unrelated exception types
        raise bad_request(
            BAD_FILTER.format(reason=str(exc) or "unexpected end"), constants.INVALID_FILTER
        ) from None
    if tree is None:
        raise bad_request(BAD_FILTER.format(reason="empty filter"), constants.INVALID_FILTER)
    return _Compiler(spec).visit(tree)


class _Compiler:
    def __init__(self, spec: FilterSpec):
        self.spec = spec

    def visit(self, node) -> Q:
        if isinstance(node, ast.Filter):
            if node.namespace is not None:
                query = self._value_path(node.namespace, node.expr)
            else:
                query = self.visit(node.expr)
            return ~query if node.negated else query
        if isinstance(node, ast.LogExpr):
            left, right = self.visit(node.expr1), self.visit(node.expr2)
            return left & right if node.op.lower() == "and" else left | right
        if isinstance(node, ast.AttrExpr):
            return self._attr_expr(node)
        raise bad_request(BAD_FILTER.format(reason="unsupported expression"), constants.INVALID_FILTER)

    def _attr_expr(self, node) -> Q:
        attr_path = node.attr_path
        if isinstance(attr_path.attr_name, ast.Filter):
            # emails[type eq "work"].value eq "x": the bracket filter and the comparison must
            # hold for the same element.
            namespace = attr_path.attr_name.namespace
            target = self._resolve(namespace.attr_name, None, namespace.uri)
            if not isinstance(target, MultiValued) or namespace.sub_attr is None:
                raise self._unknown(namespace.attr_name)
            inner = _ValueFilterCompiler(self, target).visit(attr_path.attr_name.expr)
            field = self._sub_field(target, namespace.sub_attr.value, namespace.attr_name)
            comparison = _compare(field, node, f"{namespace.attr_name}.{namespace.sub_attr.value}")
            return self._exists(target, inner & comparison)
        sub = attr_path.sub_attr.value if attr_path.sub_attr is not None else None
        target = self._resolve(attr_path.attr_name, sub, attr_path.uri)
        path_text = attr_path.attr_name + (f".{sub}" if sub else "")
        if isinstance(target, MultiValued):
            if node.value.lower() == "pr" and sub is None:
                return self._exists(target, Q())
            sub_name = sub or target.default_sub
            if sub_name is None:
                raise self._unknown(path_text)
            field = self._sub_field(target, sub_name, path_text)
            return self._exists(target, _compare(field, node, path_text))
        return _compare(target, node, path_text)

    def _value_path(self, namespace, expr) -> Q:
        target = self._resolve(namespace.attr_name, None, namespace.uri)
        if not isinstance(target, MultiValued):
            raise self._unknown(namespace.attr_name)
        return self._exists(target, _ValueFilterCompiler(self, target).visit(expr))

    def _exists(self, target: MultiValued, condition: Q) -> Q:
        rows = target.model.objects.filter(**{target.outer_field: OuterRef("pk")}, **target.filters)
        return Q(Exists(rows.filter(condition)))

    def _resolve(self, name, sub, uri):
        uri = uri.rstrip(":") if uri else None
        target = self.spec.resolve(name, sub, uri)
        if target is None:
            raise self._unknown(f"{uri}:{name}" if uri else name + (f".{sub}" if sub else ""))
        return target

    def _sub_field(self, target: MultiValued, sub: str, path_text: str) -> Field:
        field = target.sub_attributes.get(sub.lower())
        if field is None:
            raise self._unknown(path_text)
        return field

    def _unknown(self, path: str):
        return bad_request(
            UNKNOWN_FILTER_ATTRIBUTE.format(path=path, resource=self.spec.resource_name),
            constants.INVALID_FILTER,
        )


class _ValueFilterCompiler:
    """The inside of `attr[...]`: names refer to the sub-attributes of one element."""

    def __init__(self, outer: _Compiler, target: MultiValued):
        self.outer = outer
        self.target = target

    def visit(self, node) -> Q:
        if isinstance(node, ast.Filter):
            if node.namespace is not None:
                raise bad_request(BAD_FILTER.format(reason="nested value filter"), constants.INVALID_FILTER)
            query = self.visit(node.expr)
            return ~query if node.negated else query
        if isinstance(node, ast.LogExpr):
            left, right = self.visit(node.expr1), self.visit(node.expr2)
            return left & right if node.op.lower() == "and" else left | right
        if isinstance(node, ast.AttrExpr) and isinstance(node.attr_path.attr_name, str):
            name = node.attr_path.attr_name
            field = self.outer._sub_field(self.target, name, name)
            return _compare(field, node, name)
        raise bad_request(BAD_FILTER.format(reason="unsupported value filter"), constants.INVALID_FILTER)


def _compare(field: Field, node, path_text: str) -> Q:
    op = node.value.lower()
    lookup = field.lookup
    if op == "pr":
        present = Q(**{f"{lookup}__isnull": False})
        return present & ~Q(**{lookup: ""}) if field.type == "string" else present
    raw = node.comp_value.value
    if field.type == "boolean":
        if op not in ("eq", "ne") or raw not in ("true", "false"):
            raise _bad_operator(op, path_text, "a boolean: use eq or ne with true or false")
        query = Q(**{lookup: raw == "true"})
        return ~query if op == "ne" else query
    if raw in ("true", "false", "null"):
        raise bad_request(
            BAD_FILTER_VALUE.format(path=path_text, value=raw, type=field.type), constants.INVALID_FILTER
        )
    if field.type == "uuid":
        if op not in ("eq", "ne"):
            raise _bad_operator(op, path_text, "an id: use eq or ne")
        try:
            query = Q(**{lookup: uuid.UUID(raw)})
        except ValueError:
            # Not one of our ids, so nothing has it (Test Connection may probe with any value).
            query = Q(pk__in=[])
        return ~query if op == "ne" else query
    if field.type == "dateTime":
        moment = parse_datetime(raw)
        if moment is None:
            raise bad_request(
                BAD_FILTER_VALUE.format(path=path_text, value=raw, type="dateTime"), constants.INVALID_FILTER
            )
        if op in _ORDERING:
            return Q(**{f"{lookup}__{op.replace('e', 'te') if op in ('ge', 'le') else op}": moment})
        if op in ("eq", "ne"):
            query = Q(**{lookup: moment})
            return ~query if op == "ne" else query
        raise _bad_operator(op, path_text, "a dateTime: use eq, ne, gt, ge, lt or le")
    return _compare_string(lookup, op, raw, field.case_exact)


def _compare_string(lookup: str, op: str, value: str, case_exact: bool) -> Q:
    prefix = "" if case_exact else "i"
    if op in ("eq", "ne"):
        query = Q(**{lookup: value}) if case_exact else Q(**{f"{lookup}__iexact": value})
        return ~query if op == "ne" else query
    if op == "co":
        return Q(**{f"{lookup}__{prefix}contains": value})
    if op == "sw":
        return Q(**{f"{lookup}__{prefix}startswith": value})
    if op == "ew":
        return Q(**{f"{lookup}__{prefix}endswith": value})
    if op in _ORDERING:
        if case_exact:
            return Q(**{f"{lookup}__{op.replace('e', 'te') if op in ('ge', 'le') else op}": value})
        return Q(_ORDERING[op](Upper(lookup), value.upper()))
    raise _bad_operator(op, lookup, "a string")


def _bad_operator(op: str, path: str, kind: str):
    return bad_request(BAD_OPERATOR.format(op=op, path=path, type=kind), constants.INVALID_FILTER)
