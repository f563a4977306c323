"""
Every write to work accounts goes through these functions.

Each one owns its transaction; uniqueness is enforced by the database and reported as a domain
error; a call that changes nothing writes nothing.
"""

import contextlib
import dataclasses
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from django.contrib.auth.password_validation import password_changed, validate_password
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Exists, F, Q
from django.utils import timezone

from accounts.attributes import (
    ADDRESS_PARTS,
    SIMPLE_FIELDS,
    AccountAttributes,
    ContactValue,
    PostalAddress,
)
from accounts.exceptions import (
    AccountNotFound,
    DeprovisioningHeld,
    InvalidAttributeValue,
    VersionMismatch,
)
from accounts.loaded import groups_column, set_loaded_groups
from accounts.models import (
    GroupMembership,
    Organization,
    OrganizationRole,
    ValueAttribute,
    WorkAccount,
    WorkAccountValue,
    WorkGroup,
)
from accounts.selectors import account_attributes, live_accounts
from accounts.services.common import IntegrityErrorTranslator, PropertyChange, check_length
from accounts.services.deprovisioning import DELETE, DISABLE, DeprovisioningPolicy
from accounts.statements import (
    Statement,
    insert_instances,
    insert_statement,
    run_together,
    save_columns,
    save_columns_after,
    save_columns_statement,
)


USERNAME_TAKEN = "userName '{user_name}' is already taken in this organization."
CONCURRENT_CHANGE = "The account was changed by another request at the same time; retry the request."
MANAGER_UNKNOWN = "manager '{manager_id}' is not a work account of this organization."
MANAGER_SELF = "An account cannot be its own manager."
MANAGER_UNRESOLVED = (
    "manager '{reference}' is not a work account of this organization yet: the account is kept "
    "without a manager, and the manager is linked as soon as an account with this id or "
    "externalId is provisioned."
)
TWO_PRIMARIES = "{attribute} has more than one value marked primary; at most one may be."
USERNAME_REQUIRED = "userName is required and cannot be empty."
PASSWORD_REFUSED = "password does not meet the password policy: {reasons}"

_MULTI_VALUED = {
    "emails": ValueAttribute.EMAILS,
    "phone_numbers": ValueAttribute.PHONE_NUMBERS,
    "addresses": ValueAttribute.ADDRESSES,
}


@dataclass(frozen=True)
class AccountChange:
    account: WorkAccount
    attributes: AccountAttributes
    changes: tuple[PropertyChange, ...]
    # What the change stored that the client should know about, though it succeeded.
    warnings: tuple[str, ...] = ()


# Work accounts ------------------------------------------------------------------------------------


def account_create(
    *,
    organization: Organization,
    attributes: AccountAttributes,
    role: str = OrganizationRole.MEMBER,
) -> AccountChange:
    """Create a work account; a taken userName (any case) raises UniquenessConflict."""
    with _translated_integrity_errors(attributes), _create_transaction(attributes):
        _validate(attributes)
        attributes = _linked_manager(organization, attributes, current=None, account_id=None)
        if attributes.password is not None:
            _check_password(attributes.password, attributes)
        now = timezone.now()
        # RFC 7643 §3.1: lastModified equals created until the first modification.
        account = WorkAccount(organization=organization, role=role, date_joined=now, updated_at=now)
        _assign(account, attributes)
        account.set_password(attributes.password)
        rows = [
            row for name in _MULTI_VALUED for row in _value_rows(account, name, getattr(attributes, name))
        ]
        _insert_account(account, rows)
    stored = dataclasses.replace(attributes, password=None)
    changes = tuple(
        PropertyChange(name, None, _logged_value(stored, name))
        for name in _logged_fields(AccountAttributes.__dataclass_fields__)
        if _logged_value(stored, name) not in (None, (), False)
    )
    return AccountChange(
        account=account, attributes=stored, changes=changes, warnings=_manager_warnings(stored, changes)
    )


