"""Full discovery reading the devices and the statistics in reader processes (EASCONSOLE_DISCOVERY_READERS,
3 by default; 2 reads only the statistics apart), through the product's pypsrp transport against the
simulator: the same inventory as one reader, the readers at work while the mailboxes are read, sessions
closed, a reader killed mid-read fails the run cleanly, one session when no second one can be had, the
reader's failover and log lines, and a real django-q2 worker."""
import multiprocessing
import os
import signal

import pytest

from devices import discovery
from devices.discovery import discovery_request, staging
from devices.models import Device, DiscoveryRun, DiscoveryStagedDevice
from easconsole import logs
from easconsole.exchange import parsing
from easconsole.exchange.parallel import ChildReader
from easconsole.exchange.simulator.testing import DEFAULT_ACCOUNT, running_simulator, wait_until
from easconsole.exchange.transport import CLOSE_TIMEOUT_SECONDS
from easconsole.models import ExchangeConnector
from tests.console import installed_connector, new_run
from tests.exchange.conftest import settings_for

pytestmark = [pytest.mark.django_db, pytest.mark.simulator]

ODD = "😀 山田 עברית \u202egnp"
# What differs between two connectors' rows of one device, or between two runs.
NOT_COMPARED = {"id", "connector", "first_discovered", "last_discovered"}


@pytest.fixture(scope="module")
def exchange():
    with running_simulator(devices=400, seed=21) as sim:
        yield sim


@pytest.fixture(autouse=True)
def parallel_at_any_size(settings):
    """The default readers (the suite reads on one session), whatever the organization's size (small here)."""
    settings.EASCONSOLE_DISCOVERY_READERS = 3
    settings.EASCONSOLE_DISCOVERY_PARALLEL_FROM = 0


@pytest.fixture
def control(control, exchange):
    yield control
    exchange.set_latency("EXCAS02", 0)
    control.throttle(DEFAULT_ACCOUNT[0], max_sessions=18)  # Exchange's default PowerShellMaxConcurrency
    control.reset()


def open_pools(control) -> int:
    return control.state()["open_pools"].get(DEFAULT_ACCOUNT[0], 0)


def inventory(connector) -> dict:
    fields = [f.attname for f in Device._meta.concrete_fields if f.name not in NOT_COMPARED]
    return {row["exchange_guid"]: row for row in Device.objects.filter(connector=connector).values(*fields)}


def readers_running() -> list:
    return [p for p in multiprocessing.active_children() if p.name.startswith("easconsole-reader")]


@pytest.mark.parametrize("readers", [2, 3])
def test_reader_processes_store_exactly_what_one_reader_stores(exchange, control, settings, monkeypatch, readers):
    surrogate, nul = (d["identity"] for d in control.devices(limit=2)["devices"])
    control.change_device(surrogate, FriendlyName=f"Anna\ud800s phone {ODD}", DeviceUserAgent="Apple-iPhone\udc00/1")
    control.change_device(nul, DeviceUserAgent="Android\x00/14", FriendlyName=f"Tab\tlet\x00 {ODD}")
    control.add_user(alias="znull", name="Zoe\x00 Null\ud800")
    control.add_device("znull", device_type="Android", FriendlyName=f"Zoe's {ODD}")
    total = control.devices(limit=1)["total"]
    one = installed_connector(exchange, name="One reader", install=False)
    two = installed_connector(exchange, name="Readers")  # installed: knows the site's other servers
    settings.EASCONSOLE_DISCOVERY_READERS = 1
    assert discovery.full_discovery(new_run(one)).state == DiscoveryRun.State.SUCCEEDED
    assert open_pools(control) == 0
    settings.EASCONSOLE_DISCOVERY_READERS = readers
    monkeypatch.setattr(staging, "BATCH_SIZE", 20)  # progress is looked at while both streams are read,
    control.latency(0.2, server="EXCAS02")  # and the second server answers slower, so both are seen open
    since = control.calls()[-1]["seq"]
    seen = []

    def while_reading(run):
        if run.phase == "Reading devices and statistics" and run.devices_seen:
            seen.append((open_pools(control), len(readers_running())))

    run = discovery.full_discovery(new_run(two), on_progress=while_reading)

    assert run.state == DiscoveryRun.State.SUCCEEDED, run.error
    assert run.devices_seen == run.devices_added == total
    # Reader processes at work, with sessions of their own (one may have read everything already and be
    # sending what it holds, its session closed).
    assert max(processes for _, processes in seen) == readers - 1 and max(pools for pools, _ in seen) >= 2, seen
    ones, twos = inventory(one), inventory(two)
    diff = {(g, k, ones[g][k], twos[g].get(k)) for g in ones for k in ones[g] if twos.get(g, {}).get(k) != ones[g][k]}
    assert not diff, sorted(diff, key=str)[:10]
    assert twos == ones and len(ones) == total
    zoe = Device.objects.get(connector=two, mailbox="znull")
    assert zoe.friendly_name == f"Zoe's {ODD}" and zoe.user_display_name == "Zoe Null\ufffd"
    assert Device.objects.get(connector=two, identity=surrogate).device_user_agent == "Apple-iPhone\ufffd/1"
    calls = control.calls(since)
    parent_on = {c["server"] for c in calls if c["cmdlet"] == "Get-Mailbox"}
    statistics_on = {c["server"] for c in calls if c["cmdlet"] == "Get-ActiveSyncDeviceStatistics"}
    assert len(parent_on) == 1 and statistics_on and not statistics_on & parent_on, (parent_on, statistics_on)
    assert open_pools(control) == 0 and not readers_running()


