"""Pieces every accounts service shares."""

from dataclasses import dataclass

from django.db import IntegrityError

from accounts.exceptions import InvalidAttributeValue, UniquenessConflict


TOO_LONG = "{attribute} is longer than {limit} characters."


@dataclass(frozen=True)
class PropertyChange:
    """One modified property, as provisioning logs show it (old → new)."""

    name: str
    old: object
    new: object


def check_length(model, field_name: str, value, prefix: str | None = None) -> None:
    """Refuse a value longer than its column, naming the attribute as clients know it."""
    if value is None:
        return
    model_field = model._meta.get_field(field_name)
    limit = model_field.max_length
    if limit and len(value) > limit:
        label = model_field.verbose_name if not prefix else f"{prefix}.{model_field.verbose_name}"
        raise InvalidAttributeValue(TOO_LONG.format(attribute=label, limit=limit))


class IntegrityErrorTranslator:
    """
    Turn database integrity errors into domain errors without leaking database text: a
    violation of `constraint` is a UniquenessConflict (message built from `attributes`, set once
    known), anything else a concurrent change to retry. Wrap the whole transaction (no
    savepoint): the failed transaction has rolled back by the time the error arrives here.
    """

    def __init__(self, constraint: str, conflict_message, concurrent_message: str, attributes=None):
        self.constraint = constraint
        self.conflict_message = conflict_message
        self.concurrent_message = concurrent_message
        self.attributes = attributes

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None or not issubclass(exc_type, IntegrityError):
            return False
        if self.constraint in str(exc):
            raise UniquenessConflict(self.conflict_message(self.attributes)) from None
        raise InvalidAttributeValue(self.concurrent_message) from None
