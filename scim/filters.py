"""
SCIM filters (RFC 7644 §3.4.2.2) compiled to Django Q objects.

Parsing is scim2-filter-parser's. Compilation is ours rather than its bundled Q transpiler,
which silently drops attributes it does not know (an `and` with a typo widens the result, and
Entra would match the wrong account); here every attribute must resolve, or the request gets
400 invalidFilter. Multi-valued attributes compile to EXISTS subqueries, so a match never
duplicates rows, and everything composes with the organization scope. String comparisons are
case-insensitive unless RFC 7643 marks the attribute caseExact.

Before parsing, string literals are taken out of the text (so JSON escapes work and a quoted
"true" stays a string), and a bare word after a comparison operator is taken as a string (issue
14): the historical manager check `id eq 54D3… and manager eq 2819…` (entra-scim.md §1.9),
Microsoft's reference client (`userName sw O`, `meta.created gt 2015-10-10T14:38:21.8617979-07:00`)
and several SCIM libraries send comparison values unquoted. The grammar leaves no doubt there (a
compValue must follow the operator); the keywords (and, or, not, the operators) stay keywords,
true/false/null stay JSON literals and an integer stays a number. The library's
parser gives `and` and `or` the same precedence; ours gives `and` the higher one (RFC 7644
§3.4.2.2), so `a or b and c` means `a or (b and c)`.
"""

import functools
import json
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, timedelta

from django.conf import settings
from django.db.models import Exists, OuterRef, Q
from django.db.models.functions import Upper
from django.db.models.lookups import GreaterThan, GreaterThanOrEqual, LessThan, LessThanOrEqual
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from scim2_filter_parser import ast
from scim2_filter_parser.lexer import SCIMLexer
from scim2_filter_parser.parser import SCIMParser

from scim import constants
from scim.errors import ScimError, bad_request
from scim.json_body import text_problem


UNKNOWN_FILTER_ATTRIBUTE = "The filter uses '{path}', which is not a filterable attribute of {resource}."
BAD_FILTER = "The filter is not valid SCIM filter syntax: {reason}."
BAD_OPERATOR = "The filter cannot apply '{op}' to '{path}' ({type})."
BAD_FILTER_VALUE = "The filter compares '{path}' with {value!r}, which is not a valid {type}."
FILTER_TOO_LONG = "The filter is longer than {limit} characters."
FILTER_TOO_DEEP = "The filter nests parentheses and brackets deeper than {limit} levels."
FILTER_NOT_TEXT = "The filter must be a string."
FILTER_BAD_TEXT = "The filter holds {what}, which no SCIM attribute accepts."
BAD_FILTER_DATETIME = "The filter compares '{path}' with {value!r}, a dateTime outside years 1 to 9999 (UTC)."

_ORDERING = {"gt": GreaterThan, "ge": GreaterThanOrEqual, "lt": LessThan, "le": LessThanOrEqual}
# meta.created and meta.lastModified are rendered to the millisecond, so they are compared as
# rendered: a client filtering with a value it read back (gt, eq) gets what it expects.
DATETIME_RESOLUTION = timedelta(milliseconds=1)

_STRING_LITERAL = re.compile(r'"(?:[^"\\]|\\.)*"')
# A comparison value sent without quotes: anything up to a space, a bracket or a quote, except
# that an RFC 3339 timestamp may hold a space: for its "T" (§5.6 allows it for readability), or
# for the "+" of its offset, which a form-decoded query string turns into a space.
_TIMESTAMP = r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?"
BARE_WORD = rf"{_TIMESTAMP}(?:[Zz]|[+-]\d{{2}}:?\d{{2}}| \d{{2}}:\d{{2}})?(?![^\s()\[\]\"])|[^\s()\[\]\"]+"
_DECODED_PLUS = re.compile(rf"({_TIMESTAMP}) (\d{{2}}:\d{{2}})")
_BARE_VALUE = re.compile(rf"(?i)(?<![\w.:$-])(eq|ne|co|sw|ew|gt|ge|lt|le)([ \t]+)({BARE_WORD})")
_NOT_A_STRING = {"and", "or", "not", "eq", "ne", "co", "sw", "ew", "pr", "gt", "ge", "lt", "le"}
_INTEGER = re.compile(r"-?(?:0|[1-9][0-9]*)")
_BRACKETS = re.compile(r"[()\[\]]")
_PLACEHOLDER = "s{index}"  # a COMP_VALUE no other token can produce (those are true/false/null/digits)
_KEYWORDS = {"true": True, "false": False, "null": None}
_SHAPE_LITERAL = re.compile(r'"s([0-9]+)"')  # a placeholder in a shape (every literal is taken out)


