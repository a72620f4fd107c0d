"""Writing what a run reads into its staging rows, a batch at a time, with the run's progress.

Nothing here touches the inventory (Device): a run that breaks while reading leaves only staging
rows, which are deleted when the run is marked Failed.
"""
from __future__ import annotations

import datetime as dt
import uuid
from typing import Callable, Iterable

from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from devices.discovery import bulk, records
from devices.discovery.records import MailboxOwner
from devices.models import DiscoveryRun, DiscoveryStagedDevice, DiscoveryStagedMailbox
from easconsole.exchange.values import DeviceRecord, DeviceStatistics, RecipientInfo

BATCH_SIZE = 1000

# Finds the owners of a batch of devices: {(identity key, alias key): owner}.
OwnerLookup = Callable[[list[tuple[str, str]]], dict[tuple[str, str], MailboxOwner]]


def progress(run: DiscoveryRun, *, phase: str | None = None, **increments: int) -> None:
    """Record progress on the run's row (counters grow with F(), so the row is the one truth)."""
    now = timezone.now()
    changes: dict = {"heartbeat": now}
    if phase is not None:
        changes["phase"] = phase
        run.phase = phase
    for name, amount in increments.items():
        if amount:
            changes[name] = F(name) + amount
            setattr(run, name, getattr(run, name) + amount)
    run.heartbeat = now
    DiscoveryRun.objects.filter(pk=run.pk).update(**changes)


def stage_mailboxes(run: DiscoveryRun, mailboxes: Iterable[RecipientInfo], *, on_batch: Callable[[int], None]) -> int:
    """Stage every mailbox read (Get-Mailbox) for the device pass to look owners up in."""
    count = 0
    names = ("run", *records.MAILBOX_FIELDS)
    batch: list[tuple] = []
    for mailbox in mailboxes:
        fields = records.mailbox_fields(mailbox)
        batch.append((run.pk, *(fields[name] for name in records.MAILBOX_FIELDS)))
        if len(batch) >= BATCH_SIZE:
            count += _flush(DiscoveryStagedMailbox, names, batch, on_batch)
    return count + _flush(DiscoveryStagedMailbox, names, batch, on_batch)


_DEVICE_COLUMNS = ("run", "exchange_guid", "when_changed", "data", "ignored")


def _flush(model, names: tuple[str, ...], batch: list[tuple], on_batch: Callable[[int], None]) -> int:
    if not batch:
        return 0
    bulk.insert(model, names, batch)
    n = len(batch)
    batch.clear()
    on_batch(n)
    return n


def staged_owners(run: DiscoveryRun) -> OwnerLookup:
    """Owners from the mailboxes this run staged: by Identity, else by alias."""

    def lookup(keys: list[tuple[str, str]]) -> dict[tuple[str, str], MailboxOwner]:
        identities = {i for i, _ in keys if i}
        aliases = {a for _, a in keys if a}
        by_identity: dict[str, MailboxOwner] = {}
        by_alias: dict[str, MailboxOwner] = {}
        fields = ("identity_key", "alias_key", "display_name", "sam_account_name", "user_principal_name",
                  "primary_smtp_address")
        rows = DiscoveryStagedMailbox.objects.filter(run=run, identity_key__in=identities).values_list(*fields)
        rows = list(rows) + list(DiscoveryStagedMailbox.objects.filter(run=run, alias_key__in=aliases).values_list(*fields))
        for identity, alias, *names in rows:
            owner = MailboxOwner(*names)
            by_identity.setdefault(identity, owner)
            by_alias.setdefault(alias, owner)
        return {key: by_identity.get(key[0]) or by_alias.get(key[1]) for key in keys
                if by_identity.get(key[0]) or by_alias.get(key[1])}

    return lookup


