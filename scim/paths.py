"""
Attribute paths of PATCH operations (RFC 7644 §3.5.2, the ABNF of §3.10):

    [schemaURN ":"] attrName ["[" valueFilter "]"] ["." subAttrName]

Extension URNs contain dots ("…:enterprise:2.0:User:department"), so the URN prefix is matched
against the known schemas first, never split on "." (Entra sends these; ssoready #167).
"""

import re
from dataclasses import dataclass

from scim import constants
from scim.errors import ScimError, bad_request
from scim.filters import ParsedFilter, parse_filter
from scim.schema import COMMON_ATTRIBUTES, Attribute, ResourceType


_ATTR_NAME = r"[A-Za-z$][A-Za-z0-9_$-]*"
_PATH = re.compile(rf"^(?P<attr>{_ATTR_NAME})(?:\[(?P<filter>.+)\])?(?:\.(?P<sub>{_ATTR_NAME}))?$", re.S)
UNKNOWN_ATTRIBUTE = "'{path}' is not an attribute of the {resource} resource."
BAD_PATH = "'{path}' is not a valid attribute path."
BAD_VALUE_FILTER = "The filter in '{path}' is not valid: {reason}."
NOT_COMPLEX = "'{path}' selects sub-attributes of '{attribute}', which has none."


@dataclass(frozen=True)
class AttributePath:
    """A resolved path: `extension` is None for core and common attributes."""

    text: str
    attribute: Attribute | None  # None: the whole extension object (path is just its URN)
    extension: str | None = None
    value_filter: ParsedFilter | None = None  # the [...] part
    sub_attribute: Attribute | None = None


def parse_path(text: str, resource_type: ResourceType) -> AttributePath:
    if not isinstance(text, str) or not text.strip():
        raise bad_request(BAD_PATH.format(path=text), constants.INVALID_PATH)
    text = text.strip()
    extension_urn, rest = _split_urn(text, resource_type)
    if extension_urn is not None and rest == "":
        return AttributePath(text=text, attribute=None, extension=extension_urn)

    match = _PATH.match(rest)
    if not match:
        raise bad_request(BAD_PATH.format(path=text), constants.INVALID_PATH)
    attribute, extension_urn = _resolve(match["attr"], extension_urn, text, resource_type)

    value_filter = None
    if match["filter"] is not None:
        if not attribute.multi_valued:
            raise bad_request(BAD_PATH.format(path=text), constants.INVALID_PATH)
        value_filter = parse_value_filter(match["filter"], text)

    sub_attribute = None
    if match["sub"] is not None:
        sub_attribute = attribute.sub(match["sub"])
        if sub_attribute is None:
            if not attribute.sub_attributes:
                raise bad_request(
                    NOT_COMPLEX.format(path=text, attribute=attribute.name), constants.INVALID_PATH
                )
            raise bad_request(
                UNKNOWN_ATTRIBUTE.format(path=text, resource=resource_type.name), constants.INVALID_PATH
            )
    return AttributePath(
        text=text,
        attribute=attribute,
        extension=extension_urn,
        value_filter=value_filter,
        sub_attribute=sub_attribute,
    )


def parse_value_filter(filter_text: str, path_text: str) -> ParsedFilter:
    try:
        return parse_filter(filter_text)
    except ScimError as error:
        reason = error.detail.removeprefix("The filter is not valid SCIM filter syntax: ").rstrip(".")
        raise bad_request(
            BAD_VALUE_FILTER.format(path=path_text, reason=reason), constants.INVALID_PATH
        ) from None


def _split_urn(text: str, resource_type: ResourceType) -> tuple[str | None, str]:
    lowered = text.lower()
    for schema in resource_type.schemas:
        urn = schema.id.lower()
        if lowered == urn:
            return (schema.id if schema is not resource_type.core else None), ""
        if lowered.startswith(urn + ":"):
            return (schema.id if schema is not resource_type.core else None), text[len(urn) + 1 :]
    if lowered.startswith("urn:"):
        raise bad_request(
            UNKNOWN_ATTRIBUTE.format(path=text, resource=resource_type.name), constants.INVALID_PATH
        )
    return None, text


def _resolve(name: str, extension_urn: str | None, text: str, resource_type: ResourceType):
    if extension_urn is not None:
        attribute = resource_type.extension(extension_urn).attribute(name)
        if attribute is not None:
            return attribute, extension_urn
    else:
        lowered = name.lower()
        for common in COMMON_ATTRIBUTES:
            if common.name.lower() == lowered:
                return common, None
        attribute = resource_type.core.attribute(name)
        if attribute is not None:
            return attribute, None
        # Lenient: a bare extension attribute name ("manager", "department") that no core
        # attribute shadows, as Entra's documented manager PATCH sends (entra-scim.md §1.9).
        for extension in resource_type.extensions:
            attribute = extension.attribute(name)
            if attribute is not None:
                return attribute, extension.id
    raise bad_request(
        UNKNOWN_ATTRIBUTE.format(path=text, resource=resource_type.name), constants.INVALID_PATH
    )
