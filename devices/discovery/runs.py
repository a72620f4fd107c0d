"""Full and delta discovery of one connector: read from Exchange into staging, then apply in one transaction.

A run is Queued, then Running (claimed: one discovery of a connector at a time), then Succeeded
or Failed with the reason. Whatever breaks while reading (Exchange down, a cmdlet denied) fails the
run and deletes its staging rows: the inventory stays exactly as it was. A worker killed mid-run
leaves a Running row whose heartbeat stops; ``fail_stale_runs`` marks it Failed later.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import logging
import time
from typing import Callable

from django.conf import settings
from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone

from devices import history
from devices.discovery import records, staging
from devices.discovery.apply import StaleRun, apply_run
from devices.discovery.staging import DeviceStager
from devices.models import Device, DiscoveryRun
from easconsole.exchange.errors import ExchangeCommandError
from easconsole.logs import easdisc
from easconsole.models import ExchangeConnector
from easconsole.services import connectors as connector_services

log = logging.getLogger(__name__)
# Sent by a full discovery after it read the inventory, with its open gateway (kwargs connector, exchange):
# the policies app compares the connector's settings with Exchange's on the same session.
full_read = Signal()

Progress = Callable[[DiscoveryRun], None]
ACTIVE = (DiscoveryRun.State.QUEUED, DiscoveryRun.State.RUNNING)
WORKER_STOPPED = "The worker stopped while the discovery was running (no progress for %(minutes)s minutes)."


def stale_after() -> dt.timedelta:
    """A running discovery without progress for this long has lost its worker (DISCOVERY_STALE_MINUTES, 15)."""
    return dt.timedelta(minutes=getattr(settings, "DISCOVERY_STALE_MINUTES", 15))


def retention() -> dt.timedelta:
    """How long a device Exchange no longer has stays in the inventory (DISCOVERY_RETENTION_DAYS, 90),
    as ConfigMgr's Delete Aged Discovery Data task."""
    return dt.timedelta(days=getattr(settings, "DISCOVERY_RETENTION_DAYS", 90))


def delta_filter_margin() -> dt.timedelta:
    """Subtracted from the earliest change in delta discovery's WhenChanged filter
    (DISCOVERY_DELTA_FILTER_MARGIN_MINUTES, 0). The date comes from Exchange's own clock and is
    written in UTC; raise it to the UTC offset of Exchange servers whose filters read local time."""
    return dt.timedelta(minutes=getattr(settings, "DISCOVERY_DELTA_FILTER_MARGIN_MINUTES", 0))


def readers(previous: DiscoveryRun | None) -> int:
    """Sessions a full discovery reads with (EASCONSOLE_DISCOVERY_READERS, 3): 3, the devices and their
    statistics are each read by a child process on a session of its own (the worker joins and stores
    what they send); 2, only the statistics are; 1, everything on the worker's session. Each child
    session takes one of the connector's max_concurrency slots. The children start before the
    mailboxes are read, so their start (about a second) costs nothing; still, an organization whose
    last discovery read fewer than EASCONSOLE_DISCOVERY_PARALLEL_FROM devices (2,000) is read on one
    session. A first discovery, whose size is not known yet, reads in parallel."""
    wanted = max(1, int(getattr(settings, "EASCONSOLE_DISCOVERY_READERS", 3)))
    if previous is None:
        return wanted
    return wanted if previous.devices_seen >= getattr(settings, "EASCONSOLE_DISCOVERY_PARALLEL_FROM", 2_000) else 1


class DiscoveryBusy(Exception):
    """Another discovery of the connector is queued or running."""


def containers(connector: ExchangeConnector) -> list[str | None]:
    """The organizational units to search: all recipients (None), or the connector's AD containers."""
    if connector.all_recipients:
        return [None]
    chosen = [line.strip() for line in connector.ad_containers.splitlines() if line.strip()]
    return chosen or [None]


def claim(run: DiscoveryRun) -> None:
    """Queued -> Running, unless another discovery of the connector is running (DiscoveryBusy).

    The connector's row is locked while checking (PostgreSQL; SQLite serialises writers anyway),
    so two workers cannot both start a discovery of one connector.
    """
    fail_stale_runs(connector_id=run.connector_id)
    with transaction.atomic():
        ExchangeConnector.objects.select_for_update().filter(pk=run.connector_id).exists()
        other = DiscoveryRun.objects.filter(connector_id=run.connector_id, state=DiscoveryRun.State.RUNNING).exclude(pk=run.pk)
        if other.exists():
            raise DiscoveryBusy(f"Another discovery of this connector is running (run {other.first().pk}).")
        now = timezone.now()
        updated = DiscoveryRun.objects.filter(pk=run.pk, state=DiscoveryRun.State.QUEUED).update(
            state=DiscoveryRun.State.RUNNING, started=now, heartbeat=now, phase="Connecting")
        if not updated:
            raise DiscoveryBusy(f"Run {run.pk} is not queued.")
    run.refresh_from_db()


