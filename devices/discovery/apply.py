"""Applying a run's staging rows to the inventory, in one transaction: all of it or nothing.

Upserts by (connector, Exchange GUID) a batch at a time (INSERT … ON CONFLICT DO UPDATE), counts
what was added and changed, clears ``missing_since`` of devices seen again, marks the devices
Exchange no longer has, and keeps automatic user device affinity in step.
"""
from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from devices.discovery import bulk, records
from devices.discovery.affinity import ConsoleUsers, apply_affinity
from devices.models import Device, DiscoveryRun, DiscoveryStagedDevice
from easconsole.models import ExchangeConnector

BATCH_SIZE = 1000
_UPDATE_FIELDS = [*records.DATA_FIELDS, "last_discovered", "missing_since"]
_COLUMNS = ("connector", "exchange_guid", "first_discovered", *_UPDATE_FIELDS)


class StaleRun(Exception):
    """The run is no longer Running (marked Failed meanwhile)."""


@dataclass
class Applied:
    added: int = 0
    changed: int = 0
    missing: int = 0
    affinity_added: int = 0
    affinity_removed: int = 0


def apply_run(run: DiscoveryRun, connector: ExchangeConnector) -> Applied:
    """Write the staged devices of ``run`` to the inventory and mark the ones Exchange no longer has.

    Every staged Guid counts as seen (delta discovery stages the Guid of every device Exchange
    has; both kinds stage the Guid of ignored, inactive devices), so only a device absent from the
    whole staging is marked missing.
    """
    now = timezone.now()
    result = Applied()
    users = None if connector.is_online else ConsoleUsers()  # Exchange Online: affinity is set by hand
    with transaction.atomic():
        # A run found stale (its worker seemed gone) was marked Failed: it must not apply after all.
        if not DiscoveryRun.objects.select_for_update().filter(pk=run.pk, state=DiscoveryRun.State.RUNNING).exists():
            raise StaleRun("The run was marked failed while it was still reading; nothing was applied.")
        # A first discovery has nothing to compare with: only a device it wrote itself can be there already.
        written = None if Device.objects.filter(connector=connector).exists() else set()
        last = 0
        while True:
            batch = list(DiscoveryStagedDevice.objects.filter(run=run, pk__gt=last, data__isnull=False)
                         .order_by("pk").values_list("pk", "exchange_guid", "data")[:BATCH_SIZE])
            if not batch:
                break
            last = batch[-1][0]
            _apply_batch(connector, batch, now, result, users, written)
        seen = DiscoveryStagedDevice.objects.filter(run=run, exchange_guid=OuterRef("exchange_guid"))
        result.missing = (Device.objects.filter(connector=connector, missing_since__isnull=True)
                          .exclude(Exists(seen)).update(missing_since=now))
    return result


def _apply_batch(connector: ExchangeConnector, batch: list, now, result: Applied, users: ConsoleUsers | None,
                 written: set | None) -> None:
    """Upsert one batch. ``written`` is None when the inventory had devices of the connector before the
    run; else the Guids the run has written so far (the only devices a first discovery may find)."""
    values_by_guid = {}
    for _pk, guid, data in batch:  # a device listed twice (nested containers) is written once
        values_by_guid[guid] = records.to_model_values(data)
    lookup = list(values_by_guid) if written is None else [guid for guid in values_by_guid if guid in written]
    existing = {guid: rest for guid, *rest in Device.objects.filter(
        connector=connector, exchange_guid__in=lookup).values_list("exchange_guid", "pk", "missing_since",
                                                                   *records.DATA_FIELDS)} if lookup else {}
    if written is not None:
        written.update(values_by_guid)
    rows = []
    for guid, values in values_by_guid.items():
        before = existing.get(guid)
        if before is None:
            result.added += 1
        elif before[1] is not None or any(old != values[name] for name, old in zip(records.DATA_FIELDS, before[2:])):
            result.changed += 1
        rows.append((connector.pk, guid, now, *(values[name] for name in records.DATA_FIELDS), now, None))
    bulk.insert(Device, _COLUMNS, rows, unique=["connector", "exchange_guid"], update=_UPDATE_FIELDS)
    if users is not None:
        added = [guid for guid in values_by_guid if guid not in existing]
        added_pks = dict(Device.objects.filter(connector=connector, exchange_guid__in=added)
                         .values_list("exchange_guid", "pk")) if added else {}
        pks = {**{guid: before[0] for guid, before in existing.items()}, **added_pks}
        links_added, links_removed = apply_affinity(users, [
            (pks[guid], v["user_principal_name"], v["user_sam_account_name"], v["user_primary_smtp_address"])
            for guid, v in values_by_guid.items() if guid in pks], new=set(added_pks.values()))
        result.affinity_added += links_added
        result.affinity_removed += links_removed