def _create_transaction(attributes: AccountAttributes):
    """
    The transaction of a create. On PostgreSQL an account without a manager to look up is
    written by one statement (_insert_account), atomic by itself: outside any transaction it
    runs in autocommit, without the BEGIN and COMMIT round trips around it (issue 15).
    """
    one_statement = (
        connection.vendor == "postgresql"
        and attributes.manager_id is None
        and attributes.manager_reference is None
        and not connection.in_atomic_block
    )
    return contextlib.nullcontext() if one_statement else transaction.atomic()


def _insert_account(account: WorkAccount, value_rows: list[WorkAccountValue]) -> None:
    """
    account.save(force_insert=True), bulk_create(value_rows), then _link_reports: the INSERTs
    written once (accounts.statements) instead of compiled by save() and bulk_create() on every
    create (14 % of a POST's CPU, issue 15), and on PostgreSQL the three as one statement
    (run_together: two round trips fewer). It is save()'s work for a WorkAccount: every field's
    pre_save, one INSERT, then what AbstractBaseUser.save does after it. No pre_save or
    post_save receiver exists for WorkAccount (tests/accounts/test_statements.py fails when one
    is connected, so that this is revisited).
    """
    if connection.vendor == "postgresql":
        # The account's key is its own (a UUID chosen here); the value rows' keys are not read back.
        # Its 40 columns as one JSON parameter: with more than 50 parameters psycopg would parse
        # the whole statement's text anew on every create (a sixth of a POST's CPU).
        statements = [insert_statement([account], as_json=True)]
        if value_rows:
            statements.append(insert_statement(value_rows))
        run_together([*statements, _link_reports_statement(account)])
    else:
        insert_instances([account])
        insert_instances(value_rows)
        _link_reports(account)
    if account._password is not None:  # AbstractBaseUser.save: the validators hear of a new password
        password_changed(account._password, account)
        account._password = None


def account_update(
    *,
    organization: Organization,
    account_id: uuid.UUID,
    transform: Callable[[AccountAttributes], AccountAttributes],
    expected_version: int | None = None,
    deprovisioning_policy: DeprovisioningPolicy | None = None,
) -> AccountChange:
    """
    Read an account under a row lock, let `transform` compute its new attributes, and write
    what differs, all in one transaction: `transform` raising leaves the account untouched.
    With `expected_version`, a concurrent change since the client read it raises VersionMismatch.
    A change that disables the account is first put to `deprovisioning_policy`, which may hold
    it (DeprovisioningHeld, nothing changed); a no-op or a refused change never reaches it.
    """
    translator = _translated_integrity_errors()
    held = None
    with translator, transaction.atomic():
        account = _locked_account(organization, account_id, with_values=True)
        _check_version(account, expected_version)
        current = account_attributes(account)
        desired = translator.attributes = _linked_manager(
            organization, transform(current), current=current, account_id=account.pk
        )
        changed = current.changed_fields(desired)
        if not changed:
            return AccountChange(account=account, attributes=current, changes=())
        _validate(desired)
        if "password" in changed and desired.password is not None:
            _check_password(desired.password, desired)
        if deprovisioning_policy is not None and current.active and not desired.active:
            held = deprovisioning_policy.admit(account=account, action=DISABLE)
        if held is None:
            _write_update(account, desired, changed)
            if "external_id" in changed:
                _link_reports(account)
    if held is not None:
        raise DeprovisioningHeld(held, action=DISABLE)
    stored = dataclasses.replace(desired, password=None)
    changes = tuple(
        PropertyChange(name, _logged_value(current, name), _logged_value(stored, name))
        for name in _logged_fields(changed)
    )
    if "password" in changed:
        changes += (PropertyChange("password", "[redacted]", "[redacted]"),)
    return AccountChange(
        account=account, attributes=stored, changes=changes, warnings=_manager_warnings(stored, changes)
    )