def execute(run: DiscoveryRun, *, gateway_factory=None, on_progress: Progress | None = None) -> DiscoveryRun:
    """Run a claimed (Running) discovery to its end; returns it Succeeded or Failed. Never raises for
    an Exchange or data failure: the reason is on the run."""
    on_progress = on_progress or (lambda run: None)
    gateway_factory = gateway_factory or connector_services.connector_gateway
    connector = ExchangeConnector.objects.select_related("site").get(pk=run.connector_id)
    easdisc.info(f"{run.get_kind_display()} of connector {connector.name} started (run {run.pk})")
    previous = _last_success(connector, run)
    began = time.monotonic()
    try:
        if run.kind == DiscoveryRun.Kind.DELTA and previous is None:
            easdisc.info(f"No earlier successful discovery of {connector.name}: running a full discovery instead")
            run.kind = DiscoveryRun.Kind.FULL
            DiscoveryRun.objects.filter(pk=run.pk).update(kind=run.kind)
        with gateway_factory(connector) as exchange:
            if run.kind == DiscoveryRun.Kind.FULL:
                _read_full(run, connector, exchange, on_progress, readers(previous))
                full_read.send(sender=DiscoveryRun, connector=connector, exchange=exchange)
            else:
                _read_delta(run, connector, exchange, on_progress)
            ExchangeConnector.objects.filter(pk=connector.pk).update(
                server_in_use=exchange.current_server or connector.server_in_use,
                ad_site_in_use=exchange.current_site or connector.ad_site_in_use)
        read_seconds = time.monotonic() - began
        staging.progress(run, phase="Applying to the inventory")
        on_progress(run)
        applied = apply_run(run, connector)
        apply_seconds = time.monotonic() - began - read_seconds
    except StaleRun as error:
        staging.delete_staging(run)
        easdisc.error(f"{run.get_kind_display()} of connector {connector.name} (run {run.pk}): {error}")
        run.refresh_from_db()
        return run
    except Exception as error:  # noqa: BLE001 - every failure is recorded on the run, the inventory untouched
        return fail(run, _reason(error))
    staging.finish_staging(run, previous)
    now = timezone.now()
    DiscoveryRun.objects.filter(pk=run.pk).update(
        state=DiscoveryRun.State.SUCCEEDED, phase="Finished", finished=now, heartbeat=now,
        devices_added=applied.added, devices_changed=applied.changed, devices_missing=applied.missing)
    run.refresh_from_db()
    easdisc.info(f"{run.get_kind_display()} of connector {connector.name} finished: {run.devices_seen} devices read, "
                 f"{run.devices_added} added, {run.devices_changed} changed, {run.devices_missing} no longer in Exchange, "
                 f"{run.devices_ignored} ignored (inactive for more than {connector.ignore_inactive_days} days); "
                 f"affinity: {applied.affinity_added} added, {applied.affinity_removed} removed; "
                 f"read in {read_seconds:.1f} s, applied in {apply_seconds:.1f} s")
    _refresh_collections()
    _follow_open_wipes(connector)
    on_progress(run)
    return run


def _follow_open_wipes(connector: ExchangeConnector) -> None:
    """The statistics just read move the connector's open wipes along, as the status poll does."""
    from devices.actions.services import follow_from_inventory

    follow_from_inventory(connector)


def full_discovery(run: DiscoveryRun, **kwargs) -> DiscoveryRun:
    """Claim and run a full discovery: every device, its statistics and its mailbox. Once it succeeded,
    the day's fleet snapshot is taken again from the whole inventory (the trend charts' point)."""
    claim(run)
    run = execute(run, **kwargs)
    if run.state == DiscoveryRun.State.SUCCEEDED:
        history.snapshot_take()
    return run


def delta_discovery(run: DiscoveryRun, **kwargs) -> DiscoveryRun:
    """Claim and run a delta discovery: only what changed since the last successful run (full if none)."""
    claim(run)
    return execute(run, **kwargs)


