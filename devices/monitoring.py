"""What devices adds to ``/healthz`` and ``/metrics`` (easconsole/health.py): discovery ages and
durations, and the device actions still open, by state."""
from __future__ import annotations

import datetime as dt

from django.db.models import Count, F, Max, Sum
from django.utils import timezone

from devices.models import DeviceAction, DiscoveryRun
from easconsole.models import ExchangeConnector


def discovery_health() -> dict:
    """The age of each installed connector's last successful discovery (None: never), by connector id."""
    last = dict(DiscoveryRun.objects.filter(state=DiscoveryRun.State.SUCCEEDED).values("connector")
                .annotate(last=Max("finished")).values_list("connector", "last"))
    now = timezone.now()
    connectors = ExchangeConnector.objects.filter(state=ExchangeConnector.State.INSTALLED).order_by("pk")
    return {"discovery": {str(pk): {"last_success_age_seconds": None if last.get(pk) is None else round((now - last[pk]).total_seconds())}
                          for pk in connectors.values_list("pk", flat=True)}}


def metric_families():
    from prometheus_client.core import GaugeMetricFamily, SummaryMetricFamily

    open_actions = GaugeMetricFamily("easconsole_device_actions_open", "Device actions not finished yet, by kind and state.",
                                     labels=["kind", "state"])
    for row in (DeviceAction.objects.filter(state__in=DeviceAction.OPEN).values("kind", "state")
                .annotate(count=Count("id")).order_by("kind", "state")):
        open_actions.add_metric([row["kind"], row["state"]], row["count"])
    yield open_actions
    durations = SummaryMetricFamily("easconsole_discovery_duration_seconds",
                                    "Discoveries finished in the last 24 hours, by connector id, kind and outcome.",
                                    labels=["connector", "kind", "state"])
    for row in (DiscoveryRun.objects.filter(finished__gte=timezone.now() - dt.timedelta(hours=24), started__isnull=False)
                .values("connector", "kind", "state").annotate(count=Count("id"), total=Sum(F("finished") - F("started")))
                .order_by("connector", "kind", "state")):
        total = row["total"].total_seconds() if row["total"] is not None else 0.0
        durations.add_metric([str(row["connector"]), row["kind"], row["state"]], row["count"], total)
    yield durations