def _write_update(account: WorkAccount, desired: AccountAttributes, changed: list[str]) -> None:
    _assign(account, desired)
    columns = {_COLUMN_OF.get(name, name) for name in changed if name not in _MULTI_VALUED}
    if "password" in changed and desired.password is not None:
        account.set_password(desired.password)
    if "active" in changed and not desired.active:
        _end_sessions_and_tokens(account)
        columns.add("security_stamp")
    account.updated_at = timezone.now()
    account.version += 1
    # Only what changed is written: one narrow UPDATE, no rewrite of the password hash.
    columns = sorted(columns | {"updated_at", "version"})
    values = _value_changes(account, desired, fields=[f for f in changed if f in _MULTI_VALUED])
    if "password" not in columns and connection.vendor == "postgresql":
        # The value rows' writes and the account's UPDATE as one statement (run_together): a
        # round trip fewer per PATCH. The account's row count is checked; its value rows change
        # only under its row lock, which this transaction holds.
        if values.deleted:
            _delete_values(values.deleted)
        statements = [save_columns_statement(row, changed) for row, changed in values.updated]
        if values.created:
            statements.append(insert_statement(values.created))
        save_columns_after(statements, account, columns)
        return
    if "password" in columns:
        account.save(update_fields=columns)  # AbstractBaseUser.save tells the password validators
    else:
        save_columns(account, columns)
    for row, changed_columns in values.updated:
        save_columns(row, changed_columns)
    if values.deleted:
        _delete_values(values.deleted)
    insert_instances(values.created)


def account_delete(
    *,
    organization: Organization,
    account_id: uuid.UUID,
    expected_version: int | None = None,
    deprovisioning_policy: DeprovisioningPolicy | None = None,
) -> WorkAccount:
    """
    Delete an account for SCIM: it answers 404 from now on and its userName is free again, while
    the row stays as a tombstone. Its sessions and tokens end, and its reports lose the manager.
    `deprovisioning_policy` may hold the delete (DeprovisioningHeld, nothing changed).
    """
    held = None
    with transaction.atomic():
        account = _locked_account(organization, account_id, with_values=False)
        _check_version(account, expected_version)
        if deprovisioning_policy is not None:
            held = deprovisioning_policy.admit(account=account, action=DELETE)
        if held is None:
            _write_delete(account)
    if held is not None:
        raise DeprovisioningHeld(held, action=DELETE)
    return account


def _write_delete(account: WorkAccount) -> None:
    now = timezone.now()
    account.deleted_at = now
    account.is_active = False
    account.updated_at = now
    account.version += 1
    _end_sessions_and_tokens(account)
    account.save()
    WorkAccount.objects.filter(manager=account).update(manager=None, updated_at=now, version=F("version") + 1)
    # A deleted account is no member of anything; its groups change with it. (A disabled account
    # keeps its memberships: Entra removes members explicitly when it unassigns them.)
    WorkGroup.objects.filter(memberships__account=account).update(updated_at=now, version=F("version") + 1)
    GroupMembership.objects.filter(account=account).delete()


def account_set_password(*, account: WorkAccount, password: str) -> None:
    _check_password(password, account_attributes(account))
    with transaction.atomic():
        account.set_password(password)
        account.security_stamp = uuid.uuid4()
        account.save(update_fields=["password", "security_stamp"])


LAST_ADMIN = "{organization} needs at least one admin; make another account admin first."
UNKNOWN_ROLE = "'{role}' is not a role; choose admin, support or member."


def account_set_role(*, account: WorkAccount, role: str) -> WorkAccount:
    """
    Change an account's portal role. Losing the admin role ends the account's sessions and
    revokes the OAuth tokens it authorized: an Entra connection must not keep provisioning on
    the authority of someone who no longer has it.
    """
    if role not in OrganizationRole.values:
        raise InvalidAttributeValue(UNKNOWN_ROLE.format(role=role))
    with transaction.atomic():
        locked = _locked_account(account.organization, account.pk, with_values=False)
        locked.organization = account.organization
        if locked.role == role:
            return locked
        demoted = locked.role == OrganizationRole.ADMIN
        # Lock the other admins too, so two admins demoting each other cannot both succeed.
        other_admins = (
            live_accounts(organization=locked.organization)
            .filter(role=OrganizationRole.ADMIN, is_active=True)
            .exclude(pk=locked.pk)
            .select_for_update()
        )
        if demoted and not list(other_admins.values_list("pk", flat=True)):
            raise InvalidAttributeValue(LAST_ADMIN.format(organization=locked.organization.name))
        locked.role = role
        update_fields = ["role"]
        if demoted:
            _end_sessions_and_tokens(locked)
            update_fields.append("security_stamp")
        locked.save(update_fields=update_fields)
    return locked