def _read_full(run: DiscoveryRun, connector: ExchangeConnector, exchange, on_progress: Progress, sessions: int) -> None:
    ous = containers(connector)

    def read(ou: str | None):
        return exchange.devices_with_statistics(organizational_unit=ou, readers=sessions,
                                                statistics_properties=records.STATISTICS_KEPT)

    # The first container's devices are asked for before the mailboxes: reader processes (sessions > 1)
    # start, open their sessions and begin reading while the mailboxes are read here.
    first = read(ous[0])
    with contextlib.closing(first):
        for ou in ous:
            staging.progress(run, phase="Reading mailboxes")
            on_progress(run)
            staging.stage_mailboxes(run, exchange.mailboxes(organizational_unit=ou),
                                    on_batch=lambda n: (staging.progress(run), on_progress(run)))
        stager = DeviceStager(run, staging.staged_owners(run), ignore_inactive_days=connector.ignore_inactive_days,
                              on_batch=on_progress)
        for index, ou in enumerate(ous):
            staging.progress(run, phase="Reading devices and statistics")
            on_progress(run)
            with contextlib.closing(first if index == 0 else read(ou)) as reading:
                for device, stats in reading:
                    stager.add(device, stats)
            stager.flush()


def _read_delta(run: DiscoveryRun, connector: ExchangeConnector, exchange, on_progress: Progress) -> None:
    """Delta: list every device's Guid and WhenChanged (cheap: two properties an object) into staging,
    which finds the removed devices and, compared with the inventory, the added and changed ones; then
    read in full only those, with one filtered pipeline per container: WhenChanged -ge <the earliest
    change, as Exchange's own clock reported it> (the date is formatted here, never taken from input).
    """
    for ou in containers(connector):
        staging.progress(run, phase="Listing devices")
        on_progress(run)
        staging.stage_listing(run, exchange.device_versions(organizational_unit=ou), on_batch=on_progress)
    changes = _changes(run, connector)
    if not changes["count"]:
        return
    if changes["undated"]:  # a device without WhenChanged cannot be filtered on: read everything
        changed_filter = None
    else:
        since = changes["earliest"].astimezone(dt.timezone.utc) - delta_filter_margin()
        changed_filter = f"WhenChanged -ge '{since:%m/%d/%Y %H:%M:%S}'"
    stager = DeviceStager(run, _known_owners(connector, exchange), ignore_inactive_days=connector.ignore_inactive_days,
                          on_batch=on_progress)
    for ou in containers(connector):
        staging.progress(run, phase=f"Reading {changes['count']} added or changed devices")
        on_progress(run)
        try:
            _read_changed(exchange, stager, changed_filter, ou)
        except ExchangeCommandError as exc:
            if changed_filter is None or not _filter_refused(exc):
                raise
            # An Exchange that cannot filter its devices on WhenChanged refuses the parameter before it
            # sends anything: read the container in full instead (slower, the same result).
            easdisc.warning("Exchange cannot filter devices on WhenChanged (%s); reading every device of %s",
                            exc.reason, ou or "the organization")
            changed_filter = None
            _read_changed(exchange, stager, None, ou)


def _read_changed(exchange, stager: DeviceStager, changed_filter: str | None, ou: str | None) -> None:
    for device, stats in exchange.devices_with_statistics(filter=changed_filter, organizational_unit=ou,
                                                          statistics_properties=records.STATISTICS_KEPT):
        stager.add(device, stats)
    stager.flush()


def _filter_refused(exc: ExchangeCommandError) -> bool:
    """Exchange's answer to a -Filter on a property it cannot filter on (a parameter binding failure)."""
    return "ParameterBinding" in f"{exc.fq_error_id} {exc.exception_type}" and "WhenChanged" in str(exc.reason)


def _changes(run: DiscoveryRun, connector: ExchangeConnector) -> dict:
    """The listed devices that are new or changed, compared with the inventory and with the devices the
    last successful run left out as inactive (in SQL: nothing is held here)."""
    from django.db.models import Count, Exists, Min, OuterRef, Q

    same = {"exchange_guid": OuterRef("exchange_guid"), "when_changed": OuterRef("when_changed")}
    unchanged = Device.objects.filter(connector=connector, missing_since__isnull=True, **same)
    still_ignored = staging.ignored_memory(_last_success(connector, run)).filter(**same)
    candidates = staging.DiscoveryStagedDevice.objects.filter(run=run, data__isnull=True, ignored=False).exclude(
        Exists(unchanged)).exclude(Exists(still_ignored))
    return candidates.aggregate(count=Count("pk"), earliest=Min("when_changed"),
                                undated=Count("pk", filter=Q(when_changed__isnull=True)))


