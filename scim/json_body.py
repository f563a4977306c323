"""
Request bodies parsed within limits (issue 12): nesting depth, keys per object, items per array.
The parser is the standard library's C parser, whose own recursion guard stops a body of
100,000 nested arrays after about a thousand levels, in microseconds (measured: a hand-rolled
pre-scan in Python cost 100 times more on ordinary 1 MB bodies); its RecursionError is refused
as too deep here. The parsed document is then walked iteratively against SCIM_MAX_JSON_DEPTH and
the key and item limits, before any of our code (PATCH engine, projection, redaction) sees it:
parsing is linear in the body, itself capped by SCIM_MAX_BODY_BYTES, and str hashing is
randomized, so no shape of body makes the work grow beyond that.

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

_BAD_CHARACTER = re.compile("[\x00\ud800-\udfff]")


def parse_body(body: bytes) -> dict:
    """The request body as a JSON object, or a 400 ScimError saying which limit it broke."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise bad_request(
            constants.BODY_NOT_JSON.format(reason="not UTF-8"), constants.INVALID_SYNTAX
        ) from None
    try:
        document = json.loads(text or "null")
    except RecursionError:
        # The C parser's own guard (about 1,000 levels, reached in microseconds): too deep.
        raise _too_deep() from None
    except ValueError as exc:
        reason = exc.args[0] if exc.args else "invalid"
        raise bad_request(constants.BODY_NOT_JSON.format(reason=reason), constants.INVALID_SYNTAX) from None
    if not isinstance(document, dict):
        raise bad_request(constants.BODY_NOT_OBJECT, constants.INVALID_SYNTAX)
    check_document(document, text)
    return document


def check_document(document: dict, text: str) -> None:
    """Refuse nesting beyond SCIM_MAX_JSON_DEPTH, containers beyond the key and item limits, and
    text no attribute can hold (a lone surrogate, NUL). Iterative: no depth costs a recursion."""
    depth_limit = settings.SCIM_MAX_JSON_DEPTH
    key_limit = settings.SCIM_MAX_JSON_KEYS
    item_limit = settings.SCIM_MAX_JSON_ITEMS
    # Strict UTF-8 and strict JSON let neither in raw: only a \u escape can make one.
    check_text = "\\u" in text
    # Level by level: one list per depth instead of a (value, depth) pair per container.
    level, depth = [document], 1
    while level:
        if depth > depth_limit:
            raise _too_deep()
        deeper = []
        for item in level:
            if type(item) is dict:
                if len(item) > key_limit:
                    raise bad_request(BODY_TOO_MANY_KEYS.format(limit=key_limit), constants.INVALID_SYNTAX)
                values = item.values()
                if check_text:
                    _check_text(item.keys())
            else:
                if len(item) > item_limit:
                    raise bad_request(BODY_TOO_MANY_ITEMS.format(limit=item_limit), constants.INVALID_SYNTAX)
                values = item
            if check_text:
                _check_text(values)
            deeper.extend([value for value in values if type(value) is dict or type(value) is list])
        level, depth = deeper, depth + 1


def _check_text(values) -> None:
    for value in values:
        if isinstance(value, str):
            problem = text_problem(value)
            if problem:
                raise bad_request(BODY_BAD_TEXT.format(what=problem), constants.INVALID_VALUE)


def _too_deep():
    limit = settings.SCIM_MAX_JSON_DEPTH
    return bad_request(BODY_TOO_DEEP.format(limit=limit), constants.INVALID_SYNTAX)


def text_problem(text: str) -> str:
    match = _BAD_CHARACTER.search(text)
    if match is None:
        return ""
    if match.group() == "\x00":
        return NUL_CHARACTER
    return LONE_SURROGATE.format(code=ord(match.group()))
