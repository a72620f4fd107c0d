"""The fleet's daily figures (``FleetSnapshot``): devices by time since their last sync and by access state.

A django-q2 schedule takes the day's snapshot (``devices-fleet-snapshot``, registered with discovery's
housekeeping schedules, run by the one scheduler), and each successful full discovery takes it again, so
the day's figures are those of its newest full inventory. Taking it twice a day updates one row.
"""
from __future__ import annotations

from datetime import timedelta

from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from devices.models import Device, FleetSnapshot

# (label, synced at least N and less than M days ago): the sync-age buckets, youngest first.
SYNC_AGES = ((_("Under a day"), 0, 1), (_("1–7 days"), 1, 7), (_("7–30 days"), 7, 30), (_("30–90 days"), 30, 90), (_("Over 90 days"), 90, None))
NEVER = _("Never synced")
ACCESS_TOKENS = ("Allowed", "Blocked", "Quarantined", "DeviceDiscovery", "Unknown")  # Exchange's DeviceAccessState


def sync_age_choices() -> list[tuple[str, str]]:
    """The buckets as a filter's choices: "0"… in SYNC_AGES order, then "never"."""
    return [(str(index), label) for index, (label, _younger, _older) in enumerate(SYNC_AGES)] + [("never", NEVER)]


def sync_age_q(bucket: str, now) -> Q:
    """The devices of one bucket ("0"… or "never"), ``now`` being when the ages are measured from."""
    if bucket == "never":
        return Q(last_success_sync__isnull=True)
    _label, younger, older = SYNC_AGES[int(bucket)]
    query = Q(last_success_sync__lt=now - timedelta(days=younger)) if younger else Q(last_success_sync__isnull=False)
    if older is not None:
        query &= Q(last_success_sync__gte=now - timedelta(days=older))
    return query


def sync_age_aggregates(now) -> dict:
    """Count expressions named by bucket ("0"… and "never"), for ``QuerySet.aggregate``."""
    return {f"age_{bucket}": Count("pk", filter=sync_age_q(bucket, now)) for bucket, _label in sync_age_choices()}


def sync_age_counts(counts: dict) -> list[int]:
    """The bucket counts of an aggregate of ``sync_age_aggregates``, "never synced" last."""
    return [counts[f"age_{bucket}"] for bucket, _label in sync_age_choices()]


def snapshot_take(*, devices: QuerySet | None = None, now=None) -> FleetSnapshot:
    """Count the devices (one query) and store them as today's snapshot, replacing one taken earlier today."""
    now = now or timezone.now()
    devices = Device.objects.all() if devices is None else devices
    aggregates = sync_age_aggregates(now)
    aggregates.update({f"access_{token}": Count("pk", filter=Q(access_state=token)) for token in ACCESS_TOKENS})
    aggregates["total"] = Count("pk")
    counts = devices.order_by().aggregate(**aggregates)
    snapshot, _created = FleetSnapshot.objects.update_or_create(date=timezone.localdate(now), defaults={
        "total": counts["total"], "sync_ages": sync_age_counts(counts),
        "access_states": {token: counts[f"access_{token}"] for token in ACCESS_TOKENS}})
    return snapshot


def snapshots(days: int) -> list[FleetSnapshot]:
    """The snapshots of the last ``days`` days, oldest first."""
    return list(FleetSnapshot.objects.filter(date__gt=timezone.localdate() - timedelta(days=days)))