def admin_create(*, organization: Organization, email: str, password: str) -> WorkAccount:
    """Create an organization admin who signs in to the portal with `email` as userName."""
    attributes = AccountAttributes(
        user_name=email,
        emails=(ContactValue(value=email, type="work", primary=True),),
    )
    result = account_create(
        organization=organization,
        attributes=dataclasses.replace(attributes, password=password),
        role=OrganizationRole.ADMIN,
    )
    return result.account


# Helpers ------------------------------------------------------------------------------------------


def _locked_account(organization: Organization, account_id: uuid.UUID, *, with_values: bool) -> WorkAccount:
    """The live account under a row lock; `with_values`: its e-mails, phones and addresses too,
    in the same statement (one row per value, the account's columns on each)."""
    statement = _LOCKED_ACCOUNT
    if with_values:
        # On PostgreSQL the account's groups too, for the answer (one JSON column: selectors).
        with_groups = connection.vendor == "postgresql"
        statement = _LOCKED_ACCOUNT_WITH_VALUES_AND_GROUPS if with_groups else _LOCKED_ACCOUNT_WITH_VALUES
    try:
        key = _ACCOUNT.pk.to_python(account_id)
    except ValidationError:  # an id no account can have; any other fault is not a missing account
        raise AccountNotFound(f"Resource {account_id} not found") from None
    # A platform superuser's account has no organization (admin role changes): NULL never equals
    # NULL in the compiled statement, so that one is read through the ORM.
    rows = (
        statement.rows(organization_id=organization.pk, account_id=key)
        if organization is not None
        else list(_locked(organization_id=None, account_id=key).values_list(*_ACCOUNT_FIELDS))
    )
    if not rows:
        raise AccountNotFound(f"Resource {account_id} not found") from None
    width = len(_ACCOUNT_COLUMNS)
    account = WorkAccount.from_db("default", _ACCOUNT_COLUMNS, rows[0][:width])
    account.organization = organization
    if with_values:
        # As prefetch_related("multi_values") leaves them, for account_attributes and _value_changes.
        values = account.multi_values.get_queryset()
        end = width + len(_VALUE_ROW_COLUMNS)
        values._result_cache = [
            WorkAccountValue.from_db("default", _VALUE_ROW_COLUMNS, row[width:end])
            for row in rows
            if row[width] is not None  # the outer join's row of an account without values
        ]
        values._prefetch_done = True
        account._prefetched_objects_cache = {"multi_values": values}
        if with_groups and organization is not None:
            set_loaded_groups(account, rows[0][end])
    return account


def _check_version(account: WorkAccount, expected_version: int | None) -> None:
    if expected_version is not None and expected_version != account.version:
        raise VersionMismatch(f'The resource has changed: its version is W/"{account.version}".')


def _validate(attributes: AccountAttributes) -> None:
    if not attributes.user_name or not attributes.user_name.strip():
        raise InvalidAttributeValue(USERNAME_REQUIRED)
    for name in (*SIMPLE_FIELDS, "manager_reference"):
        check_length(WorkAccount, name, getattr(attributes, name))
    for name, attribute in _MULTI_VALUED.items():
        values = getattr(attributes, name)
        # RFC 7643 §2.4: "primary" true at most once. Several values of one type are legal (two
        # work e-mails); Entra never sends them, other clients do.
        if sum(1 for v in values if v.primary) > 1:
            raise InvalidAttributeValue(TWO_PRIMARIES.format(attribute=attribute.label))
        for element in values:
            for part in ("type", "display", "value", *ADDRESS_PARTS):
                if hasattr(element, part):
                    check_length(WorkAccountValue, part, getattr(element, part), prefix=attribute.label)


