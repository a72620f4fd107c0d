"""One way to show a date and time everywhere: ``2026-12-01 14:05 UTC``, and "2 hours ago" where it helps.

Recent moments (under a week) read best relative; the exact local time with its zone is always in the
``title`` (and in a ``<time datetime>`` for assistive technology), so nothing is lost.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.timesince import timesince
from django.utils.translation import gettext as _

from easconsole.lean import escape

RELATIVE_WITHIN = timedelta(days=7)


def exact(value: datetime, seconds: bool = False) -> str:
    """``2026-12-01 14:05 UTC``: local time of the console's zone, to the minute (or second), with the zone's name."""
    return _written(timezone.localtime(value), seconds)


def _written(local: datetime, seconds: bool = False) -> str:
    return f"{local:%Y-%m-%d %H:%M{':%S' if seconds else ''}} {local.tzname()}"


def relative(value: datetime, now: datetime | None = None) -> str:
    now = now or timezone.now()
    if abs(now - value) < timedelta(minutes=1):
        return _("just now")
    if value > now:
        return _("in %(time)s") % {"time": timesince(now, value, depth=1)}
    return _("%(time)s ago") % {"time": timesince(value, now, depth=1)}


def moment(value, now: datetime | None = None):
    """HTML for a moment: relative within a week of now, the day otherwise; the exact time with its zone in the tooltip.

    Written for each date cell of a list (50 or more a page): the local time is computed once, and the HTML
    is that of ``format_html('<time datetime="{}" title="{}">{}</time>', ...)`` without its lazy-text checks.
    """
    if not isinstance(value, datetime):
        return value if value not in (None, "") else ""
    now = now or timezone.now()
    local = timezone.localtime(value)
    shown = relative(value, now) if abs(now - value) < RELATIVE_WITHIN else f"{local:%Y-%m-%d}"
    title = _written(local)  # exact(value), its local time already computed
    return mark_safe(f'<time datetime="{escape(value.isoformat())}" title="{escape(title)}">{escape(shown)}</time>')