class _FilterSyntaxError(Exception):
    def __init__(self, token):
        super().__init__(token)
        self.token = token


def _corrected_parser() -> type:
    """SCIMParser's grammar rules, rebuilt with RFC 7644's precedence: not > and > or."""
    rules = {
        name: rule for name, rule in vars(SCIMParser).items() if callable(rule) and hasattr(rule, "rules")
    }

    def error(self, token):
        raise _FilterSyntaxError(token)

    attributes = {
        "_": None,  # sly's metaclass removes the rule decorator name
        "__module__": __name__,
        "__qualname__": "ScimFilterParser",
        "tokens": SCIMParser.tokens,
        "precedence": (("left", "OR"), ("left", "AND"), ("right", "NOT")),
        "error": error,
        **rules,
    }
    return type(SCIMParser)("ScimFilterParser", (SCIMParser,), attributes)


_ScimFilterParser = _corrected_parser()


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


class UnknownFilterAttribute(ScimError):
    """The filter names an attribute the resource type does not have (400 invalidFilter)."""


@dataclass(frozen=True)
class ParsedFilter:
    """A parsed filter: the scim2-filter-parser AST, whose string values are placeholders."""

    tree: object
    literals: tuple
    shape: str = ""  # the filter text with every literal a placeholder: one shape, many values

    def literal(self, comp_value):
        """A comparison value as Python: str for strings, bool/None for keywords, int for numbers."""
        raw = comp_value.value
        if raw in _KEYWORDS:
            return _KEYWORDS[raw]
        if raw.isdigit():
            return int(raw)
        return self.literals[int(raw[1:])]

    def text_with(self, literals) -> str:
        """Filter text of this shape with other literals (str, or int for a bare number)."""

        def literal(match) -> str:
            value = literals[int(match.group(1))]
            return json.dumps(value) if isinstance(value, str) else str(value)

        return _SHAPE_LITERAL.sub(literal, self.shape)


def parse_filter(text: str) -> ParsedFilter:
    """Parse filter text (also the `[...]` of PATCH value paths); bad syntax → invalidFilter."""
    if not isinstance(text, str):
        raise bad_request(FILTER_NOT_TEXT, constants.INVALID_FILTER)
    # Limits before parsing (issue 12): the parser and the compiler build and walk a tree as deep
    # as the nesting, so 10,000 "(" cost a RecursionError.
    limit = settings.SCIM_MAX_FILTER_LENGTH
    if len(text) > limit:
        raise bad_request(FILTER_TOO_LONG.format(limit=limit), constants.INVALID_FILTER)
    prepared, literals = _extract_literals(text)
    _check_nesting(prepared)
    for literal in (literal for literal in literals if isinstance(literal, str)):
        # A lone surrogate or NUL cannot be compared with stored text (the database refuses it):
        # invalidFilter, as for any other value the filter cannot compare (RFC 7644 §3.12).
        problem = text_problem(literal)
        if problem:
            raise bad_request(FILTER_BAD_TEXT.format(what=problem), constants.INVALID_FILTER)
    try:
        tree = _parsed_shape(prepared)
    except _FilterSyntaxError as exc:
        raise _syntax_error(_unexpected(exc.token, literals)) from None
    except Exception as exc:  # the lexer and the library's rules raise unrelated exception types
        raise _syntax_error(str(exc) or "it ends unexpectedly") from None
    if tree is None:
        raise _syntax_error("it is empty")
    return ParsedFilter(tree=tree, literals=tuple(literals), shape=prepared)


@functools.lru_cache(maxsize=512)
def _parsed_shape(prepared: str):
    """
    The balanced tree of a filter with its literals taken out. Entra sends a handful of shapes
    (`userName eq "…"`) with ever new values, so each shape is parsed once (issue 15: the lexer
    and parser cost more than the rest of the filter's compilation). Trees are never modified;
    failures are not cached.
    """
    tree = _ScimFilterParser().parse(SCIMLexer().tokenize(prepared))
    return None if tree is None else _balanced(tree)


