"""Protocol constants, defined once and asserted verbatim in tests."""

SCIM_CONTENT_TYPE = "application/scim+json"

# RFC 7643 / RFC 7644 schema URNs.
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE_USER_SCHEMA = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
LIST_RESPONSE_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"
PATCH_OP_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SEARCH_REQUEST_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
SERVICE_PROVIDER_CONFIG_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
RESOURCE_TYPE_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
SCHEMA_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Schema"

# RFC 7644 §3.12, Table 9.
INVALID_FILTER = "invalidFilter"
TOO_MANY = "tooMany"
UNIQUENESS = "uniqueness"
MUTABILITY = "mutability"
INVALID_SYNTAX = "invalidSyntax"
INVALID_PATH = "invalidPath"
NO_TARGET = "noTarget"
INVALID_VALUE = "invalidValue"
INVALID_VERSION = "invalidVers"

# Error details that clients (and the admins reading Entra's logs) see.
MISSING_TOKEN = "Send a bearer token in the Authorization header: 'Authorization: Bearer <token>'."
INVALID_TOKEN = "The bearer token is not valid: it is unknown, expired or revoked."
CONNECTION_DISABLED = "This provisioning connection is disabled; an organization admin can enable it."
RESOURCE_NOT_FOUND = "Resource {id} not found"
ENDPOINT_NOT_FOUND = "No SCIM endpoint at {path}."
METHOD_NOT_ALLOWED = "{method} is not supported on this endpoint."
BODY_TOO_LARGE = "The request body is larger than {limit} bytes."
BODY_NOT_JSON = "The request body is not valid JSON: {reason}."
BODY_NOT_OBJECT = "The request body must be a JSON object."
INTERNAL_ERROR = "The request could not be processed because of an internal error; it changed nothing."
UNAVAILABLE = "The service is temporarily unavailable; retry later. The request changed nothing."
NOT_IMPLEMENTED = "{feature} is not supported by this service provider."
PATCH_NO_OPERATIONS = "A PATCH request needs a non-empty 'Operations' list."
PATCH_TOO_MANY_OPERATIONS = "A PATCH request may hold at most {limit} operations."
PRECONDITION_FAILED = "The resource has changed: its version is {current}."

# RFC 9865 §2.1, Table 3: cursor paging errors (400).
INVALID_CURSOR_TYPE = "invalidCursor"
EXPIRED_CURSOR_TYPE = "expiredCursor"
INVALID_COUNT = "invalidCount"
INVALID_CURSOR = (
    "The cursor is not valid for this query: send an empty cursor for the first page, then the "
    "nextCursor or previousCursor of a page, with the same filter, sortBy and sortOrder."
)
EXPIRED_CURSOR = (
    "The cursor has expired (cursorTimeout: {timeout} seconds); start again with an empty cursor."
)
CURSOR_COUNT_CHANGED = "'count' must stay {count} while paging with this cursor, as when it was issued."
CURSOR_COUNT_NEGATIVE = "'count' must be a whole number from 0 upwards with a cursor, not {value!r}."
CURSOR_WITH_START_INDEX = "Send either startIndex (index paging) or cursor (cursor paging), not both."
ROOT_SEARCH_INDEX_ONLY = "'{name}' is served on /Users and /Groups; POST /.search pages Users, then Groups."
# RFC 7644 §3.4.2.3.
BAD_SORT_ORDER = "'sortOrder' must be 'ascending' or 'descending', not {value!r}."
NOT_SORTABLE = "{resource} resources cannot be sorted by {value!r}; sortable attributes: {sortable}."