def _linked_manager(
    organization: Organization,
    attributes: AccountAttributes,
    *,
    current: AccountAttributes | None,
    account_id: uuid.UUID | None,
) -> AccountAttributes:
    """
    The attributes with their manager linked. A manager_reference (manager.value as sent) names
    the live account of the organization whose id it is (RFC 7643 §4.3), else the one account
    whose externalId it is (clients that know only their own ids); one naming none — not
    provisioned yet, deleted, or of another organization — is kept as sent, unresolved, instead
    of refusing the account (issue 14). A manager_id given directly must name a live account.
    An unchanged manager costs no query.
    """
    reference = attributes.manager_reference
    if reference is None:
        manager_id = attributes.manager_id
        if manager_id is None or (current is not None and manager_id == current.manager_id):
            return attributes
        if manager_id == account_id:
            raise InvalidAttributeValue(MANAGER_SELF)
        if not live_accounts(organization=organization).filter(pk=manager_id).exists():
            raise InvalidAttributeValue(MANAGER_UNKNOWN.format(manager_id=manager_id))
        return attributes
    if current is not None and reference == current.manager_reference:
        return dataclasses.replace(attributes, manager_id=None)
    named = _uuid_or_none(reference)
    if current is not None and current.manager_id is not None and named == current.manager_id:
        manager_id = current.manager_id
    else:
        manager_id = _account_named(organization, reference, named)
    if manager_id is not None and manager_id == account_id:
        raise InvalidAttributeValue(MANAGER_SELF)
    if manager_id is None and account_id is None and reference == attributes.external_id:
        raise InvalidAttributeValue(MANAGER_SELF)  # it would link itself once created
    if manager_id is None:
        return dataclasses.replace(attributes, manager_id=None)
    return dataclasses.replace(attributes, manager_id=manager_id, manager_reference=None)


def _account_named(organization: Organization, reference: str, named: uuid.UUID | None) -> uuid.UUID | None:
    """The live account whose id is `reference`, else the only one whose externalId it is (one query)."""
    names = Q(external_id=reference) | (Q(pk=named) if named is not None else Q())
    found = list(live_accounts(organization=organization).filter(names).values_list("pk", "external_id")[:3])
    if named is not None and any(pk == named for pk, _ in found):
        return named
    by_external_id = [pk for pk, external_id in found if external_id == reference]
    return by_external_id[0] if len(by_external_id) == 1 else None


def _uuid_or_none(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text.strip())
    except ValueError:
        return None


def _link_reports(account: WorkAccount) -> int:
    """
    Link the accounts waiting for this one as their manager (their manager_reference is its id or,
    when no other live account shares it, its externalId), in one UPDATE of the transaction that
    created or renamed it. Another organization's references never match.
    """
    statement, arguments = _link_reports_arguments(account)
    return statement.execute(**arguments)


def _link_reports_statement(account: WorkAccount) -> tuple[str, list]:
    """_link_reports as SQL and parameters (run_together)."""
    statement, arguments = _link_reports_arguments(account)
    return statement.bound(**arguments)


def _link_reports_arguments(account: WorkAccount) -> tuple[Statement, dict]:
    arguments = dict(
        organization_id=account.organization_id,
        account_id=account.pk,
        reference=str(account.pk),
        now=timezone.now(),
    )
    if not account.external_id:
        return _LINK_REPORTS_BY_ID, arguments
    return _LINK_REPORTS, dict(arguments, external_id=account.external_id)


def _reports_waiting(organization_id, account_id, reference, external_id=None):
    names = Q(manager_reference=reference)
    if external_id is not None:
        shared = live_accounts(organization=organization_id).filter(external_id=external_id)
        names |= Q(manager_reference=external_id) & ~Exists(shared.exclude(pk=account_id))
    return live_accounts(organization=organization_id).filter(names).exclude(pk=account_id)


