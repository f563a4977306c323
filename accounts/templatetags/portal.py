"""
One timestamp format for every portal page: <time datetime="…Z"> holding the UTC text, which
static/portal/local-time.js rewrites in the viewer's time zone (UTC stays on hover).
"""

from datetime import UTC

from django import template
from django.utils.html import format_html


register = template.Library()

UTC_FORMAT = "%Y-%m-%d %H:%M:%S UTC"


def local_time(moment) -> str:
    """A timestamp as the portal shows it (HTML); '—' for none."""
    if moment is None or moment == "":
        return "—"
    utc = moment.astimezone(UTC)
    return format_html(
        '<time class="portal-time" datetime="{}" title="{}">{}</time>',
        utc.isoformat(timespec="seconds").replace("+00:00", "Z"),
        utc.strftime(UTC_FORMAT),
        utc.strftime(UTC_FORMAT),
    )


register.filter("local_time", local_time)