def test_the_readers_are_at_work_before_the_mailboxes_are_read(exchange, control):
    connector = installed_connector(exchange)
    since = control.since

    run = discovery.full_discovery(new_run(connector))

    assert run.state == DiscoveryRun.State.SUCCEEDED, run.error
    assert run.devices_seen == control.devices(limit=1)["total"]
    calls = control.calls(since)
    mailboxes = next(c["seq"] for c in calls if c["cmdlet"] == "Get-Mailbox")
    before = [(c["cmdlet"], c["server"]) for c in calls if c["seq"] < mailboxes
              and c["cmdlet"] in ("Get-ActiveSyncDevice", "Get-ActiveSyncDeviceStatistics")]
    assert sorted(before) == [("Get-ActiveSyncDevice", "EXCAS01"), ("Get-ActiveSyncDevice", "EXCAS02"),
                              ("Get-ActiveSyncDeviceStatistics", "EXCAS02")], before
    assert open_pools(control) == 0 and not readers_running()


def test_a_reader_keeps_what_it_read_ahead_until_the_worker_takes_it(exchange, control):
    """A reader that has read everything (its session closed) waits for a slow worker, however long."""
    pipeline = [("Get-ActiveSyncDevice", [("ResultSize", "Unlimited")]),
                ("Select-Object", [("Property", list(parsing.DEVICE_PROPERTIES))])]  # more than a pipe holds
    reader = ChildReader(settings_for(exchange), [], pipeline, parse="device")
    assert reader.start() and reader.started()
    try:
        wait_until(lambda: open_pools(control) == 0, timeout=30, message="the reader read everything, its session closed")
        reader.process.join(CLOSE_TIMEOUT_SECONDS + 1)  # longer than any wait of its own
        assert reader.process.is_alive()  # still holding what it read for the worker
        devices = list(reader)
    finally:
        reader.close()
    assert len(devices) == control.devices(limit=1)["total"] and all(d.guid for d in devices)


def test_a_reader_killed_mid_read_fails_the_run_cleanly_and_the_next_run_works(exchange, control, monkeypatch):
    connector = installed_connector(exchange)  # the reader goes to EXCAS02, slower: it is killed mid-read
    control.latency(0.2, server="EXCAS02")
    monkeypatch.setattr(staging, "BATCH_SIZE", 20)
    killed = []

    def kill_reader(run):
        if run.devices_seen and not killed:
            for process in readers_running():
                os.kill(process.pid, signal.SIGKILL)
                killed.append(process.pid)

    run = discovery.full_discovery(new_run(connector), on_progress=kill_reader)

    assert killed and run.state == DiscoveryRun.State.FAILED
    assert "the process reading it in a second session stopped (exit code -9)" in run.error, run.error
    assert run.devices_seen < 400 and not Device.objects.filter(connector=connector).exists()
    assert not DiscoveryStagedDevice.objects.filter(run=run).exists()
    assert any("The inventory was left as it was" in line.message for line in logs.tail("EasDisc.log", min_severity=3))
    wait_until(lambda: open_pools(control) == 0, timeout=10, message=str(control.state()["shells"]))
    monkeypatch.undo()
    exchange.set_latency("EXCAS02", 0)

    again = discovery.full_discovery(new_run(connector))

    assert again.state == DiscoveryRun.State.SUCCEEDED, again.error
    assert Device.objects.filter(connector=connector).count() == control.devices(limit=1)["total"]
    assert open_pools(control) == 0 and not readers_running()