def _reports_linked(organization_id, account_id, reference, now, external_id=None):
    return dict(manager=account_id, manager_reference=None, updated_at=now, version=F("version") + 1)


# The statements of every SCIM write, compiled once (accounts.statements).
_ACCOUNT = WorkAccount._meta
_ACCOUNT_COLUMNS = tuple(f.attname for f in _ACCOUNT.concrete_fields)
_VALUE_ROW_COLUMNS = tuple(f.attname for f in WorkAccountValue._meta.concrete_fields)


def _locked(organization_id, account_id):
    return live_accounts(organization=organization_id).filter(pk=account_id).select_for_update(of=("self",))


_ACCOUNT_FIELDS = tuple(f.name for f in _ACCOUNT.concrete_fields)
_LOCKED_ACCOUNT = Statement(
    lambda **names: _locked(**names).values_list(*_ACCOUNT_FIELDS),
    organization_id=_ACCOUNT.get_field("organization"),
    account_id=_ACCOUNT.pk,
)
_LOCKED_ACCOUNT_WITH_VALUES = Statement(
    lambda **names: (
        _locked(**names)
        .values_list(
            *_ACCOUNT_FIELDS,
            *(f"multi_values__{f.name}" for f in WorkAccountValue._meta.concrete_fields),
        )
        # The order of the multi_values prefetch (WorkAccountValue.Meta.ordering).
        .order_by("multi_values__attribute", "multi_values__position")
    ),
    organization_id=_ACCOUNT.get_field("organization"),
    account_id=_ACCOUNT.pk,
)
_LOCKED_ACCOUNT_WITH_VALUES_AND_GROUPS = Statement(
    lambda **names: (
        _locked(**names)
        .annotate(scim_groups=groups_column(WorkAccount))
        .values_list(
            *_ACCOUNT_FIELDS,
            *(f"multi_values__{f.name}" for f in WorkAccountValue._meta.concrete_fields),
            "scim_groups",
        )
        .order_by("multi_values__attribute", "multi_values__position")
    ),
    organization_id=_ACCOUNT.get_field("organization"),
    account_id=_ACCOUNT.pk,
)
_LINK_ARGUMENTS = dict(
    organization_id=_ACCOUNT.get_field("organization"),
    account_id=_ACCOUNT.pk,
    reference=_ACCOUNT.get_field("manager_reference"),
    now=_ACCOUNT.get_field("updated_at"),
)
_LINK_REPORTS_BY_ID = Statement(
    lambda now, **names: _reports_waiting(**names), update=_reports_linked, **_LINK_ARGUMENTS
)
_LINK_REPORTS = Statement(
    lambda now, **names: _reports_waiting(**names),
    update=_reports_linked,
    **_LINK_ARGUMENTS,
    external_id=_ACCOUNT.get_field("external_id"),
)


def _logged_fields(names) -> list[str]:
    """The fields a change logs: the manager once (as manager_id), whichever column holds it."""
    fields = [name for name in names if name != "password"]
    if "manager_reference" in fields:
        fields.remove("manager_reference")
        if "manager_id" not in fields:
            fields.append("manager_id")
    return fields


def _logged_value(attributes: AccountAttributes, name: str):
    """A field's value for the log; the manager is its id once linked, else the reference as sent."""
    if name == "manager_id" and attributes.manager_id is None:
        return attributes.manager_reference
    return getattr(attributes, name)


def _manager_warnings(stored: AccountAttributes, changes: tuple[PropertyChange, ...]) -> tuple[str, ...]:
    if stored.manager_reference is None or not any(change.name == "manager_id" for change in changes):
        return ()
    return (MANAGER_UNRESOLVED.format(reference=stored.manager_reference),)


