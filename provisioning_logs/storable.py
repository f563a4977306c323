"""
Text every database stores: a lone UTF-16 surrogate ("\\ud800" in JSON) cannot be encoded as
UTF-8, and PostgreSQL refuses NUL in text and jsonb. A client may send either anywhere in a body;
the log keeps the request, with those characters written out as escapes instead.
"""

import json
import re


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable_text(text: str) -> str:
    """`text` with NUL and lone surrogates written as \\u0000-style escapes (visible, not lost);
    `text` itself when it has neither."""
    if _UNSTORABLE.search(text) is None:
        return text
    return _UNSTORABLE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


def storable(value):
    """Strings anywhere in a JSON-like value (dict keys too) made storable."""
    if isinstance(value, str):
        return storable_text(value)
    if isinstance(value, dict):
        return {storable(key): storable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(storable(item) for item in value)
    return value


def storable_json(value, *, default=None):
    """
    `value` as JSON gives it back (json.dumps, `default` for what JSON has no type for), every
    string storable. The walk of storable() only when the JSON text shows it is needed: ASCII JSON
    writes NUL and every surrogate as a \\u escape (a third of a create's log event, issue 15).
    """
    text = json.dumps(value, default=default)
    document = json.loads(text)
    return storable(document) if _ESCAPED_UNSTORABLE.search(text) else document


# What NUL or a surrogate becomes in ASCII JSON (a character beyond the BMP is a surrogate pair:
# the walk runs and changes nothing; so does a literal backslash before "u0000").
_ESCAPED_UNSTORABLE = re.compile(r"\\u(?:0000|d[89a-f])", re.IGNORECASE)
