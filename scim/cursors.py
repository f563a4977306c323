"""
RFC 9865 cursors: a keyset position (the sort value and id of the row a page ended or began at)
with the query it belongs to, signed with django.core.signing so a client can neither forge nor
alter one, and timestamped so it expires after SCIM_CURSOR_TIMEOUT seconds. Nothing is stored on
the server (RFC 9865 §5.3: no per-cursor resources to exhaust).
"""

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime

from django.core import signing

from scim import conf, constants
from scim.errors import bad_request


SALT = "scim.cursor"
# RFC 9865 §2: a cursor holds only RFC 3986 unreserved characters; Django's default ":" is not one.
SEPARATOR = "~"
MAX_LENGTH = 4096  # far above any cursor we issue (a userName is at most 255 characters)
VERSION = 1


@dataclass(frozen=True)
class Position:
    """Where a page starts: after (forward) or before (backward) the row (value, pk)."""

    forward: bool
    value: object = None
    pk: uuid.UUID | None = None  # None: from the very start (forward) or end (backward)
    inclusive: bool = False

    @property
    def at_edge(self) -> bool:
        return self.pk is None


@dataclass(frozen=True)
class Cursor:
    position: Position
    total: int | None = None  # totalResults counted when the walk began


def query_fingerprint(*parts) -> str:
    """What a cursor is valid for: the resource type, organization, filter and sort."""
    return hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).hexdigest()[:32]


def issue(position: Position, *, query: str, count: int, total: int | None, kind: str) -> str:
    key = None if position.pk is None else [_dump(position.value, kind), str(position.pk)]
    payload = {
        "v": VERSION,
        "q": query,
        "n": count,
        "f": int(position.forward),
        "i": int(position.inclusive),
        "k": key,
        "t": total,
    }
    return _signer().sign_object(payload, compress=True)


def read(token, *, query: str, count: int, kind: str) -> Cursor | None:
    """The cursor a request sent; None for the empty cursor of a first page (RFC 9865 §2)."""
    if token == "":
        return None
    if not isinstance(token, str) or len(token) > MAX_LENGTH:
        raise invalid_cursor()
    try:
        payload = _signer().unsign_object(token, max_age=conf.cursor_timeout())
    except signing.SignatureExpired:
        raise bad_request(
            constants.EXPIRED_CURSOR.format(timeout=conf.cursor_timeout()), constants.EXPIRED_CURSOR_TYPE
        ) from None
    except (signing.BadSignature, ValueError):  # ValueError: a signed payload that is not ours
        raise invalid_cursor() from None
    # A cursor of another filter, sort, resource type or organization is refused with the same
    # words as a forged one (RFC 9865 §5.2: no detail of the underlying data).
    if not isinstance(payload, dict) or payload.get("v") != VERSION or payload.get("q") != query:
        raise invalid_cursor()
    if payload.get("n") != count:
        detail = constants.CURSOR_COUNT_CHANGED.format(count=payload.get("n"))
        raise bad_request(detail, constants.INVALID_COUNT)
    try:
        return Cursor(position=_position(payload, kind), total=payload.get("t"))
    except (TypeError, ValueError):
        raise invalid_cursor() from None


def invalid_cursor():
    return bad_request(constants.INVALID_CURSOR, constants.INVALID_CURSOR_TYPE)


def _signer():
    return signing.TimestampSigner(salt=SALT, sep=SEPARATOR)


def _position(payload: dict, kind: str) -> Position:
    forward, inclusive, key = bool(payload["f"]), bool(payload["i"]), payload["k"]
    if key is None:
        return Position(forward=forward, inclusive=inclusive)
    value, pk = key
    return Position(forward=forward, value=_load(value, kind), pk=uuid.UUID(pk), inclusive=inclusive)


def _dump(value, kind: str):
    if value is None:
        return None
    return value.isoformat() if kind == "dateTime" else str(value)


def _load(value, kind: str):
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(value)
    return datetime.fromisoformat(value) if kind == "dateTime" else value