def _check_password(password: str, attributes: AccountAttributes) -> None:
    """
    The one password rule of every path (SCIM, admin, commands): Django's AUTH_PASSWORD_VALIDATORS,
    judged against the account's new attributes. The message names the rules broken and never
    the password itself.
    """
    candidate = WorkAccount()
    _assign(candidate, dataclasses.replace(attributes, manager_id=None, manager_reference=None))
    try:
        validate_password(password, user=candidate)
    except ValidationError as exc:
        raise InvalidAttributeValue(PASSWORD_REFUSED.format(reasons=" ".join(exc.messages))) from None


def _assign(account: WorkAccount, attributes: AccountAttributes) -> None:
    for name in SIMPLE_FIELDS:
        setattr(account, name, getattr(attributes, name))
    account.is_active = attributes.active
    account.roles = list(attributes.roles)
    account.manager_id = attributes.manager_id
    account.manager_reference = attributes.manager_reference


@dataclasses.dataclass(frozen=True)
class _ValueChanges:
    updated: list[tuple[WorkAccountValue, list[str]]]  # a row and its changed columns
    deleted: list[int]  # keys of rows no longer wanted
    created: list[WorkAccountValue]


def _value_changes(
    account: WorkAccount, attributes: AccountAttributes, *, fields: list[str]
) -> _ValueChanges:
    """
    The writes that store the elements of the changed multi-valued attributes. Rows at the same
    position are updated in place, so Entra's usual PATCH (a new work e-mail) is one UPDATE.
    """
    changes = _ValueChanges(updated=[], deleted=[], created=[])
    if not fields:
        return changes
    wanted = [row for name in fields for row in _value_rows(account, name, getattr(attributes, name))]
    kinds = {_MULTI_VALUED[name] for name in fields}
    current = {
        (row.attribute, row.position): row for row in account.multi_values.all() if row.attribute in kinds
    }
    for row in wanted:
        existing = current.pop((row.attribute, row.position), None)
        if existing is None:
            changes.created.append(row)
            continue
        changed = [column for column in _VALUE_COLUMNS if getattr(existing, column) != getattr(row, column)]
        if changed:
            for column in changed:
                setattr(existing, column, getattr(row, column))
            changes.updated.append((existing, changed))
    changes.deleted.extend(row.pk for row in current.values())
    return changes


def _delete_values(keys: list[int]) -> None:
    WorkAccountValue.objects.filter(pk__in=keys).delete()


_VALUE_COLUMNS = ("type", "primary", "display", "value", *ADDRESS_PARTS)


def _value_rows(account: WorkAccount, name: str, elements) -> list[WorkAccountValue]:
    rows = []
    for position, element in enumerate(elements):
        row = WorkAccountValue(
            account=account,
            attribute=_MULTI_VALUED[name],
            position=position,
            type=element.type,
            primary=element.primary,
        )
        if isinstance(element, PostalAddress):
            for part in ADDRESS_PARTS:
                setattr(row, part, getattr(element, part))
        else:
            row.value = element.value
            row.display = element.display
        rows.append(row)
    return rows


def _end_sessions_and_tokens(account: WorkAccount) -> None:
    """Sign the account out everywhere: sessions (via the stamp) and OAuth tokens it holds."""
    from oauth2_provider.models import get_access_token_model, get_grant_model, get_refresh_token_model

    account.security_stamp = uuid.uuid4()
    if account.last_login is None:
        # OAuth tokens are only issued after a sign-in, so an account that never signed in
        # holds none; skipping the lookups keeps Entra's bulk disables cheap.
        return
    get_refresh_token_model().objects.filter(user=account, revoked__isnull=True).update(
        revoked=timezone.now()
    )
    get_access_token_model().objects.filter(user=account).delete()
    get_grant_model().objects.filter(user=account).delete()


_COLUMN_OF = {"active": "is_active", "manager_id": "manager"}


def _translated_integrity_errors(attributes: AccountAttributes | None = None) -> IntegrityErrorTranslator:
    return IntegrityErrorTranslator(
        "account_username_ci_unique",
        lambda a: USERNAME_TAKEN.format(user_name=a.user_name if a else ""),
        CONCURRENT_CHANGE,
        attributes,
    )