def test_without_a_spare_session_the_statistics_are_read_in_one_session(exchange, control, monkeypatch):
    connector = installed_connector(exchange, install=False)
    monkeypatch.setattr(staging, "BATCH_SIZE", 50)
    ExchangeConnector.objects.filter(pk=connector.pk).update(max_concurrency=1)
    seen = []

    def while_reading(run):
        if run.phase == "Reading devices and statistics" and run.devices_seen:
            seen.append((open_pools(control), len(readers_running())))

    run = discovery.full_discovery(new_run(connector), on_progress=while_reading)

    assert run.state == DiscoveryRun.State.SUCCEEDED, run.error
    assert len(seen) > 2 and all(pair == (1, 0) for pair in seen)
    assert run.devices_seen == control.devices(limit=1)["total"]


def test_when_exchange_refuses_a_second_session_everything_is_read_in_one(exchange, control):
    connector = installed_connector(exchange, install=False)
    control.throttle(DEFAULT_ACCOUNT[0], max_sessions=1)  # PowerShellMaxConcurrency reached with one pool

    run = discovery.full_discovery(new_run(connector))

    assert run.state == DiscoveryRun.State.SUCCEEDED, run.error
    assert run.devices_seen == control.devices(limit=1)["total"]
    [line] = logs.tail("EasDisc.log", text="was not possible")
    assert "in one session" in line.message
    assert open_pools(control) == 0 and not readers_running()


def test_the_reader_fails_over_like_the_worker_and_its_warnings_reach_easdisc_log(exchange, control):
    connector = installed_connector(exchange)
    control.stop_server("EXCAS02")  # the server the reader would take

    run = discovery.full_discovery(new_run(connector))

    assert run.state == DiscoveryRun.State.SUCCEEDED, run.error
    assert run.devices_seen == control.devices(limit=1)["total"]
    [line] = logs.tail("EasDisc.log", min_severity=2, text="Server EXCAS02")  # logged in the reader process
    assert "could not be used" in line.message
    assert not logs.tail("EasDisc.log", text="was not possible")  # it read on another server instead
    assert open_pools(control) == 0


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_reads_with_reader_processes(exchange, control, start_qcluster):
    connector = installed_connector(exchange, install=False)
    since = control.since
    run = discovery_request(connector=connector, kind="full", user=None)
    start_qcluster(EASCONSOLE_DISCOVERY_READERS="3")  # django-q2 workers are daemonic unless told otherwise, and then may start no process

    wait_until(lambda: DiscoveryRun.objects.get(pk=run.pk).state in (DiscoveryRun.State.SUCCEEDED, DiscoveryRun.State.FAILED),
               timeout=60, message="the worker ran the discovery")
    run.refresh_from_db()
    assert run.state == DiscoveryRun.State.SUCCEEDED, run.error
    assert Device.objects.filter(connector=connector).count() == control.devices(limit=1)["total"]
    calls = control.calls(since)
    parent_on = {c["server"] for c in calls if c["cmdlet"] == "Get-Mailbox"}
    statistics_on = {c["server"] for c in calls if c["cmdlet"] == "Get-ActiveSyncDeviceStatistics"}
    assert len(parent_on) == 1 and statistics_on and not statistics_on & parent_on, (parent_on, statistics_on)
    assert not logs.tail("EasDisc.log", text="was not possible")
    wait_until(lambda: open_pools(control) == 0, timeout=10, message=str(control.state()["shells"]))


def test_an_organization_found_smaller_than_the_threshold_is_read_on_one_session(exchange, control, settings):
    settings.EASCONSOLE_DISCOVERY_PARALLEL_FROM = 2_000  # the default: 400 devices here
    connector = installed_connector(exchange, install=False)
    first = []
    assert discovery.full_discovery(new_run(connector), on_progress=lambda run: first.append(len(readers_running()))).state \
        == DiscoveryRun.State.SUCCEEDED
    assert any(first)  # its size unknown, the first discovery read with reader processes
    since = control.calls()[-1]["seq"]
    seen = []

    run = discovery.full_discovery(new_run(connector), on_progress=lambda run: seen.append(len(readers_running())))

    assert run.state == DiscoveryRun.State.SUCCEEDED, run.error
    assert seen and not any(seen)
    calls = control.calls(since)
    assert {c["server"] for c in calls if c["cmdlet"] == "Get-ActiveSyncDeviceStatistics"} <= \
        {c["server"] for c in calls if c["cmdlet"] == "Get-Mailbox"}
