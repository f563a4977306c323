"""Recording the admin activity trail: the one function every portal view and command calls."""

from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType

from accounts.models import ActivityAction, ActivitySource, AdminActivity
from config import proxies


def client_address(request) -> str | None:
    """The address the request came from: behind a load balancer, TRUSTED_PROXIES decides (config.proxies)."""
    if request is None:
        return None
    return proxies.client_address(request) or None


def _organization_of(target, actor):
    from accounts.models import Organization

    if isinstance(target, Organization):
        return target
    organization = getattr(target, "organization", None)
    if organization is not None:
        return organization
    return getattr(actor, "organization", None)


def admin_activity_record(
    *,
    action: str,
    summary: str,
    target=None,
    organization=None,
    actor=None,
    request=None,
    command: str | None = None,
    log_entry: bool = True,
) -> AdminActivity:
    """
    One entry of the trail: who (the request's user, or the command), when, what, on which object,
    from where. With a signed-in actor and an object, the admin's own LogEntry is written too, so
    the object's History page and the "Recent actions" list show it (log_entry=False when Django's
    admin has written it already).
    """
    ActivityAction(action)  # an unknown action is a programming error
    if request is not None and actor is None:
        actor = request.user if request.user.is_authenticated else None
    organization = organization or _organization_of(target, actor)
    target_type = ContentType.objects.get_for_model(target) if target is not None else None
    entry = AdminActivity.objects.create(
        organization=organization,
        actor=actor,
        actor_name=f"manage.py {command}" if command else (actor.user_name if actor else "system"),
        source=ActivitySource.COMMAND if command else ActivitySource.PORTAL,
        client_address=client_address(request),
        action=action,
        summary=summary[:500],
        target_type=target_type,
        target_id=str(target.pk) if target is not None else "",
        target_repr=str(target)[:300] if target is not None else "",
    )
    if log_entry and actor is not None and target is not None:
        LogEntry.objects.create(
            user_id=actor.pk,
            content_type=target_type,
            object_id=str(target.pk),
            object_repr=str(target)[:200],
            action_flag=CHANGE,
            change_message=summary,
        )
    return entry


def admin_activity_for(target, *, limit: int = 20) -> list[AdminActivity]:
    """The newest entries about one object (its History section)."""
    return list(
        AdminActivity.objects.filter(
            target_type=ContentType.objects.get_for_model(target), target_id=str(target.pk)
        ).select_related("actor")[:limit]
    )
