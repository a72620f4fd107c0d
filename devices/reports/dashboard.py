"""The console's home page: the fleet at a glance, for the devices and connectors this person may read.

Every figure is a link to the filtered list behind it. Counts are aggregated in SQL (one query per
figure group), so the page costs the same at 100,000 devices. Charts are SVG drawn here, so no chart
library and no inline style is needed (the Content-Security-Policy refuses both from a CDN or inline).
"""
from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

from django.db.models import Count, Max, Q
from django.db.models.functions import TruncWeek
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from devices import history
from devices.filtersets import ACCESS_STATES, OS_FAMILIES, os_family_q
from devices.models import DeviceAction, DiscoveryRun
from devices.selectors import DEFAULT_INACTIVE_DAYS, devices_for
from easconsole.generic import ConsoleView
from easconsole.models import ExchangeConnector, Site
from easconsole.permissions import has_perm, holds_anywhere, objects_for
from easconsole.words import word

WEEKS = 12
TREND_DAYS = 30
FAILED_WITHIN_DAYS = 7


def link(url_name: str, **query) -> str:
    return reverse(url_name) + ("?" + urlencode(query) if query else "")


def figures(counts: list[tuple[str, str, int]]) -> list[dict]:
    """(label, url, count) rows with the percent of the largest, for the SVG bars."""
    top = max([count for _l, _u, count in counts] + [1])
    return [{"label": label, "url": url, "count": count, "percent": round(100 * count / top)} for label, url, count in counts]


def columns(counts: list[tuple[str, int]], height: int = 100, urls: list[str] | None = None) -> list[dict]:
    """A column chart's bars: x, y and height in a 0..100 box, ``len(counts)`` bars wide; each count links to
    its ``urls`` entry when given."""
    top = max([count for _l, count in counts] + [1])
    width = 100 / max(len(counts), 1)
    bars = []
    for index, (label, count) in enumerate(counts):
        bar = round(height * count / top, 1)
        bars.append({"label": label, "count": count, "x": round(index * width + width * 0.15, 2), "width": round(width * 0.7, 2),
                     "y": round(height - bar, 1), "height": bar, "url": urls[index] if urls else None})
    return bars


def device_figures(devices) -> dict:
    """Access states, OS families, inactive and never-synced devices, and the sync ages: two queries."""
    now = timezone.now()
    aggregates = {f"access_{token}": Count("pk", filter=Q(access_state=token)) for token, _label in ACCESS_STATES}
    aggregates.update({f"os_{key}": Count("pk", filter=os_family_q(key)) for key in [*OS_FAMILIES, "other"]})
    aggregates["total"] = Count("pk")
    aggregates["inactive"] = Count("pk", filter=Q(last_success_sync__lt=now - timedelta(days=DEFAULT_INACTIVE_DAYS))
                                   | Q(last_success_sync__isnull=True))
    aggregates.update(history.sync_age_aggregates(now))
    counts = devices.order_by().aggregate(**aggregates)
    access = [(word("access_state", token), link("devices:device_list", access_state=token), counts[f"access_{token}"])
              for token, _label in ACCESS_STATES]
    os_labels = {**{key: label for key, (label, _prefixes) in OS_FAMILIES.items()}, "other": _("Other")}
    by_os = sorted(((str(os_labels[key]), link("devices:device_list", os_family=key), counts[f"os_{key}"]) for key in os_labels),
                   key=lambda row: -row[2])
    ages = [(str(label), count) for (_bucket, label), count in zip(history.sync_age_choices(), history.sync_age_counts(counts))]
    return {"total": counts["total"], "inactive": counts["inactive"], "access": figures(access),
            "os": figures([row for row in by_os if row[2]]),
            "sync_ages": columns(ages, urls=[link("devices:device_list", sync_age=bucket) for bucket, _label in history.sync_age_choices()])}


