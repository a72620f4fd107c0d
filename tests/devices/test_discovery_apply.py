"""Applying a run: what it counts as added and changed, batch after batch."""
import pytest

from devices import discovery
from devices.discovery import apply, staging
from devices.discovery.apply import apply_run
from devices.models import Device, DiscoveryRun
from easconsole.exchange.simulator.testing import running_simulator
from easconsole.services import connectors
from tests.console import installed_connector, new_run

pytestmark = [pytest.mark.django_db, pytest.mark.simulator]


@pytest.fixture(scope="module")
def exchange():
    with running_simulator(devices=12, seed=3) as sim:
        yield sim


def _apply_read_twice(connector, pairs):
    """Apply a run that read every device twice, in different batches (as two overlapping containers do)."""
    run = new_run(connector)
    discovery.runs.claim(run)
    stager = staging.DeviceStager(run, lambda keys: {}, ignore_inactive_days=999)
    for _ in range(2):
        for device, stats in pairs:
            stager.add(device, stats)
        stager.flush()
    applied = apply_run(run, connector)
    DiscoveryRun.objects.filter(pk=run.pk).update(state=DiscoveryRun.State.SUCCEEDED)
    return applied


def test_a_device_read_twice_counts_once_in_a_first_and_in_a_later_discovery(exchange, monkeypatch):
    monkeypatch.setattr(apply, "BATCH_SIZE", 5)
    connector = installed_connector(exchange, install=False)
    with connectors.connector_gateway(connector) as gateway:
        pairs = list(gateway.devices_with_statistics())

    first = _apply_read_twice(connector, pairs)
    stored = {d.exchange_guid: d for d in Device.objects.filter(connector=connector)}
    again = _apply_read_twice(connector, pairs)

    assert (first.added, first.changed, len(stored)) == (len(pairs), 0, len(pairs))
    assert (again.added, again.changed, again.missing) == (0, 0, 0)
    assert {d.exchange_guid for d in Device.objects.filter(connector=connector)} == {p[0].guid for p in pairs}
