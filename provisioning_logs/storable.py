"""
Text every database stores: a lone UTF-16 surrogate ("\\ud800" in JSON) cannot be encoded as
UTF-8, and PostgreSQL refuses NUL in text and jsonb. A client may send either anywhere in a body;
the log keeps the request, with those characters written out as escapes instead.
"""

import re


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable_text(text: str) -> str:
    """`text` with NUL and lone surrogates written as \\u0000-style escapes (visible, not lost)."""
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