def _known_owners(connector: ExchangeConnector, exchange) -> staging.OwnerLookup:
    """Delta: owners of mailboxes the inventory already knows; Get-Mailbox -Identity for new ones."""
    from django.db.models.functions import Lower

    from devices.discovery.records import MailboxOwner
    from easconsole.exchange.errors import ExchangeObjectNotFound

    def lookup(keys: list[tuple[str, str]]) -> dict[tuple[str, str], MailboxOwner]:
        found: dict[tuple[str, str], MailboxOwner] = {}
        aliases = {alias for _, alias in keys if alias}
        known = {}
        rows = (Device.objects.filter(connector=connector).annotate(key=Lower("mailbox")).filter(key__in=aliases)
                .exclude(user_sam_account_name="").values_list("mailbox", "user_display_name", "user_sam_account_name",
                                                               "user_principal_name", "user_primary_smtp_address"))
        for mailbox, *names in rows:
            known.setdefault(mailbox.lower(), MailboxOwner(*names))
        for key in keys:
            identity, alias = key
            if alias in known:
                found[key] = known[alias]
                continue
            try:
                mailbox = next(iter(list(exchange.mailboxes(identity=identity or alias))), None)
            except ExchangeObjectNotFound:
                mailbox = None
            if mailbox is not None:
                found[key] = known[alias] = MailboxOwner.from_recipient(mailbox)
        return found

    return lookup


def _last_success(connector: ExchangeConnector, run: DiscoveryRun) -> DiscoveryRun | None:
    return (DiscoveryRun.objects.filter(connector=connector, state=DiscoveryRun.State.SUCCEEDED, started__isnull=False)
            .exclude(pk=run.pk).order_by("-started").first())


def _reason(error: Exception) -> str:
    from easconsole.exchange.errors import ExchangeError

    if isinstance(error, ExchangeError):
        return str(error)
    log.exception("discovery failed")
    return f"{type(error).__name__}: {error}"


def fail(run: DiscoveryRun, reason: str) -> DiscoveryRun:
    """Mark a run Failed with its reason and drop its staging rows; the inventory is untouched."""
    staging.delete_staging(run)
    now = timezone.now()
    DiscoveryRun.objects.filter(pk=run.pk).update(state=DiscoveryRun.State.FAILED, finished=now, error=reason,
                                                  phase="Failed")
    run.refresh_from_db()
    connector = ExchangeConnector.objects.filter(pk=run.connector_id).first()
    easdisc.error(f"{run.get_kind_display()} of connector {connector.name if connector else run.connector_id} "
                  f"failed (run {run.pk}): {reason} The inventory was left as it was.")
    return run


def fail_stale_runs(*, connector_id: int | None = None) -> int:
    """Mark Failed the running discoveries whose worker stopped (no heartbeat for ``stale_after()``)."""
    limit = timezone.now() - stale_after()
    stale = DiscoveryRun.objects.filter(state=DiscoveryRun.State.RUNNING, heartbeat__lt=limit)
    if connector_id is not None:
        stale = stale.filter(connector_id=connector_id)
    minutes = int(stale_after().total_seconds() // 60)
    count = 0
    for run in stale:
        fail(run, WORKER_STOPPED % {"minutes": minutes})
        count += 1
    return count


def purge_missing_devices() -> int:
    """Delete the devices Exchange has not had for longer than the retention period. Returns how many."""
    limit = timezone.now() - retention()
    old = Device.objects.filter(missing_since__lt=limit)
    names = list(old.values_list("name", "device_id")[:20])
    count = old.delete()[1].get(Device._meta.label, 0)
    if count:
        shown = ", ".join(f"{n} ({d})" for n, d in names) + (" ..." if count > len(names) else "")
        easdisc.info(f"Purged {count} devices missing from Exchange for more than {retention().days} days: {shown}")
    return count


def _refresh_collections() -> None:
    """Collection membership follows the inventory after each successful discovery."""
    try:
        from devices.services.collections import refresh_memberships
    except ImportError:  # pragma: no cover - collections not built in this checkout
        return
    try:
        refresh_memberships()
    except Exception:  # noqa: BLE001 - the discovery itself succeeded; membership is refreshed next time
        log.exception("refreshing collection memberships after a discovery failed")
        easdisc.warning("Refreshing collection memberships after the discovery failed; it is retried after the next one")
