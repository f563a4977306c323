"""Value coercion shared by POST, PUT and PATCH: Entra's dialect in, canonical types out."""

from scim import constants
from scim.errors import bad_request


NOT_A_BOOLEAN = "'{name}' must be true or false, not {value!r}."
NOT_A_STRING = "'{name}' must be a string."
NOT_AN_OBJECT = "'{name}' must be a JSON object."
NOT_A_LIST = "'{name}' must be a list of objects."
BAD_MANAGER = '\'manager\' must be a user id, {{"value": id}} or [{{"value": id}}]; got {value!r}.'


def is_empty(value) -> bool:
    """
    A value that clears what it is given to: null, "", [] and {} (RFC 7643 §2.5: unassigned, null
    and an empty array are the same state; Entra clears the manager with "", entra-scim.md §1.9).
    """
    return value is None or (isinstance(value, str | list | dict) and not value)


def to_bool(value, name: str) -> bool:
    """JSON booleans, and "True"/"False" in any case (Entra without aadOptscim062020, §1.7)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise bad_request(NOT_A_BOOLEAN.format(name=name, value=value), constants.INVALID_VALUE)


def to_text(value, name: str) -> str | None:
    """A stored string attribute: "" clears it like null (never stored as "")."""
    return to_string(value, name) or None


def to_string(value, name: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise bad_request(NOT_A_STRING.format(name=name), constants.INVALID_VALUE)


def to_object(value, name: str) -> dict:
    if not isinstance(value, dict):
        raise bad_request(NOT_AN_OBJECT.format(name=name), constants.INVALID_VALUE)
    return value


def to_object_list(value, name: str) -> list[dict]:
    if value is None:
        return []
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise bad_request(NOT_A_LIST.format(name=name), constants.INVALID_VALUE)
    return value


def to_manager_id(value) -> str | None:
    """
    Entra sends the manager as a bare id (real traffic), {"value": id} (validator) or
    [{"value": id, "$ref": …}] (documented sample); "", null and {"value": ""} remove it (§1.9).
    Any other string is returned exactly as sent: a reference the service may not resolve yet.
    """
    if isinstance(value, list):
        if not value:
            return None
        if len(value) != 1:
            raise bad_request(BAD_MANAGER.format(value=value), constants.INVALID_VALUE)
        value = value[0]
    if isinstance(value, dict):
        value = {k.lower(): v for k, v in value.items()}.get("value")
    if value is None:
        return None
    if not isinstance(value, str):
        raise bad_request(BAD_MANAGER.format(value=value), constants.INVALID_VALUE)
    return value if value.strip() else None
