"""
The User adapter for work accounts (django-scim2's USER_ADAPTER, a SCIMUser). It translates and
does not decide: django-scim2's handlers call from_dict + save (POST, PUT), handle_operations
(PATCH), delete and to_dict; SCIM documents and PATCH operations become AccountAttributes, and each
write calls one accounts service.
"""

import dataclasses
import hashlib

from django_scim.adapters import SCIMUser

from accounts import services
from accounts.attributes import AccountAttributes
from accounts.exceptions import (
    AccountNotFound,
    DeprovisioningHeld,
    InvalidAttributeValue,
    UniquenessConflict,
    VersionMismatch,
)
from accounts.selectors import account_attributes, account_groups
from provisioning_logs.guard import deprovisioning_guard
from scim import constants
from scim.adapters.patching import PatchHandlers
from scim.errors import ScimError, bad_request
from scim.locations import resource_location
from scim.projection import project
from scim.requests import expected_version, projection
from scim.schema import USER_RESOURCE
from scim.users.document import ENTERPRISE, canonicalise, creation_document, from_document, to_document


HELD_RETRY_AFTER = "3600"


def format_timestamp(moment) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def etag(version) -> str:
    return f'W/"{version}"'


class WorkAccountSCIMUser(PatchHandlers, SCIMUser):
    patch_resource_type = USER_RESOURCE
    id_field = "id"
    url_name = "scim:users"
    resource_type = "User"

    def __init__(self, obj, request=None, attributes: AccountAttributes | None = None, account_id=None):
        super().__init__(obj, request=request)
        self._attributes = attributes
        # Writes name the account by id only: the service loads it under a row lock.
        self.account_id = account_id if account_id is not None else stored_pk(obj)
        self.changes = ()
        self._groups = None
        self._incoming = None

    @classmethod
    def resource_type_dict(cls, request=None):
        return USER_RESOURCE.to_dict(resource_location(request, "scim:resource-types", USER_RESOURCE.id))

    @property
    def organization(self):
        return self.request.scim.organization

    @property
    def attributes(self) -> AccountAttributes:
        if self._attributes is None:
            self._attributes = account_attributes(self.obj)
        return self._attributes

    @property
    def groups(self) -> list[tuple]:
        if self._groups is None:
            self._groups = account_groups(self.obj)
        return self._groups

    @property
    def etag(self) -> str:
        """
        meta.version: the account's own version, plus a fingerprint of its groups when it has
        any, because `groups` changes with group PATCHes that do not touch the account row.
        If-Match compares the account version only (scim.views.resources.expected_version).
        """
        if not self.groups:
            return etag(self.obj.version)
        listed = "|".join(f"{group_id}:{name}" for group_id, name in self.groups)
        return etag(f"{self.obj.version}-{hashlib.sha256(listed.encode()).hexdigest()[:10]}")

    # Reads ---------------------------------------------------------------------------------------

    def to_dict(self) -> dict:
        document = to_document(self.attributes)
        enterprise = document.get(ENTERPRISE)
        if enterprise and self.attributes.manager_id is not None:
            # A manager not provisioned yet has no resource to point at: its reference goes
            # back as sent, without $ref.
            manager_id = enterprise["manager"]["value"]
            enterprise["manager"] = {
                "value": manager_id,
                "$ref": resource_location(self.request, self.url_name, manager_id),
            }
        groups = [
            {
                "value": str(group_id),
                "$ref": resource_location(self.request, "scim:groups", group_id),
                "display": display_name,
                "type": "direct",
            }
            for group_id, display_name in self.groups
        ]
        if groups:
            document["groups"] = groups
        schemas = [constants.USER_SCHEMA] + ([ENTERPRISE] if enterprise else [])
        return project(
            {
                "schemas": schemas,
                "id": str(self.obj.pk),
                **document,
                "meta": {
                    "resourceType": "User",
                    "created": format_timestamp(self.obj.date_joined),
                    "lastModified": format_timestamp(self.obj.updated_at),
                    "location": self.location,
                    "version": self.etag,
                },
            },
            *projection(self.request, USER_RESOURCE),
        )

    @property
    def location(self) -> str:
        return resource_location(self.request, self.url_name, self.obj.pk)

    # Writes: django-scim2's adapter contract -------------------------------------------------------

    def validate_dict(self, d):
        # django-scim2 requires a JSON boolean `active`; Entra sends "True"/"False" (entra-scim.md
        # §1.5), which from_document coerces and validates with the rest of the body.
        pass

    def from_dict(self, d):
        """POST/PUT body; nothing is decided until save() calls the service."""
        self.request.scim_note.named_by_body(d)
        self._incoming = d

    def save(self):
        if self.account_id is None:
            self.create(self._incoming)
            self.request.scim_note.took(self.obj, self.changes)
        else:
            self.replace(self._incoming, expected_version(self.request))
            self.request.scim_note.updated(self.obj, self.changes)

    def handle_operations(self, operations):
        # django-scim2 applies operations one by one to the model; RFC 7644 §3.5.2 makes a PATCH
        # atomic and Entra's paths need valuePaths: the whole list is one service call (scim.patch).
        self.patch(operations, expected_version(self.request))
        self.request.scim_note.updated(self.obj, self.changes)

    def delete(self):
        self._delete(expected_version(self.request))
        self.request.scim_note.took(self.obj)

    # Writes --------------------------------------------------------------------------------------

    def create(self, body: dict) -> None:
        attributes = from_document(creation_document(body))
        with _domain_errors():
            result = services.account_create(organization=self.organization, attributes=attributes)
        self._take(result)
        self._groups = []  # a new account is in no group yet

    def replace(self, body: dict, expected_version: int | None = None) -> None:
        """PUT (RFC 7644 §3.5.1): the body replaces every attribute; `active` and the password
        stay as they are when the body leaves them out (Okta's PUT omits active)."""
        incoming = canonicalise(body)

        def transform(current: AccountAttributes) -> AccountAttributes:
            replaced = from_document(incoming)
            keep = {}
            if "active" not in incoming:
                keep["active"] = current.active
            return dataclasses.replace(replaced, **keep)

        self._update(transform, expected_version)

    def patch(self, operations: list, expected_version: int | None = None) -> None:
        resource_id = str(self.account_id)

        def transform(current: AccountAttributes) -> AccountAttributes:
            document = self.patched_document(to_document(current), operations, resource_id)
            return from_document(document)

        self._update(transform, expected_version)

    def _delete(self, expected_version: int | None = None) -> None:
        with _domain_errors(self.request):
            self.obj = services.account_delete(
                organization=self.organization,
                account_id=self.account_id,
                expected_version=expected_version,
                deprovisioning_policy=self._guard,
            )

    def _update(self, transform, expected_version: int | None) -> None:
        with _domain_errors(self.request):
            result = services.account_update(
                organization=self.organization,
                account_id=self.account_id,
                transform=transform,
                expected_version=expected_version,
                deprovisioning_policy=self._guard,
            )
        self._take(result)

    @property
    def _guard(self):
        """The connection's mass-deprovisioning guard, asked by the service on the actual change."""
        return deprovisioning_guard(self.request.scim.connection)

    def _take(self, result) -> None:
        self.obj = result.account
        self._attributes = result.attributes
        self.changes = result.changes
        for warning in result.warnings:
            self.request.scim_note.warn(warning)


def stored_pk(obj):
    """The primary key of a stored row; None for the unsaved instance django-scim2 creates on POST."""
    if obj is None or obj._state.adding:
        return None
    return obj.pk


class _domain_errors:
    """accounts errors → RFC 7644 §3.12 errors with the right scimType."""

    def __init__(self, request=None):
        self.request = request

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            return False
        if issubclass(exc_type, UniquenessConflict):
            raise ScimError(409, exc.message, constants.UNIQUENESS) from None
        if issubclass(exc_type, InvalidAttributeValue):
            raise bad_request(exc.message, constants.INVALID_VALUE) from None
        if issubclass(exc_type, AccountNotFound):
            raise ScimError(404, exc.message) from None
        if issubclass(exc_type, VersionMismatch):
            raise ScimError(412, exc.message) from None
        if issubclass(exc_type, DeprovisioningHeld):
            note = getattr(self.request, "scim_note", None)
            if note is not None:
                note.action = exc.action  # the log shows the held Disable or Delete
            # 503 + Retry-After: Entra keeps the operation and retries it later; by then an admin
            # has approved it (the retry is a no-op) or discarded it.
            raise ScimError(503, exc.message, headers={"Retry-After": HELD_RETRY_AFTER}) from None
        return False
