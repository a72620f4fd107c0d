"""Writes of discovery: asking for a discovery now, and the schedules of each connector.

Schedules (django-q2) are named ``connector-<id>-discovery-full`` and ``connector-<id>-discovery-delta``
so that deleting a connector removes them with its other ``connector-<id>-*`` schedules.
"""
from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from devices.discovery.runs import ACTIVE, fail_stale_runs
from devices.models import DiscoveryRun
from easconsole import audit
from easconsole.models import ExchangeConnector
from easconsole.permissions import has_perm

PERMISSION = "easconsole.modify_site"
FIRST_DISCOVERY_AFTER = dt.timedelta(minutes=2)
HOUSEKEEPING = {
    "discovery-fail-stale-runs": ("devices.tasks.fail_stale_runs", 5),  # every 5 minutes
    "discovery-purge-missing-devices": ("devices.tasks.purge_missing_devices", 24 * 60),  # daily
    "devices-fleet-snapshot": ("devices.tasks.take_fleet_snapshot", 24 * 60),  # daily: the trend charts' points
}


def schedule_name(connector_id: int, kind: str) -> str:
    return f"connector-{connector_id}-discovery-{kind}"


def may_request(user, connector: ExchangeConnector) -> bool:
    return user is not None and has_perm(user, PERMISSION, connector.site)


def discovery_request(*, connector: ExchangeConnector, kind: str, user, address: str | None = None) -> DiscoveryRun:
    """Queue a discovery of ``connector`` now (``kind`` "full" or "delta"), audited.

    Raises PermissionDenied without Modify on the connector's site, and ValidationError when the
    connector is not installed or a discovery of it is already queued or running.
    """
    if kind not in DiscoveryRun.Kind.values:
        raise ValidationError(_("Unknown kind of discovery: %(kind)s") % {"kind": kind})
    if user is not None and not may_request(user, connector):
        raise PermissionDenied
    if connector.state != ExchangeConnector.State.INSTALLED:
        raise ValidationError(_("The connector %(name)s is not installed yet: discovery starts once it is.")
                              % {"name": connector.name})
    fail_stale_runs(connector_id=connector.pk)
    with transaction.atomic():
        ExchangeConnector.objects.select_for_update().filter(pk=connector.pk).exists()
        busy = DiscoveryRun.objects.filter(connector=connector, state__in=ACTIVE).first()
        if busy is not None:
            raise ValidationError(_("A discovery of %(name)s is already %(state)s (%(kind)s, since %(when)s); "
                                    "wait for it to finish.") % {
                "name": connector.name, "state": busy.get_state_display().lower(), "kind": busy.get_kind_display().lower(),
                "when": timezone.localtime(busy.started or busy.queued).strftime("%Y-%m-%d %H:%M")})
        run = DiscoveryRun.objects.create(connector=connector, kind=kind,
                                          requested_by=user if user is not None and user.is_authenticated else None)
        audit.record(user=user, action=f"request {run.get_kind_display().lower()}", obj=connector, address=address,
                     message=_("Discovery run %(id)s queued.") % {"id": run.pk})
        transaction.on_commit(lambda: queue_run(run.pk))
    return run


def queue_run(run_id: int) -> None:
    from django_q.tasks import async_task

    async_task("devices.tasks.run_discovery", run_id, task_name=f"Discovery run {run_id}", group="Discovery")


def next_full_run(connector: ExchangeConnector, now: dt.datetime | None = None) -> dt.datetime:
    """The next time of day ``full_discovery_time`` (in the console's time zone) after now."""
    now = timezone.localtime(now or timezone.now())
    at = connector.full_discovery_time
    if isinstance(at, str):
        at = dt.time.fromisoformat(at)
    candidate = now.replace(hour=at.hour, minute=at.minute, second=0, microsecond=0)
    return candidate if candidate > now else candidate + dt.timedelta(days=1)


def discovery_schedules_save(connector: ExchangeConnector) -> None:
    """Create or update the connector's full and delta discovery schedules, and the housekeeping ones."""
    from django_q.models import Schedule

    delta_next = timezone.now() + dt.timedelta(minutes=connector.delta_interval_minutes)
    if not DiscoveryRun.objects.filter(connector=connector, state=DiscoveryRun.State.SUCCEEDED).exists():
        # Newly installed: the first delta comes soon, and without an earlier run it is a full discovery.
        delta_next = timezone.now() + FIRST_DISCOVERY_AFTER
    plans = {
        "full": (connector.full_discovery_days * 24 * 60, next_full_run(connector)),
        "delta": (connector.delta_interval_minutes, delta_next),
    }
    for kind, (minutes, next_run) in plans.items():
        schedule = Schedule.objects.filter(name=schedule_name(connector.pk, kind)).first()
        if schedule is not None and schedule.minutes == minutes and (kind == "delta" or schedule.next_run == next_run
                                                                     or _same_time_of_day(schedule.next_run, next_run)):
            continue  # unchanged: keep its next run
        Schedule.objects.update_or_create(name=schedule_name(connector.pk, kind), defaults={
            "func": "devices.tasks.scheduled_discovery", "args": repr((connector.pk, kind)),
            "schedule_type": Schedule.MINUTES, "minutes": minutes, "repeats": -1, "next_run": next_run})
    for name, (func, minutes) in HOUSEKEEPING.items():
        Schedule.objects.get_or_create(name=name, defaults={
            "func": func, "schedule_type": Schedule.MINUTES, "minutes": minutes, "repeats": -1,
            "next_run": timezone.now() + dt.timedelta(minutes=minutes)})


def _same_time_of_day(a: dt.datetime | None, b: dt.datetime) -> bool:
    if a is None:
        return False
    a, b = timezone.localtime(a), timezone.localtime(b)
    return (a.hour, a.minute) == (b.hour, b.minute)
