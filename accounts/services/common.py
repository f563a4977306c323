"""Pieces every accounts service shares."""

from dataclasses import dataclass

from accounts.exceptions import InvalidAttributeValue


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
