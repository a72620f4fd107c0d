"""Failed discoveries leave no runspace pool open on Exchange (PowerShellMaxConcurrency counts them)."""
import dataclasses

import pytest

from devices import discovery
from devices.discovery import staging
from devices.models import DiscoveryRun
from easconsole import logs
from easconsole.exchange.simulator.testing import DEFAULT_ACCOUNT, running_simulator, wait_until
from easconsole.models import ExchangeConnector
from easconsole.services import connectors
from tests.console import installed_connector, new_run

pytestmark = [pytest.mark.django_db, pytest.mark.simulator]


@pytest.fixture(scope="module")
def exchange():
    with running_simulator(devices=600, seed=11) as sim:
        yield sim


@pytest.fixture
def control(control, exchange):
    yield control
    for server in exchange.org.servers:
        exchange.set_latency(server.name, 0)
    control.reset()


def open_pools(control) -> int:
    return control.state()["open_pools"].get(DEFAULT_ACCOUNT[0], 0)


def stop_server(control):
    control.stop_server("EXCAS01")


def deny_statistics(control):
    control.deny(DEFAULT_ACCOUNT[0], ["Get-ActiveSyncDeviceStatistics"])


def devices_read(run) -> bool:
    return run.devices_seen >= 50


def mailboxes_read(run) -> bool:  # the statistics pipeline has not started yet
    return run.phase == "Reading devices and statistics"


def slow_server(control):
    control.latency(3, server="EXCAS01")  # longer than the read timeout below


def drop_connections(control):
    control.drop_connections("EXCAS01")


@pytest.mark.parametrize(("auth", "fault", "when"), [
    ("basic", stop_server, devices_read),  # a server stopped mid-read
    ("basic", deny_statistics, mailboxes_read),  # a cmdlet denied mid-way
    ("basic", slow_server, devices_read),  # a read timeout
    ("ntlm", drop_connections, devices_read),  # an encrypted connection dropped mid-read: pypsrp cannot reuse it
], ids=["server-stopped", "cmdlet-denied", "read-timeout", "ntlm-connection-dropped"])
def test_a_failed_discovery_leaves_no_pool_open(exchange, control, monkeypatch, auth, fault, when):
    connector = installed_connector(exchange, install=False)
    ExchangeConnector.objects.filter(pk=connector.pk).update(authentication=auth)
    settings_of = connectors.connection_settings
    monkeypatch.setattr(connectors, "connection_settings", lambda c, **kw: dataclasses.replace(
        settings_of(c, **kw), connect_timeout=2, operation_timeout=1, read_timeout=2))
    monkeypatch.setattr(staging, "BATCH_SIZE", 50)
    done = []

    def mid_read(run):
        if when(run) and not done:
            fault(control)
            done.append(run.devices_seen)

    run = discovery.full_discovery(new_run(connector), on_progress=mid_read)

    assert done and run.state == DiscoveryRun.State.FAILED, run.error
    for server in exchange.org.servers:
        exchange.set_latency(server.name, 0)
    wait_until(lambda: open_pools(control) == 0, timeout=10, message=str(control.state()["shells"]))
    if fault is stop_server:  # the pool could not be closed (its server went down with it): said in EasDisc.log
        [line] = logs.tail("EasDisc.log", min_severity=2, text="Could not close runspace pool")
        assert "EXCAS01" in line.message or exchange.server_address("EXCAS01") in line.message


def test_a_successful_discovery_leaves_no_pool_open(exchange, control):
    run = discovery.full_discovery(new_run(installed_connector(exchange, install=False)))
    assert run.state == DiscoveryRun.State.SUCCEEDED, run.error
    assert open_pools(control) == 0
