"""
The Group adapter for work groups (django-scim2's GROUP_ADAPTER, a SCIMGroup): translates SCIM
bodies and PATCH operations into one accounts service call, and renders groups with their members
streamed page by page. django-scim2's handlers call it like the User adapter: from_dict + save,
handle_operations, delete, to_dict.
"""

import json
from collections.abc import Callable

from django_scim.adapters import SCIMGroup

from accounts import services
from accounts.attributes import GroupAttributes
from scim import constants
from scim.adapters.patching import PatchHandlers
from scim.adapters.users import _domain_errors, etag, format_timestamp, stored_pk
from scim.groups.document import canonicalise, from_document, to_document, to_member_uuids
from scim.groups.patch import split_group_patch
from scim.groups.snapshot import member_pages
from scim.locations import resource_location
from scim.projection import project
from scim.requests import expected_version, projection
from scim.schema import GROUP_RESOURCE


class WorkGroupSCIMGroup(PatchHandlers, SCIMGroup):
    patch_resource_type = GROUP_RESOURCE
    id_field = "id"
    url_name = "scim:groups"
    resource_type = "Group"

    def __init__(self, obj, request=None, group_id=None):
        super().__init__(obj, request=request)
        self.group_id = group_id if group_id is not None else stored_pk(obj)
        self.changes = ()
        self._incoming = None

    @classmethod
    def resource_type_dict(cls, request=None):
        return GROUP_RESOURCE.to_dict(resource_location(request, "scim:resource-types", GROUP_RESOURCE.id))

    @property
    def organization(self):
        return self.request.scim.organization

    @property
    def etag(self) -> str:
        return etag(self.obj.version)

    @property
    def location(self) -> str:
        return resource_location(self.request, self.url_name, self.obj.pk)

    # Reads ---------------------------------------------------------------------------------------

    def to_dict(self) -> dict:
        """The group without `members` (see member_chunks)."""
        attributes = GroupAttributes(display_name=self.obj.display_name, external_id=self.obj.external_id)
        document = {
            "schemas": [constants.GROUP_SCHEMA],
            "id": str(self.obj.pk),
            **to_document(attributes),
            "meta": {
                "resourceType": "Group",
                "created": format_timestamp(self.obj.created_at),
                "lastModified": format_timestamp(self.obj.updated_at),
                "location": self.location,
                "version": self.etag,
            },
        }
        return project(document, *projection(self.request, GROUP_RESOURCE))

    def member_chunks(self, keys: set[str] | Callable | None = None):
        """JSON text of the members, one page (one joined query) at a time; `keys` selects
        sub-attributes, or projects each member (scim.projection.value_projection)."""
        users = resource_location(self.request, "scim:users", "X")[:-1]  # …/scim/v2/Users/
        render = None if callable(keys) else _member_template(users, keys)
        first = True
        for page in member_pages(group_id=self.obj.pk):
            if render is not None:
                members = [render(account_id, display) for account_id, display in page]
            else:
                members = []
                for account_id, display in page:
                    member = keys(_member(users, account_id, display))
                    if member is not None:
                        members.append(json.dumps(member))
            if not members:
                continue  # a page a value filter emptied
            text = ",".join(members)
            yield text if first else "," + text
            first = False

    # Writes: django-scim2's adapter contract -------------------------------------------------------

    def from_dict(self, d):
        """POST/PUT body; nothing is decided until save() calls the service."""
        self.request.scim_note.named_by_body(d)
        self._incoming = d

    def save(self):
        if self.group_id is None:
            self.create(self._incoming)
            self.request.scim_note.took(self.obj, self.changes)
        else:
            self.replace(self._incoming, expected_version(self.request))
            self.request.scim_note.updated(self.obj, self.changes)

    def handle_operations(self, operations):
        # django-scim2 reads member ids as integers and applies operations one by one: members and
        # attributes of the whole PATCH go to one service call (RFC 7644 §3.5.2: atomic).
        self.patch(operations, expected_version(self.request))
        self.request.scim_note.updated(self.obj, self.changes)

    def delete(self):
        self._delete(expected_version(self.request))
        self.request.scim_note.took(self.obj)

    # Writes --------------------------------------------------------------------------------------

    def create(self, body: dict) -> None:
        doc, members = canonicalise(body)
        attributes = from_document(doc)
        with _domain_errors():
            result = services.group_create(
                organization=self.organization, attributes=attributes, member_ids=members or frozenset()
            )
        self._take(result)

    def replace(self, body: dict, expected_version: int | None = None) -> None:
        """PUT (RFC 7644 §3.5.1): the body's attributes and member set replace the group's."""
        doc, members = canonicalise(body)
        replaced = from_document(doc)
        membership = services.MembershipUpdate(replacement=members or frozenset())
        self._update(lambda current: replaced, membership, expected_version)

    def patch(self, operations: list, expected_version: int | None = None) -> None:
        attribute_operations, change = split_group_patch(operations)
        membership = services.MembershipUpdate(
            add=to_member_uuids(change.to_add),
            remove=to_member_uuids(change.to_remove, strict=False),
            replacement=None if change.replacement is None else to_member_uuids(change.replacement),
        )
        resource_id = str(self.group_id)

        def transform(current: GroupAttributes) -> GroupAttributes:
            document = self.patched_document(to_document(current), attribute_operations, resource_id)
            return from_document(document)

        # Without attribute operations the service can take its lock-free membership path.
        self._update(transform if attribute_operations else None, membership, expected_version)

    def _delete(self, expected_version: int | None = None) -> None:
        with _domain_errors():
            self.obj = services.group_delete(
                organization=self.organization, group_id=self.group_id, expected_version=expected_version
            )

    def _update(self, transform, membership, expected_version) -> None:
        with _domain_errors():
            result = services.group_update(
                organization=self.organization,
                group_id=self.group_id,
                transform=transform,
                membership=membership,
                expected_version=expected_version,
            )
        self._take(result)

    def _take(self, result) -> None:
        self.obj = result.group
        self.changes = result.changes


def _member(users: str, account_id, display: str) -> dict:
    # RFC 7643 §4.2: value, $ref (canonical, absolute), display and type; Okta shows `display` as
    # the member's name, and clients resolve `$ref` without our base URL.
    return {"value": str(account_id), "$ref": f"{users}{account_id}", "display": display, "type": "User"}


def _member_template(users: str, keys: set[str] | None):
    """
    One member's JSON text from (account id, display), as json.dumps(_member(...)) with the `keys`
    selected (None: all) would write it. A 100,000-member group is 100,000 of these: formatting a
    template with only `display` escaped takes half the time of a dict and json.dumps each.
    """
    prefix = json.dumps(users)[1:-1].replace("{", "{{").replace("}", "}}")
    fields = {
        "value": '"value": "{0}"',
        "$ref": f'"$ref": "{prefix}{{0}}"',
        "display": '"display": {1}',
        "type": '"type": "User"',
    }
    template = "{{" + ", ".join(t for k, t in fields.items() if keys is None or k.lower() in keys) + "}}"
    if "{1}" not in template:
        return lambda account_id, display: template.format(account_id)
    return lambda account_id, display: template.format(account_id, json.dumps(display))