class DeviceStager:
    """Stages devices read with their statistics: owner looked up, inactive ones counted and left out.

    Args:
        run: the run being staged.
        owners: how to find the owners of a batch.
        ignore_inactive_days: devices that last synced longer ago are ignored.
    """

    def __init__(self, run: DiscoveryRun, owners: OwnerLookup, *, ignore_inactive_days: int,
                 on_batch: Callable[[DiscoveryRun], None] = lambda run: None) -> None:
        self.run = run
        self.owners = owners
        self.days = ignore_inactive_days
        self.on_batch = on_batch
        self.pending: list[tuple[DeviceRecord, DeviceStatistics | None]] = []
        self.now = timezone.now()

    def add(self, device: DeviceRecord, stats: DeviceStatistics | None) -> None:
        if device.guid is None:  # Exchange always gives one; a device without cannot be kept apart
            return
        self.pending.append((device, stats))
        if len(self.pending) >= BATCH_SIZE:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        batch, self.pending = self.pending, []
        owners = self.owners(sorted({records.mailbox_keys(d) for d, _ in batch}))
        rows, ignored = [], 0
        for device, stats in batch:
            if records.is_inactive(device, stats, now=self.now, days=self.days):
                ignored += 1
                rows.append((self.run.pk, device.guid, device.when_changed, None, True))
                continue
            values = records.device_values(device, stats, owners.get(records.mailbox_keys(device)))
            rows.append((self.run.pk, device.guid, device.when_changed, records.to_json(values), False))
        bulk.insert(DiscoveryStagedDevice, _DEVICE_COLUMNS, rows)
        progress(self.run, devices_seen=len(batch), devices_ignored=ignored)
        self.on_batch(self.run)


def stage_listing(run: DiscoveryRun, versions: Iterable[tuple[uuid.UUID | None, dt.datetime | None]],
                  *, on_batch: Callable[[DiscoveryRun], None] = lambda run: None) -> int:
    """Stage the Guid of every device Exchange has (delta discovery), to find the ones it no longer has."""
    count = 0
    batch: list[tuple] = []

    def flushed(n: int) -> None:
        progress(run)
        on_batch(run)

    for guid, when_changed in versions:
        if guid is None:
            continue
        batch.append((run.pk, guid, when_changed, None, False))
        if len(batch) >= BATCH_SIZE:
            count += _flush(DiscoveryStagedDevice, _DEVICE_COLUMNS, batch, flushed)
    return count + _flush(DiscoveryStagedDevice, _DEVICE_COLUMNS, batch, flushed)


def delete_staging(run: DiscoveryRun) -> None:
    """Drop what a failed run staged (the previous successful run's memory of ignored devices stays)."""
    DiscoveryStagedDevice.objects.filter(run=run).delete()
    DiscoveryStagedMailbox.objects.filter(run=run).delete()


def ignored_memory(run: DiscoveryRun | None):
    """The devices the last successful run left out as inactive (Guid, WhenChanged): kept so that delta
    discovery does not read them again while they have not changed."""
    if run is None:
        return DiscoveryStagedDevice.objects.none()
    return DiscoveryStagedDevice.objects.filter(run=run, ignored=True)


def finish_staging(run: DiscoveryRun, previous: DiscoveryRun | None) -> None:
    """After a successful run: keep only the memory of ignored devices, carried over to this run.

    A delta reads only some devices: the previous memory's devices it did not read again stay ignored.
    """
    if run.kind == DiscoveryRun.Kind.DELTA and previous is not None:
        reread = DiscoveryStagedDevice.objects.filter(run=run, exchange_guid=OuterRef("exchange_guid")).filter(
            Q(data__isnull=False) | Q(ignored=True))
        listed = DiscoveryStagedDevice.objects.filter(run=run, exchange_guid=OuterRef("exchange_guid"))
        ignored_memory(previous).filter(Exists(listed)).exclude(Exists(reread)).update(run=run)
    DiscoveryStagedDevice.objects.filter(run=run, ignored=False).delete()
    DiscoveryStagedMailbox.objects.filter(run=run).delete()
    DiscoveryStagedDevice.objects.filter(run__connector_id=run.connector_id).exclude(run=run).delete()
