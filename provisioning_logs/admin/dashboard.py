"""
The provisioning dashboard: one panel per connection with the running cycle's progress and live
counts, the last completed cycle, the connection's health and a 7-day chart of successes and
failures. The page polls a JSON view of the same panels (dashboard.js) every two seconds.
"""

from datetime import UTC, timedelta

from django.core.exceptions import PermissionDenied
from django.http import Http404, JsonResponse
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from provisioning_logs.health_summary import health_status
from provisioning_logs.models import Action, Status
from provisioning_logs.selectors import (
    ConnectionDashboard,
    CycleSummary,
    connection_dashboard,
    connection_list,
    reader_scope,
)


REFRESH_SECONDS = 2
ESTIMATING = "estimating…"
NO_RUNNING_CYCLE = "No cycle is running."
NO_COMPLETED_CYCLE = "No cycle has completed yet."
CHART_LABEL = "Successes and failures per day, last 7 days"
CHART_WIDTH, CHART_HEIGHT, CHART_BASELINE = 280, 120, 100


def moment_text(moment) -> str:
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"


def iso(moment) -> str | None:
    return moment.astimezone(UTC).isoformat() if moment is not None else None


def duration_text(duration: timedelta) -> str:
    seconds = max(0, int(duration.total_seconds()))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min {seconds:02d} s"
    if minutes:
        return f"{minutes} min {seconds:02d} s"
    return f"{seconds} s"


def _counts(summary: CycleSummary) -> dict:
    return {"actions": summary.action_counts, "statuses": summary.status_counts, "total": summary.total}


def _current(summary: CycleSummary | None) -> dict | None:
    if summary is None:
        return None
    progress = summary.progress
    kind = summary.cycle.get_kind_display()
    if progress.estimating:
        handled_text = f"{progress.handled} object{'' if progress.handled == 1 else 's'} handled so far"
    else:
        handled_text = f"{progress.handled} of {progress.expected} objects"
    return {
        "kind": summary.cycle.kind,
        "kind_label": kind,
        "started_at": iso(summary.started_at),
        "last_event_at": iso(summary.cycle.last_event_at),
        "state_text": f"{kind} cycle running since {moment_text(summary.started_at)}",
        "handled": progress.handled,
        "expected": progress.expected,
        "estimating": progress.estimating,
        "percent": progress.percent,
        "progress_text": ESTIMATING if progress.estimating else f"{progress.percent}%",
        "handled_text": handled_text,
        **_counts(summary),
    }


def _last_completed(summary: CycleSummary | None) -> dict | None:
    if summary is None:
        return None
    kind = summary.cycle.get_kind_display()
    return {
        "kind": summary.cycle.kind,
        "kind_label": kind,
        "started_at": iso(summary.started_at),
        "ended_at": iso(summary.ended_at),
        "started_text": moment_text(summary.started_at),
        "ended_text": moment_text(summary.ended_at),
        "duration_seconds": int(summary.duration.total_seconds()),
        "duration_text": duration_text(summary.duration),
        "state_text": f"{kind} cycle",
        **_counts(summary),
    }


def chart_bars(daily) -> list[dict]:
    """Bar geometry of the 7-day chart (SVG user units), scaled to the busiest day."""
    highest = max([max(day.successes, day.failures) for day in daily] + [1])
    slot = CHART_WIDTH / len(daily)
    bar = slot * 0.35
    bars = []
    for index, day in enumerate(daily):
        x = index * slot + slot * 0.1
        success_height = round(CHART_BASELINE * day.successes / highest, 1)
        failure_height = round(CHART_BASELINE * day.failures / highest, 1)
        bars.append(
            {
                "day": day.day.isoformat(),
                "label": f"{day.day:%a}",
                "successes": day.successes,
                "failures": day.failures,
                "x_success": round(x, 1),
                "x_failure": round(x + bar, 1),
                "x_label": round(index * slot + slot / 2, 1),
                "width": round(bar, 1),
                "y_success": round(CHART_BASELINE - success_height, 1),
                "y_failure": round(CHART_BASELINE - failure_height, 1),
                "h_success": success_height,
                "h_failure": failure_height,
            }
        )
    return bars


