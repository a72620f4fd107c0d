"""Reads of stale-device cleanup: who may do what, what is stale, and what is left of the monthly cap."""
from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

from devices.cleanup.models import CleanupCandidate, CleanupRun
from devices.models import ALL_MOBILE_DEVICES, Collection, Device, DeviceAction
from easconsole.models import Site
from easconsole.permissions import has_perm, objects_for

# Removing partnerships in bulk needs the delete permission on every device: on All Mobile Devices.
PREPARE_PERMISSION = "devices.delete_resource"
# Approving needs, besides, Modify on the connector's site: the Full Administrator's permission.
APPROVE_PERMISSION = "easconsole.modify_site"
UNDONE = (DeviceAction.State.FAILED, DeviceAction.State.CANCELLED, DeviceAction.State.EXPIRED)


def may_read(user, connector) -> bool:
    return has_perm(user, "easconsole.read_site", connector.site)


def may_prepare(user, connector) -> bool:
    """Edit the rule and run a preview: Full and Operations Administrators over every device."""
    return may_read(user, connector) and has_perm(user, PREPARE_PERMISSION, Collection.objects.get(name=ALL_MOBILE_DEVICES))


def may_approve(user, connector) -> bool:
    return may_prepare(user, connector) and has_perm(user, APPROVE_PERMISSION, connector.site)


def month_start(now: dt.datetime | None = None) -> dt.datetime:
    now = timezone.localtime(now or timezone.now())
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def removals_this_month(now: dt.datetime | None = None) -> int:
    """Deletes a cleanup requested this calendar month that removed, or may still remove, a partnership."""
    return (CleanupCandidate.objects.filter(action__requested_at__gte=month_start(now))
            .exclude(action__state__in=UNDONE).count())


def reserved(*, excluding: CleanupRun | None = None) -> int:
    """Candidates of approved runs not handled yet: the cap is kept for them."""
    pending = CleanupCandidate.objects.filter(run__state__in=CleanupRun.ACTIVE, outcome=CleanupCandidate.Outcome.PENDING)
    if excluding is not None:
        pending = pending.exclude(run=excluding)
    return pending.count()


def cap_remaining(*, excluding: CleanupRun | None = None) -> int:
    """What is left of this month's cap (EASCONSOLE_CLEANUP_MONTHLY_CAP), all connectors together."""
    return max(settings.EASCONSOLE_CLEANUP_MONTHLY_CAP - removals_this_month() - reserved(excluding=excluding), 0)


def stale_devices(connector, days: int, now: dt.datetime | None = None) -> QuerySet:
    """The connector's partnerships still in Exchange whose last sync (first sync, if never) is older than ``days``,
    oldest first, without those that have an open wipe."""
    since = (now or timezone.now()) - dt.timedelta(days=days)
    last = Q(last_success_sync__lt=since) | Q(last_success_sync__isnull=True, first_sync_time__lt=since)
    open_wipes = DeviceAction.objects.filter(kind__in=DeviceAction.WIPES, state__in=DeviceAction.OPEN).values("device")
    return (Device.objects.filter(last, connector=connector, missing_since__isnull=True)
            .exclude(pk__in=open_wipes).exclude(status__in=WIPE_STATUSES).order_by("last_success_sync", "pk"))


# Exchange's statuses of a device whose wipe is open: requested (in the console or elsewhere), not acknowledged yet.
WIPE_STATUSES = ("DeviceWipePending", "DeviceWipeInitiated", "AccountOnlyDeviceWipePending", "AccountOnlyDeviceWipeInitiated")


def active_run(connector) -> CleanupRun | None:
    return CleanupRun.objects.filter(connector=connector, state__in=CleanupRun.ACTIVE).first()


def readable_sites(user) -> QuerySet:
    return objects_for(user, "easconsole.read_site", Site.objects.all())


def runs_for(user) -> QuerySet:
    """The cleanup runs of the connectors on the sites the user reads (a run's page asks the same)."""
    return CleanupRun.objects.filter(connector__site__in=readable_sites(user)).select_related("connector")


def removed(user) -> QuerySet:
    """Reports ▸ Removed stale devices: candidates whose delete is done, on connectors of sites the user reads."""
    return (CleanupCandidate.objects.filter(run__connector__site__in=readable_sites(user), action__state=DeviceAction.State.DONE)
            .select_related("run__connector", "action").order_by("-action__finished_at", "-pk"))

