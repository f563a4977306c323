"""
The SCIM secret tokens this process has authenticated, kept so that a request bearing one skips
the token's statement (issue 15: a Test Connection cost 1.35 ms of the workers' CPU and 0.33 ms of
PostgreSQL's with the statement, 1.19 and 0.24 without it).

A kept token is trusted only while the credentials epoch still holds the value it held before the
token was read from the database. The epoch is one Redis key shared by every process of every
node, read in the same call as the request's rate limit (config.ratelimit). Every change to a
token, a connection or an organization gives it a new random value once the change commits (the
signals and AnnouncedQuerySet below), so a revoked token, a disabled connection or a new client
profile is seen at the very next request everywhere; a change made outside the application (psql)
within SCIM_TOKEN_CACHE_SECONDS, the most a kept token lives. Without Redis, or while it cannot be
reached, nothing is trusted and every request reads its token.
"""

import logging
import secrets
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import models, transaction
from django.db.models.signals import post_delete, post_save

from config import ratelimit


logger = logging.getLogger(__name__)
EPOCH_KEY = "credentials:epoch"
# Kept tokens per process; beyond it every one is read again (valid tokens only are kept, so an
# attacker's guesses never fill it).
MAX_KEPT = 1024
# Columns a request writes about itself (when a credential was last used, expiry reminders): they
# decide nothing a request does, so writing them announces nothing (mark_use: every 5 minutes).
UNANNOUNCED_FIELDS = frozenset(
    {"last_used_at", "last_used_from", "oauth_last_used_at", "expiry_reminded_days", "expiry_reminded_at"}
)


@dataclass(frozen=True)
class Kept:
    row: tuple  # the token, its connection and its organization (services._TOKEN_COLUMNS)
    epoch: str
    kept_at: float  # time.monotonic()


_kept: dict[str, Kept] = {}


def in_use() -> bool:
    return bool(settings.REDIS_URL) and settings.SCIM_TOKEN_CACHE_SECONDS > 0


def new_epoch() -> str:
    return secrets.token_hex(8)


def epoch_now() -> str | None:
    """The epoch, read before a token is read from the database (None: keep nothing)."""
    if not in_use():
        return None
    epoch = ratelimit.watched_value(EPOCH_KEY, new_epoch())
    if epoch is None:
        forget_all()
    return epoch


def recall(digest: str) -> Kept | None:
    """The kept token with this digest, unless it is older than SCIM_TOKEN_CACHE_SECONDS."""
    if not in_use():
        return None
    kept = _kept.get(digest)
    if kept is not None and time.monotonic() - kept.kept_at > settings.SCIM_TOKEN_CACHE_SECONDS:
        forget(digest)
        return None
    return kept


def keep(digest: str, row: tuple, epoch: str, kept_at: float | None = None) -> None:
    """Keep a token's row under the epoch read before it; kept_at: a kept one's, rewritten."""
    if len(_kept) >= MAX_KEPT:
        _kept.clear()
    _kept[digest] = Kept(row=row, epoch=epoch, kept_at=time.monotonic() if kept_at is None else kept_at)


def still_trusted(kept_epoch: str, epoch: str | None) -> bool:
    """Whether a kept token may be used, given the epoch read with the request's rate limit."""
    if epoch is None:
        # Redis is unreachable: a change made meanwhile was announced to nobody.
        forget_all()
    return epoch is not None and epoch == kept_epoch


def forget(digest: str) -> None:
    _kept.pop(digest, None)


def forget_all() -> None:
    _kept.clear()


# Announcing changes -------------------------------------------------------------------------------


def credentials_changed() -> None:
    """
    Every process checks its kept tokens again at their next request: now, and again after the
    transaction commits (a request between the two reads the old row and keeps it under the first
    new epoch, which the second replaces).
    """
    if not settings.REDIS_URL:
        return
    _renew_epoch()
    transaction.on_commit(_renew_epoch)


def _renew_epoch() -> None:
    try:
        ratelimit.redis_client(settings.REDIS_URL).set(EPOCH_KEY, new_epoch())
    except ratelimit.redis.RedisError as exc:
        logger.warning(
            "Credentials changed but Redis is unreachable (%s): processes that kept a token trust it "
            "for at most %s s",
            exc,
            settings.SCIM_TOKEN_CACHE_SECONDS,
        )


class AnnouncedQuerySet(models.QuerySet):
    """The QuerySet of the models a kept token copies: update() sends no signal, so it announces."""

    def update(self, **kwargs):
        updated = super().update(**kwargs)
        if updated and not kwargs.keys() <= UNANNOUNCED_FIELDS:
            credentials_changed()
        return updated


def _saved(sender, created=False, update_fields=None, **kwargs):
    # A new row was never kept; a save of bookkeeping columns only decides nothing.
    if created or (update_fields is not None and set(update_fields) <= UNANNOUNCED_FIELDS):
        return
    credentials_changed()


def _deleted(sender, **kwargs):
    credentials_changed()


def connect_signals(*announcing_models) -> None:
    for model in announcing_models:
        post_save.connect(_saved, sender=model, dispatch_uid=f"token_cache.saved.{model._meta.label}")
        post_delete.connect(_deleted, sender=model, dispatch_uid=f"token_cache.deleted.{model._meta.label}")
