"""
Evaluate a value-selection filter (the `[...]` of `emails[type eq "work"]`) against the elements
of a multi-valued attribute held in memory, as PATCH needs (RFC 7644 §3.5.2).
"""

from scim2_filter_parser import ast

from scim import constants
from scim.errors import bad_request
from scim.filters import ParsedFilter


UNSUPPORTED_VALUE_FILTER = "The value filter in '{path}' uses something that cannot select values."


def matches(parsed: ParsedFilter, element: dict, path_text: str) -> bool:
    return _matches(parsed, parsed.tree, element, path_text)


def check_value_filter(parsed: ParsedFilter, path_text: str) -> None:
    """Refuse now what matches() could not evaluate on some element (before a response starts)."""
    nodes = [parsed.tree]
    while nodes:
        node = nodes.pop()
        if isinstance(node, ast.Filter) and node.namespace is None:
            nodes.append(node.expr)
        elif isinstance(node, ast.LogExpr):
            nodes.extend((node.expr1, node.expr2))
        elif not (isinstance(node, ast.AttrExpr) and isinstance(node.attr_path.attr_name, str)):
            raise bad_request(UNSUPPORTED_VALUE_FILTER.format(path=path_text), constants.INVALID_PATH)


def equalities(parsed: ParsedFilter) -> dict:
    """The `attr eq value` terms joined by `and`: what a new element must hold to be selected."""
    return _equalities(parsed, parsed.tree)


def _matches(parsed: ParsedFilter, node, element: dict, path_text: str) -> bool:
    if isinstance(node, ast.Filter):
        result = _matches(parsed, node.expr, element, path_text)
        return not result if node.negated else result
    if isinstance(node, ast.LogExpr):
        left = _matches(parsed, node.expr1, element, path_text)
        if node.op.lower() == "and":
            return left and _matches(parsed, node.expr2, element, path_text)
        return left or _matches(parsed, node.expr2, element, path_text)
    if isinstance(node, ast.AttrExpr) and isinstance(node.attr_path.attr_name, str):
        return _compare(parsed, node, element)
    raise bad_request(UNSUPPORTED_VALUE_FILTER.format(path=path_text), constants.INVALID_PATH)


def _equalities(parsed: ParsedFilter, node) -> dict:
    if isinstance(node, ast.Filter) and not node.negated:
        return _equalities(parsed, node.expr)
    if isinstance(node, ast.LogExpr) and node.op.lower() == "and":
        return {**_equalities(parsed, node.expr1), **_equalities(parsed, node.expr2)}
    if isinstance(node, ast.AttrExpr) and node.value.lower() == "eq" and node.attr_path.sub_attr is None:
        return {node.attr_path.attr_name: parsed.literal(node.comp_value)}
    return {}


def _element_value(element: dict, name: str):
    lowered = name.lower()
    for key, value in element.items():
        if key.lower() == lowered:
            return value
    return None


def _normalise(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return None
    return str(value).lower()


def _compare(parsed: ParsedFilter, node, element: dict) -> bool:
    op = node.value.lower()
    actual = _element_value(element, node.attr_path.attr_name)
    if op == "pr":
        return actual not in (None, "", [], {})
    expected = parsed.literal(node.comp_value)
    # Value filters compare case-insensitively: the sub-attributes they select on (type, value,
    # display, primary) are caseExact false, and Entra sends primary as "True".
    a, e = _normalise(actual), _normalise(expected)
    if op == "eq":
        return a == e
    if op == "ne":
        return a != e
    if a is None or e is None:
        return False
    return {
        "co": lambda: e in a,
        "sw": lambda: a.startswith(e),
        "ew": lambda: a.endswith(e),
        "gt": lambda: a > e,
        "ge": lambda: a >= e,
        "lt": lambda: a < e,
        "le": lambda: a <= e,
    }[op]()
