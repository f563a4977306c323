"""Keep secrets out of the log: request bodies and modified properties are redacted and bounded."""

import json
import re


REDACTED = "[redacted]"
SECRET_WORDS = ("password", "secret", "token")
MAX_BODY_CHARS = 8192
MAX_VALUE_CHARS = 1000


def is_secret_name(name) -> bool:
    return _SECRET_WORD.search(name if type(name) is str else str(name)) is not None


# Any of SECRET_WORDS, in any case (one regex search instead of a lowered copy and three scans).
_SECRET_WORD = re.compile("|".join(map(re.escape, SECRET_WORDS)), re.IGNORECASE)


def _redact(value):
    if isinstance(value, dict):
        # A PATCH operation names its attribute in "path": {"op": "replace", "path": "password", …}.
        # Its keys are matched case-insensitively, as the PATCH parser does ("Path", "Value").
        path = {str(key).lower(): item for key, item in value.items()}.get("path")
        secret_operation = isinstance(path, str) and is_secret_name(path)
        return {
            key: REDACTED
            if is_secret_name(key) or (secret_operation and str(key).lower() == "value")
            else _redact(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_redact(item) for item in value]
    return value


def redacted_body(raw: bytes) -> str:
    """The body as JSON with every secret replaced, cut to MAX_BODY_CHARS; never raw bytes."""
    if not raw:
        return ""
    try:
        text = json.dumps(_redact(json.loads(raw.decode("utf-8"))), ensure_ascii=False)
    except (UnicodeDecodeError, ValueError):
        # Unparsed bytes could hold anything, secrets included: keep only their size.
        return f"[{len(raw)} bytes, not JSON]"
    except RecursionError:
        return f"[{len(raw)} bytes of JSON, nested too deeply to show]"
    if len(text) > MAX_BODY_CHARS:
        text = text[:MAX_BODY_CHARS] + f"… [cut: {len(text)} characters in all]"
    return text


def _bounded(value):
    if isinstance(value, str) and len(value) > MAX_VALUE_CHARS:
        return value[:MAX_VALUE_CHARS] + "…"
    if isinstance(value, (dict, list)):
        text = json.dumps(value, ensure_ascii=False, default=str)
        return value if len(text) <= MAX_VALUE_CHARS else text[:MAX_VALUE_CHARS] + "…"
    return value


def redacted_property(name: str, old, new) -> dict:
    if is_secret_name(name):
        return {"name": name, "old": REDACTED if old not in (None, "") else old, "new": REDACTED}
    return {"name": name, "old": _bounded(old), "new": _bounded(new)}