def _balanced(node):
    """The tree with each chain of one operator (`a or b or c …`, which the parser builds
    left-deep, as deep as it is long) rebuilt balanced: every walker of the tree (compiler, PATCH
    value filters, member selection) recurses log2(n) deep, not n (600 terms: RecursionError).
    `and` and `or` are associative, so the meaning is unchanged; operands keep their order."""
    if isinstance(node, ast.Filter):
        return ast.Filter(_balanced(node.expr), node.negated, node.namespace)
    if not isinstance(node, ast.LogExpr):
        return node
    op = node.op.lower()
    operands, pending = [], [node]
    while pending:
        item = pending.pop()
        if isinstance(item, ast.Filter) and not item.negated and item.namespace is None:
            inner = item.expr
            if isinstance(inner, ast.LogExpr) and inner.op.lower() == op:
                item = inner
        if isinstance(item, ast.LogExpr) and item.op.lower() == op:
            pending.extend((item.expr2, item.expr1))
        else:
            operands.append(_balanced(item))
    return _joined(node.op, operands)


def _joined(op: str, operands: list):
    if len(operands) == 1:
        return operands[0]
    middle = len(operands) // 2
    return ast.LogExpr(
        op,
        ast.Filter(_joined(op, operands[:middle]), False, None),
        ast.Filter(_joined(op, operands[middle:]), False, None),
    )


def compile_filter(text: str, spec: FilterSpec) -> Q:
    parsed = parse_filter(text)
    return _Compiler(spec, parsed).visit(parsed.tree)


def _extract_literals(text: str) -> tuple[str, list[str]]:
    """Replace each JSON string literal and each bare comparison value with a placeholder."""
    literals: list = []
    pieces = []
    position = 0
    for match in _STRING_LITERAL.finditer(text):
        pieces.append(_quote_bare_values(text[position : match.start()], literals))
        try:
            literals.append(json.loads(match.group(), strict=False))
        except ValueError:
            raise _syntax_error(f"the string {match.group()} has an invalid escape") from None
        pieces.append('"' + _PLACEHOLDER.format(index=len(literals) - 1) + '"')
        position = match.end()
    rest = text[position:]
    if '"' in rest:
        raise _syntax_error("a string is not closed")
    pieces.append(_quote_bare_values(rest, literals))
    return "".join(pieces), literals


def _check_nesting(prepared: str) -> None:
    """Refuse "(" and "[" nested beyond SCIM_MAX_FILTER_DEPTH (string literals are already out)."""
    limit = settings.SCIM_MAX_FILTER_DEPTH
    depth = 0
    for bracket in _BRACKETS.findall(prepared):
        if bracket in "([":
            depth += 1
            if depth > limit:
                raise bad_request(FILTER_TOO_DEEP.format(limit=limit), constants.INVALID_FILTER)
        else:
            depth = max(depth - 1, 0)


def _quote_bare_values(fragment: str, literals: list) -> str:
    def quote(match) -> str:
        operator, space, word = match.groups()
        lowered = word.lower()
        if lowered in _NOT_A_STRING or word.startswith("'"):
            # `userName eq and …` stays a syntax error, and so does 'work': single quotes delimit
            # no SCIM string, and the value with its quotes would silently match nothing.
            return match.group()
        if lowered in _KEYWORDS:
            return f"{operator}{space}{lowered}"  # JSON's literals; Entra writes True elsewhere
        if _DECODED_PLUS.fullmatch(word):
            word = _DECODED_PLUS.sub(r"\1+\2", word)
        literals.append(int(word) if _INTEGER.fullmatch(word) else word)
        return f'{operator}{space}"{_PLACEHOLDER.format(index=len(literals) - 1)}"'

    return _BARE_VALUE.sub(quote, fragment)


def _unexpected(token, literals: list[str]) -> str:
    if token is None:
        return "it ends unexpectedly"
    value = token.value
    if token.type == "COMP_VALUE":
        value = json.dumps(literals[int(value[1:])])
    elif token.type == "SUBATTR":
        value = "." + value
    return f"unexpected {value!r}"


