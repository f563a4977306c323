"""
Password sign-in with throttling.

Repeated failures lock out the userName (whether or not it exists, so the lock reveals nothing)
and, at a higher limit, the client address. A locked attempt never reaches the password hasher,
so guessing stops being useful long before it could succeed.
"""

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.db import connection as database
from django.db import transaction
from django.utils import timezone

from accounts.backends import WorkAccountBackend
from accounts.models import Organization, SignInFailure, WorkAccount


WRONG_CREDENTIALS = "The username or password is incorrect. Check both and try again."
THROTTLED = "Too many failed sign-in attempts. Wait {minutes} and try again."


@dataclass(frozen=True)
class SignInResult:
    # The accounts the userName and password matched: one, or several of different organizations
    # (the person then chooses); none with `error` set.
    accounts: tuple[WorkAccount, ...] = ()
    error: str | None = None

    @property
    def account(self) -> WorkAccount | None:
        return self.accounts[0] if len(self.accounts) == 1 else None


def _digest(kind: str, value: str) -> str:
    return hashlib.sha256(f"{kind}:{value}".encode()).hexdigest()


def _keys(username: str, client_address: str) -> dict[str, int]:
    """Each throttling key with the number of failures it may collect in one window."""
    return {
        _digest("user", username.strip().upper()): settings.SIGNIN_MAX_FAILURES_PER_USERNAME,
        _digest("addr", client_address): settings.SIGNIN_MAX_FAILURES_PER_ADDRESS,
    }


def _window() -> timedelta:
    return timedelta(seconds=settings.SIGNIN_THROTTLE_WINDOW_SECONDS)


def signin_locked_until(*, username: str, client_address: str, now: datetime | None = None):
    """When the earliest lock on this userName or address ends, or None when neither is locked."""
    now = now or timezone.now()
    since = now - _window()
    ends = []
    for key, limit in _keys(username, client_address).items():
        recent = list(
            SignInFailure.objects.filter(key=key, failed_at__gt=since)
            .order_by("-failed_at")
            .values_list("failed_at", flat=True)[:limit]
        )
        if len(recent) >= limit:
            # Locked until the oldest of the last `limit` failures leaves the window.
            ends.append(recent[-1] + _window())
    return max(ends) if ends else None


def _throttled_message(locked_until: datetime, now: datetime) -> str:
    minutes = max(1, math.ceil((locked_until - now).total_seconds() / 60))
    return THROTTLED.format(minutes=f"{minutes} minute{'s' if minutes != 1 else ''}")


def signin_with_password(
    *,
    request,
    username: str,
    password: str,
    client_address: str,
    organization: Organization | None = None,
    preferred_organization: Organization | None = None,
) -> SignInResult:
    """
    Check the credentials, counting failures: the accounts of every organization (or only
    `organization`) that have this userName and password, or just the one of
    `preferred_organization` when it is among them. The caller logs one in, or lets the person
    choose among them; nobody learns about an organization without the password.
    """
    now = timezone.now()
    keys = _keys(username, client_address)
    reserved = _reserve_attempt(keys, username=username, client_address=client_address, now=now)
    if reserved is None:
        locked_until = signin_locked_until(username=username, client_address=client_address, now=now)
        return SignInResult(error=_throttled_message(locked_until or now, now))
    matches = tuple(WorkAccountBackend().accounts_matching(username, password, organization=organization))
    preferred = tuple(
        account
        for account in matches
        if preferred_organization is not None and account.organization_id == preferred_organization.pk
    )
    matches = preferred or matches
    with transaction.atomic():
        if not matches:
            # The reserved rows stay: they are this failure. What left the window goes.
            SignInFailure.objects.filter(key__in=keys, failed_at__lte=now - _window()).delete()
            user_login_failed.send(sender=__name__, credentials={"username": username}, request=request)
            return SignInResult(error=WRONG_CREDENTIALS)
        # A success is no failure, and clears the userName's count (not the address's: one right
        # password must not reset a spray against many userNames).
        SignInFailure.objects.filter(pk__in=reserved).delete()
        SignInFailure.objects.filter(key=_digest("user", username.strip().upper())).delete()
    return SignInResult(accounts=matches)


def _reserve_attempt(keys: dict[str, int], *, username: str, client_address: str, now) -> list[int] | None:
    """
    Count this attempt as a failure before the password is checked, unless a key is locked
    already (None). Concurrent attempts are serialised here, per key, so that N parallel guesses
    lock at exactly the limit: each one takes a slot or is refused, and only slot holders reach
    the password hasher (which runs outside the lock).
    """
    with transaction.atomic():
        _lock_keys(keys)
        if signin_locked_until(username=username, client_address=client_address, now=now) is not None:
            return None
        rows = SignInFailure.objects.bulk_create([SignInFailure(key=key, failed_at=now) for key in keys])
    return [row.pk for row in rows]


def _lock_keys(keys) -> None:
    """PostgreSQL: a transaction lock per key, in one order (no deadlock). SQLite's IMMEDIATE
    transactions are serialised already."""
    if database.vendor != "postgresql":
        return
    with database.cursor() as cursor:
        for key in sorted(keys):
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [int(key[:15], 16)])
