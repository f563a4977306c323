"""
The provisioning dashboard: one panel per connection with the running cycle's progress and live
counts, the last completed cycle, the connection's health and a 7-day chart of successes and
failures. Each panel is the audit API's representation of its connection; the page polls the
API (/api/v1/connections/, dashboard.js) every two seconds with the user's session.
"""

from datetime import UTC, timedelta

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from provisioning_logs.api.serializers import ConnectionSerializer
from provisioning_logs.models import Action, CycleKind, Status
from provisioning_logs.selectors import connection_list, connection_report, reader_scope


REFRESH_SECONDS = 2
ESTIMATING = "estimating…"
NO_RUNNING_CYCLE = "No cycle is running."
NO_COMPLETED_CYCLE = "No cycle has completed yet."
CHART_LABEL = "Successes and failures per day, last 7 days"
CHART_WIDTH, CHART_HEIGHT, CHART_BASELINE = 280, 120, 100


def moment_text(moment) -> str:
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"


def duration_text(duration: timedelta) -> str:
    seconds = max(0, int(duration.total_seconds()))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min {seconds:02d} s"
    if minutes:
        return f"{minutes} min {seconds:02d} s"
    return f"{seconds} s"


def _current_texts(cycle: dict | None) -> dict:
    """What the page says about the running cycle (dashboard.js says the same after each poll)."""
    if cycle is None:
        return {}
    progress = cycle["progress"]
    kind = kind_label(cycle["kind"])
    if progress["estimating"]:
        handled = progress["handled"]
        handled_text = f"{handled} object{'' if handled == 1 else 's'} handled so far"
    else:
        handled_text = f"{progress['handled']} of {progress['expected']} objects"
    return {
        "state": f"{kind} cycle running since {moment_text(parse_datetime(cycle['started_at']))}",
        "progress": ESTIMATING if progress["estimating"] else f"{progress['percent']}%",
        "handled": handled_text,
    }


def _last_texts(cycle: dict | None) -> dict:
    if cycle is None:
        return {}
    return {
        "state": f"{kind_label(cycle['kind'])} cycle",
        "started": moment_text(parse_datetime(cycle["started_at"])),
        "ended": moment_text(parse_datetime(cycle["ended_at"])),
        "duration": duration_text(timedelta(seconds=cycle["duration_seconds"])),
    }


def kind_label(kind: str) -> str:
    return CycleKind(kind).label


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


def panel_data(request, report) -> dict:
    """
    One connection's panel: exactly what the audit API answers for it (one code path for the
    numbers; dashboard.js polls the API), with the texts the page shows around them.
    """
    panel = dict(ConnectionSerializer(report, context={"request": request}).data)
    current, last = panel["current_cycle"], panel["last_completed_cycle"]
    return {
        **panel,
        "status_text": "Enabled" if panel["enabled"] else "Turned off",
        "current_text": _current_texts(current),
        "last_text": _last_texts(last),
        "current_rows": count_rows(current),
        "last_rows": count_rows(last),
        "chart_svg": chart_svg(report.connection.pk, report.dashboard.daily),
    }


def _reports(request) -> list:
    connections = connection_list(scope=reader_scope(user=request.user))
    wanted = request.GET.get("connection")
    if wanted is not None:
        if not wanted.isdigit():
            raise Http404
        connections = connections.filter(pk=int(wanted))
        if not connections:
            raise Http404
    now = timezone.now()
    return [connection_report(connection, now=now) for connection in connections]


def count_rows(cycle: dict | None) -> list[dict]:
    """The count table of a panel: every action, then every status (zero when there is no cycle)."""
    actions = cycle["counts"]["actions"] if cycle else {}
    statuses = cycle["counts"]["statuses"] if cycle else {}
    return [
        {"label": action.value, "key": action.value.lower(), "value": actions.get(action.value, 0)}
        for action in Action
    ] + [
        {"label": status.value, "key": status.value.lower(), "value": statuses.get(status.value, 0)}
        for status in Status
    ]


def dashboard_view(model_admin, request):
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    panels = [panel_data(request, report) for report in _reports(request)]
    if "connection" in request.GET:
        # A page of one connection polls for that connection only.
        data_url = reverse("api:connection-detail", args=[panels[0]["id"]])
    else:
        data_url = reverse("api:connection-list")
    context = {
        **model_admin.admin_site.each_context(request),
        "title": "Provisioning dashboard",
        "opts": model_admin.opts,
        "panels": panels,
        "data_url": data_url,
        "refresh_seconds": REFRESH_SECONDS,
        "estimating": ESTIMATING,
        "no_running_cycle": NO_RUNNING_CYCLE,
        "no_completed_cycle": NO_COMPLETED_CYCLE,
        "chart": {
            "width": CHART_WIDTH,
            "height": CHART_HEIGHT,
            "baseline": CHART_BASELINE,
            "label": CHART_LABEL,
        },
        "show_organization": request.user.is_superuser,
        "updated_text": moment_text(timezone.now()),
    }
    response = TemplateResponse(request, "admin/provisioning_logs/provisioningevent/dashboard.html", context)
    response["Cache-Control"] = "no-store"
    return response
