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
NO_RUNNING_CYCLE = "No cycle is running."
NO_COMPLETED_CYCLE = "No cycle has completed yet."
CHART_LABEL = "Successes and failures per day, last 7 days"
# The chart's SVG user units: a y axis with its labels left of CHART_LEFT, numbers above the bars
# (below CHART_TOP), weekday names below the baseline.
CHART_WIDTH, CHART_HEIGHT, CHART_BASELINE, CHART_LEFT, CHART_TOP = 320, 120, 100, 34, 14


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
    """What the page says about the running cycle: cycle_estimate's texts (dashboard.js shows the same)."""
    if cycle is None:
        return {}
    estimate = cycle["estimate"]
    return {
        "state": estimate["state_text"],
        "progress": estimate["bar_text"],
        "handled": estimate["detail_text"],
        "activity": estimate["activity_text"],
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


def nice_ceiling(value: int) -> int:
    """The axis top: the smallest 1, 2 or 5 × 10^n at or above the busiest day."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if factor * step >= value:
                return factor * step
        step *= 10


def compact(value: int) -> str:
    """A number short enough to sit above a bar: 950, 12.3k, 1.2M."""
    if value < 1000:
        return str(value)
    if value < 1_000_000:
        return f"{value / 1000:.1f}".rstrip("0").rstrip(".") + "k"
    return f"{value / 1_000_000:.1f}".rstrip("0").rstrip(".") + "M"


def chart_ticks(daily) -> list[dict]:
    """The y axis: 0, half and the top of the scale, with their labels."""
    top = nice_ceiling(max([max(day.successes, day.failures) for day in daily] + [1]))
    plot = CHART_BASELINE - CHART_TOP
    return [
        {"y": round(CHART_BASELINE - plot * value / top, 1), "label": compact(value)}
        for value in ([0, top // 2, top] if top % 2 == 0 else [0, top])
    ]


def chart_bars(daily) -> list[dict]:
    """Bar geometry of the 7-day chart (SVG user units), scaled to the axis top."""
    top = nice_ceiling(max([max(day.successes, day.failures) for day in daily] + [1]))
    plot = CHART_BASELINE - CHART_TOP
    slot = (CHART_WIDTH - CHART_LEFT) / len(daily)
    bar = slot * 0.4
    bars = []
    for index, day in enumerate(daily):
        x = CHART_LEFT + index * slot + slot * 0.1
        success_height = round(plot * day.successes / top, 1)
        failure_height = round(plot * day.failures / top, 1)
        bars.append(
            {
                "day": day.day.isoformat(),
                "label": f"{day.day:%a}",
                "successes": day.successes,
                "failures": day.failures,
                "success_text": compact(day.successes),
                "failure_text": compact(day.failures),
                "x_success": round(x, 1),
                "x_failure": round(x + bar, 1),
                "x_success_text": round(x + bar / 2, 1),
                "x_failure_text": round(x + bar * 1.5, 1),
                "x_label": round(CHART_LEFT + index * slot + slot / 2, 1),
                "width": round(bar, 1),
                "y_success": round(CHART_BASELINE - success_height, 1),
                "y_failure": round(CHART_BASELINE - failure_height, 1),
                "y_success_text": round(CHART_BASELINE - success_height - 2, 1),
                "y_failure_text": round(CHART_BASELINE - failure_height - 2, 1),
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
            "ticks": chart_ticks(daily),
            "left": CHART_LEFT,
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
    return sorted((connection_report(connection, now=now) for connection in connections), key=attention_order)


def attention_order(report) -> int:
    """Trouble first (quarantine, held deprovisionings, mail failing), then a running cycle, then the rest."""
    health = report.health
    if health.state != "healthy" or health.held_deprovisionings or health.outbox_failing:
        return 0
    return 1 if report.dashboard.current is not None else 2


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
        "no_running_cycle": NO_RUNNING_CYCLE,
        "no_completed_cycle": NO_COMPLETED_CYCLE,
        "chart": {
            "width": CHART_WIDTH,
            "height": CHART_HEIGHT,
            "baseline": CHART_BASELINE,
            "left": CHART_LEFT,
            "top": CHART_TOP,
            "label": CHART_LABEL,
        },
        "show_organization": request.user.is_superuser,
        "updated_text": moment_text(timezone.now()),
    }
    response = TemplateResponse(request, "admin/provisioning_logs/provisioningevent/dashboard.html", context)
    response["Cache-Control"] = "no-store"
    return response