def chart_svg(connection_pk: int, daily) -> str:
    return render_to_string(
        "admin/provisioning_logs/provisioningevent/daily_chart.svg",
        {
            "pk": connection_pk,
            "bars": chart_bars(daily),
            "label": CHART_LABEL,
            "width": CHART_WIDTH,
            "height": CHART_HEIGHT,
            "baseline": CHART_BASELINE,
        },
    ).strip()


def panel_data(dashboard: ConnectionDashboard) -> dict:
    connection = dashboard.connection
    health = health_status(connection)
    health_state, health_text = health.state, health.text
    return {
        "id": connection.pk,
        "name": connection.name,
        "organization": connection.organization.slug,
        "organization_name": connection.organization.name,
        "enabled": connection.enabled,
        "status_text": "Enabled" if connection.enabled else "Turned off",
        "health_state": health_state,
        "quarantine_text": health_text,
        "current_cycle": _current(dashboard.current),
        "last_completed_cycle": _last_completed(dashboard.last_completed),
        "daily": [
            {"day": day.day.isoformat(), "successes": day.successes, "failures": day.failures}
            for day in dashboard.daily
        ],
        "chart_svg": chart_svg(connection.pk, dashboard.daily),
    }


def _panels(request) -> list[dict]:
    connections = connection_list(scope=reader_scope(user=request.user))
    wanted = request.GET.get("connection")
    if wanted is not None:
        if not wanted.isdigit():
            raise Http404
        connections = connections.filter(pk=int(wanted))
        if not connections:
            raise Http404
    now = timezone.now()
    return [panel_data(connection_dashboard(connection, now=now)) for connection in connections]


def count_rows(cycle: dict | None) -> list[dict]:
    """The count table of a panel: every action, then every status (zero when there is no cycle)."""
    actions = cycle["actions"] if cycle else {}
    statuses = cycle["statuses"] if cycle else {}
    return [
        {"label": action.value, "key": action.value.lower(), "value": actions.get(action.value, 0)}
        for action in Action
    ] + [
        {"label": status.value, "key": status.value.lower(), "value": statuses.get(status.value, 0)}
        for status in Status
    ]


def _with_count_rows(panel: dict) -> dict:
    return {
        **panel,
        "current_rows": count_rows(panel["current_cycle"]),
        "last_rows": count_rows(panel["last_completed_cycle"]),
    }


def dashboard_view(model_admin, request):
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    opts = model_admin.opts
    data_url = reverse(f"admin:{opts.app_label}_{opts.model_name}_dashboard_data")
    if "connection" in request.GET:
        # A page of one connection polls for that connection only.
        data_url += "?" + urlencode({"connection": request.GET["connection"]})
    context = {
        **model_admin.admin_site.each_context(request),
        "title": "Provisioning dashboard",
        "opts": opts,
        "panels": [_with_count_rows(panel) for panel in _panels(request)],
        "data_url": data_url,
        "refresh_seconds": REFRESH_SECONDS,
        "estimating": ESTIMATING,
        "no_running_cycle": NO_RUNNING_CYCLE,
        "no_completed_cycle": NO_COMPLETED_CYCLE,
        "show_organization": request.user.is_superuser,
        "updated_text": moment_text(timezone.now()),
    }
    response = TemplateResponse(request, "admin/provisioning_logs/provisioningevent/dashboard.html", context)
    response["Cache-Control"] = "no-store"
    return response


def dashboard_data_view(model_admin, request):
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    now = timezone.now()
    response = JsonResponse(
        {
            "generated_at": iso(now),
            "updated_text": moment_text(now),
            "refresh_seconds": REFRESH_SECONDS,
            "connections": _panels(request),
        },
        json_dumps_params={"ensure_ascii": False},
    )
    response["Cache-Control"] = "no-store"
    return response