def _syntax_error(reason: str):
    return bad_request(BAD_FILTER.format(reason=reason), constants.INVALID_FILTER)


class _Compiler:
    def __init__(self, spec: FilterSpec, parsed: ParsedFilter):
        self.spec = spec
        self.parsed = parsed

    def literal(self, node):
        return self.parsed.literal(node.comp_value)

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
            path_text = f"{namespace.attr_name}.{namespace.sub_attr.value}"
            field = self._sub_field(target, namespace.sub_attr.value, path_text)
            comparison = _compare(field, node, path_text, self)
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
            return self._exists(target, _compare(field, node, path_text, self))
        return _compare(target, node, path_text, self)

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
        return UnknownFilterAttribute(
            400,
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
            return _compare(field, node, name, self.outer)
        raise bad_request(BAD_FILTER.format(reason="unsupported value filter"), constants.INVALID_FILTER)


def _compare(field: Field, node, path_text: str, compiler: _Compiler) -> Q:
    op = node.value.lower()
    lookup = field.lookup
    if op == "pr":
        present = Q(**{f"{lookup}__isnull": False})
        return present & ~Q(**{lookup: ""}) if field.type == "string" else present
    value = compiler.literal(node)
    if field.type == "boolean":
        if isinstance(value, str) and value.lower() in ("true", "false"):
            value = value.lower() == "true"  # lenient: Entra writes booleans as "True" elsewhere
        if op not in ("eq", "ne") or not isinstance(value, bool):
            raise _bad_operator(op, path_text, "a boolean: use eq or ne with true or false")
        query = Q(**{lookup: value})
        return ~query if op == "ne" else query
    if value is None or isinstance(value, bool):
        raise bad_request(
            BAD_FILTER_VALUE.format(path=path_text, value=json.dumps(value), type=field.type),
            constants.INVALID_FILTER,
        )
    value = str(value)
    if field.type == "uuid":
        if op not in ("eq", "ne"):
            raise _bad_operator(op, path_text, "an id: use eq or ne")
        try:
            query = Q(**{lookup: uuid.UUID(value)})
        except ValueError:
            # Not one of our ids, so nothing has it (Test Connection may probe with any value).
            query = Q(pk__in=[])
        return ~query if op == "ne" else query
    if field.type == "dateTime":
        return _compare_datetime(lookup, op, value, path_text)
    return _compare_string(lookup, op, value, field.case_exact)


def _compare_datetime(lookup: str, op: str, value: str, path_text: str) -> Q:
    """Compare as the value is rendered (to the millisecond), so `gt` a value read back excludes
    that resource and `eq` it matches."""
    try:
        moment = parse_datetime(value.upper())  # RFC 3339 §5.6 allows a lower-case "t" and "z"
    except ValueError:  # well formed but impossible, e.g. month 13
        moment = None
    if moment is None:
        raise bad_request(
            BAD_FILTER_VALUE.format(path=path_text, value=value, type="dateTime"), constants.INVALID_FILTER
        )
    if timezone.is_naive(moment):
        moment = moment.replace(tzinfo=UTC)
    try:
        # In UTC, as stored: "9999-12-31T23:59:59-14:00" is past year 9999 there (OverflowError).
        moment = moment.astimezone(UTC)
        floor = moment - timedelta(microseconds=moment.microsecond % 1000)
        at_or_after = floor if floor == moment else floor + DATETIME_RESOLUTION  # rendered >= moment
        after = floor + DATETIME_RESOLUTION  # rendered > moment
    except OverflowError:
        raise bad_request(
            BAD_FILTER_DATETIME.format(path=path_text, value=value), constants.INVALID_FILTER
        ) from None
    if op == "gt":
        return Q(**{f"{lookup}__gte": after})
    if op == "ge":
        return Q(**{f"{lookup}__gte": at_or_after})
    if op == "lt":
        return Q(**{f"{lookup}__lt": at_or_after})
    if op == "le":
        return Q(**{f"{lookup}__lt": after})
    if op in ("eq", "ne"):
        query = Q(**{f"{lookup}__gte": moment, f"{lookup}__lt": after}) if floor == moment else Q(pk__in=[])
        return ~query if op == "ne" else query
    raise _bad_operator(op, path_text, "a dateTime: use eq, ne, gt, ge, lt or le")


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
