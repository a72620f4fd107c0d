"""Background tasks of discovery (django-q2). Tasks take ids, load rows, re-check, call the services."""
from __future__ import annotations

from devices import discovery, history
from devices.discovery.runs import ACTIVE, DiscoveryBusy, fail
from devices.discovery.services import may_request
from devices.models import DiscoveryRun
from easconsole.logs import easdisc
from easconsole.models import ExchangeConnector


def run_discovery(run_id: int) -> str:
    """Run a queued discovery; the outcome is recorded on the run (and in EasDisc.log)."""
    run = DiscoveryRun.objects.select_related("connector__site", "requested_by").filter(pk=run_id).first()
    if run is None:
        return f"Discovery run {run_id} no longer exists."
    if run.state != DiscoveryRun.State.QUEUED:
        return f"Discovery run {run_id} is {run.get_state_display().lower()}; nothing to do."
    if run.requested_by is not None and not may_request(run.requested_by, run.connector):
        fail(run, f"{run.requested_by} may no longer start discoveries of {run.connector.name}.")
        return f"Discovery run {run_id} refused: its requester lost the permission."
    try:
        run = discovery.full_discovery(run) if run.kind == DiscoveryRun.Kind.FULL else discovery.delta_discovery(run)
    except DiscoveryBusy as busy:
        fail(run, str(busy))
        return f"Discovery run {run_id} not started: {busy}"
    if run.state == DiscoveryRun.State.SUCCEEDED:
        return (f"{run.get_kind_display()} of {run.connector.name}: {run.devices_seen} read, {run.devices_added} added, "
                f"{run.devices_changed} changed, {run.devices_missing} missing, {run.devices_ignored} ignored.")
    return f"{run.get_kind_display()} of {run.connector.name} failed: {run.error}"


def scheduled_discovery(connector_id: int, kind: str) -> str:
    """The connector's schedule: start a discovery unless one is already queued or running."""
    connector = ExchangeConnector.objects.filter(pk=connector_id).first()
    if connector is None:
        return f"Connector {connector_id} was deleted."
    if connector.state != ExchangeConnector.State.INSTALLED:
        return f"Connector {connector.name} is not installed; the scheduled {kind} discovery is skipped."
    discovery.fail_stale_runs(connector_id=connector_id)
    if DiscoveryRun.objects.filter(connector=connector, state__in=ACTIVE).exists():
        easdisc.info(f"Scheduled {kind} discovery of {connector.name} skipped: another discovery is running")
        return f"Skipped: a discovery of {connector.name} is already running."
    run = DiscoveryRun.objects.create(connector=connector, kind=kind)
    return run_discovery(run.pk)


def fail_stale_runs() -> str:
    return f"{discovery.fail_stale_runs()} stale discovery runs marked failed."


def purge_missing_devices() -> str:
    return f"{discovery.purge_missing_devices()} devices missing from Exchange purged."


def take_fleet_snapshot() -> str:
    """The daily schedule: today's point of the trend charts (a full discovery takes it again)."""
    snapshot = history.snapshot_take()
    return f"Fleet snapshot of {snapshot.date}: {snapshot.total} devices."