def sync_age_trend(user, days: int = TREND_DAYS) -> dict | None:
    """The daily snapshots of the last ``days`` days as stacked columns (one per day, a segment per sync age, in
    a 100×100 box), with the newest day's figures linking to the device list behind them.

    The snapshots count every device, so they are shown only to those who may read every device (None otherwise).
    """
    if not has_perm(user, "devices.read_collection"):
        return None
    points = history.snapshots(days)
    buckets = history.sync_age_choices()
    top = max([point.total for point in points] + [1])
    slot = 100 / max(len(points), 7)  # a lone first point is not drawn as one wide block
    days_drawn = []
    for index, point in enumerate(points):
        counts = (point.sync_ages + [0] * len(buckets))[:len(buckets)]
        segments, bottom = [], 100.0
        for (bucket, label), count in zip(buckets, counts):
            height = round(100 * count / top, 2)
            bottom -= height
            segments.append({"bucket": bucket, "label": label, "count": count, "y": round(bottom, 2), "height": height,
                             "url": link("devices:device_list", sync_age=bucket)})
        days_drawn.append({"date": point.date, "total": point.total, "segments": segments, "x": round(index * slot + slot * 0.15, 2),
                           "width": round(slot * 0.7, 2), "newest": index == len(points) - 1})
    newest = days_drawn[-1] if days_drawn else None
    legend = [{"bucket": bucket, "label": label, "url": link("devices:device_list", sync_age=bucket),
               "count": newest["segments"][index]["count"] if newest else None} for index, (bucket, label) in enumerate(buckets)]
    return {"days": days_drawn, "legend": legend, "span": days, "newest": newest}


def action_figures(actions) -> dict:
    """Open wipes by state, failed actions of the last week, and wipes requested per week (12 weeks)."""
    now = timezone.now()
    open_wipes = dict(actions.filter(kind__in=DeviceAction.WIPES, state__in=DeviceAction.OPEN).order_by()
                      .values_list("state").annotate(n=Count("pk")))
    wipes = [(label, link("devices:deviceaction_list", state=state), open_wipes.get(state, 0))
             for state, label in DeviceAction.State.choices if state in DeviceAction.OPEN]
    failed = actions.filter(state__in=[DeviceAction.State.FAILED, DeviceAction.State.EXPIRED],
                            requested_at__gte=now - timedelta(days=FAILED_WITHIN_DAYS)).count()
    start = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(weeks=WEEKS - 1)
    start -= timedelta(days=start.weekday())
    per_week = dict(actions.filter(kind__in=DeviceAction.WIPES, requested_at__gte=start).order_by()
                    .annotate(week=TruncWeek("requested_at")).values_list("week").annotate(n=Count("pk")))
    per_week = {timezone.localtime(week).date() if hasattr(week, "tzinfo") else week: n for week, n in per_week.items()}
    weeks = [(start + timedelta(weeks=n)).date() for n in range(WEEKS)]
    return {"open_wipes": figures(wipes), "open_wipe_total": sum(open_wipes.values()), "failed": failed,
            "wipes_per_week": columns([(f"{week:%d %b}", per_week.get(week, 0)) for week in weeks])}


def connector_health(user) -> list[dict]:
    """Each connector this person may read: its state and its last discovery."""
    if not holds_anywhere(user, "easconsole.read_site"):
        return []
    sites = objects_for(user, "easconsole.read_site", Site.objects.all())
    connectors = list(ExchangeConnector.objects.filter(site__in=sites).select_related("site").order_by("name")
                      .annotate(last_run_pk=Max("discovery_runs__pk")))
    runs = DiscoveryRun.objects.in_bulk([c.last_run_pk for c in connectors if c.last_run_pk])
    return [{"connector": c, "healthy": c.state == ExchangeConnector.State.INSTALLED, "last_run": runs.get(c.last_run_pk)}
            for c in connectors]


class DashboardView(ConsoleView):
    """Home: devices by access state and OS, open wipes, failed actions, connectors, inactive devices, trends."""

    template_name = "devices/reports/dashboard.html"
    permission_required = "devices.read_collection"

    def get(self, request, *args, **kwargs):
        self.check_permission()
        user = request.user
        devices = devices_for(user, self.permission_required)
        actions = DeviceAction.objects.all()
        if not has_perm(user, self.permission_required):
            actions = actions.filter(device__in=devices)
        context = self.get_context_data(
            title=_("Dashboard"), inactive_days=DEFAULT_INACTIVE_DAYS, failed_days=FAILED_WITHIN_DAYS, weeks=WEEKS,
            connectors=connector_health(user), **device_figures(devices), **action_figures(actions), trend=sync_age_trend(user),
            inactive_url=link("devices:device_list", inactive_days=DEFAULT_INACTIVE_DAYS),
            failed_url=link("devices:deviceaction_list", state=DeviceAction.State.FAILED),
            open_url=link("devices:deviceaction_list", open="true"),
        )
        return self.render_to_response(context)
