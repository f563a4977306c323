"""
Request bodies parsed within limits (issue 12): nesting depth, keys per object and items per
array are checked by a scan over the text BEFORE json.loads builds anything, so a body of
100,000 nested arrays is refused after reading its first few dozen characters, never by a
RecursionError, and the code after parsing (PATCH engine, projection, redaction) only ever sees
bounded documents.

After parsing, every string (keys included) is checked for lone UTF-16 surrogates (`"\\ud800"`
is valid JSON escape syntax but no Unicode text: it cannot be encoded, stored or logged) and NUL
(PostgreSQL text cannot hold it; RFC 7643 §2.1 strings are Unicode text, and no SCIM attribute
needs it). Both are 400 invalidValue (RFC 7644 §3.12: "a required value was missing, or the
value specified was not compatible"); the body is syntactically valid JSON, so not invalidSyntax.
"""

import json
import re

from django.conf import settings

from scim import constants
from scim.errors import bad_request


BODY_TOO_DEEP = "The request body nests arrays and objects deeper than {limit} levels."
BODY_TOO_MANY_KEYS = "An object in the request body has more than {limit} keys."
BODY_TOO_MANY_ITEMS = "An array in the request body has more than {limit} items."
BODY_BAD_TEXT = "The request body holds {what}, which no SCIM attribute accepts."
LONE_SURROGATE = "a lone UTF-16 surrogate (\\u{code:04x})"
NUL_CHARACTER = "a NUL character (\\u0000)"

# A JSON string (the unrolled form never backtracks) or one structural character; everything
# else (numbers, literals, whitespace) is skipped by the regex engine, not by Python.
_TOKENS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{},]')
_BAD_CHARACTER = re.compile("[\x00\ud800-\udfff]")


def parse_body(body: bytes) -> dict:
    """The request body as a JSON object, or a 400 ScimError saying which limit it broke."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise bad_request(
            constants.BODY_NOT_JSON.format(reason="not UTF-8"), constants.INVALID_SYNTAX
        ) from None
    check_structure(text)
    try:
        document = json.loads(text or "null")
    except ValueError as exc:
        reason = exc.args[0] if exc.args else "invalid"
        raise bad_request(constants.BODY_NOT_JSON.format(reason=reason), constants.INVALID_SYNTAX) from None
    if not isinstance(document, dict):
        raise bad_request(constants.BODY_NOT_OBJECT, constants.INVALID_SYNTAX)
    problem = bad_character(document)
    if problem:
        raise bad_request(BODY_BAD_TEXT.format(what=problem), constants.INVALID_VALUE)
    return document


def check_structure(text: str) -> None:
    """Refuse nesting beyond SCIM_MAX_JSON_DEPTH and containers beyond the key/item limits.

    Counts commas per open container (outside strings): n commas are n + 1 members. Invalid JSON
    that passes is left to json.loads to word its error."""
    depth_limit = settings.SCIM_MAX_JSON_DEPTH
    key_limit = settings.SCIM_MAX_JSON_KEYS
    item_limit = settings.SCIM_MAX_JSON_ITEMS
    # One [is_object, members] per open container.
    stack: list[list] = []
    for match in _TOKENS.finditer(text):
        token = match.group()
        if token == "[" or token == "{":
            if len(stack) >= depth_limit:
                raise bad_request(BODY_TOO_DEEP.format(limit=depth_limit), constants.INVALID_SYNTAX)
            stack.append([token == "{", 1])
        elif token == "]" or token == "}":
            if stack:
                stack.pop()
        elif token == ",":
            if not stack:
                continue
            container = stack[-1]
            container[1] += 1
            if container[0] and container[1] > key_limit:
                raise bad_request(BODY_TOO_MANY_KEYS.format(limit=key_limit), constants.INVALID_SYNTAX)
            if not container[0] and container[1] > item_limit:
                raise bad_request(BODY_TOO_MANY_ITEMS.format(limit=item_limit), constants.INVALID_SYNTAX)


def bad_character(value) -> str:
    """What makes a parsed document's text unusable (a lone surrogate, NUL), or "" if nothing.

    Iterative, though the depth is already bounded."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            problem = text_problem(item)
            if problem:
                return problem
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return ""


def text_problem(text: str) -> str:
    match = _BAD_CHARACTER.search(text)
    if match is None:
        return ""
    if match.group() == "\x00":
        return NUL_CHARACTER
    return LONE_SURROGATE.format(code=ord(match.group()))
