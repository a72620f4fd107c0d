"""Runspace pools are closed on Exchange after failures, and those left behind are reclaimed.

Through the product's pypsrp code against the simulator, whose control API counts the open pools
per account (what Exchange's PowerShellMaxConcurrency counts).
"""
from __future__ import annotations

import dataclasses
import json
import logging
import os
import signal
import socket
import subprocess
from typing import Any, Iterator

import pytest
from pypsrp.powershell import RunspacePool

from easconsole.exchange import pools, shells
from easconsole.exchange.errors import ExchangeConnectionError
from easconsole.exchange.gateway import PsrpGateway
from easconsole.exchange.simulator.testing import (DEFAULT_ACCOUNT, ControlClient, running_simulator, wait_until,
                                                   wsman_for)
from easconsole.exchange.transport import Session

from .conftest import console_process_holding_a_pool, settings_for

pytestmark = pytest.mark.simulator
ACCOUNT = DEFAULT_ACCOUNT[0]


@pytest.fixture(scope="module")
def sim() -> Iterator[Any]:
    with running_simulator(devices=400, seed=3) as running:
        yield running


@pytest.fixture
def control(sim: Any) -> Iterator[ControlClient]:
    client = ControlClient.for_simulator(sim)
    yield client
    for name in sim.listeners:
        sim.set_latency(name, 0)
        if not sim.listeners[name].running:
            sim.start_server(name)
    client.close()


def open_pools(control: ControlClient) -> int:
    return control.state()["open_pools"].get(ACCOUNT, 0)


def no_pools_left(control: ControlClient) -> None:
    wait_until(lambda: open_pools(control) == 0, timeout=10, message=f"pools still open: {control.state()['shells']}")


def close_warnings(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records
            if r.name == "easconsole.easdisc" and r.getMessage().startswith("Could not close runspace pool")]


def read_until_broken(gw: PsrpGateway, break_it: Any) -> None:
    seen = 0
    with pytest.raises(ExchangeConnectionError):
        for _ in gw.devices():
            seen += 1
            if seen == 50:
                break_it()


# ---- every failure closes its pool on the server ------------------------------------------------------
def test_a_dropped_ntlm_connection_mid_read_leaves_no_pool(sim: Any, control: ControlClient,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    # pypsrp cannot reuse an encrypted session whose keep-alive connection the server dropped: the
    # pool must be deleted through a new connection.
    with PsrpGateway(settings_for(sim, auth="ntlm", sites={"HQ": "EXCAS01"})) as gw:
        read_until_broken(gw, lambda: control.drop_connections("EXCAS01"))
        assert open_pools(control) == 0  # closed at the failure, not only when the gateway closes
    no_pools_left(control)
    assert not close_warnings(caplog)


def test_a_read_timeout_leaves_no_pool(sim: Any, control: ControlClient) -> None:
    settings = settings_for(sim, sites={"HQ": "EXCAS01"}, connect_timeout=2, operation_timeout=1, read_timeout=2)
    with PsrpGateway(settings) as gw:
        read_until_broken(gw, lambda: control.latency(3, server="EXCAS01"))  # slow, not dead
    control.latency(0, server="EXCAS01")
    no_pools_left(control)


def test_failover_after_a_failure_keeps_only_the_pool_in_use(sim: Any, control: ControlClient) -> None:
    with PsrpGateway(settings_for(sim, auth="ntlm")) as gw:
        read_until_broken(gw, lambda: control.drop_connections("EXCAS01"))
        sim.stop_server("EXCAS01")
        assert gw.organization().name == "Contoso" and gw.current_server != "EXCAS01"
        assert open_pools(control) == 1  # the one this gateway uses now
    no_pools_left(control)


def test_a_close_that_fails_is_logged_with_the_server_and_shell(sim: Any, control: ControlClient,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="easconsole.easdisc")
    session = Session(settings_for(sim, sites={"HQ": "EXCAS01"}), sim.server_address("EXCAS01"), "EXCAS01").open()
    shell_id = session.pool.id
    sim.stop_server("EXCAS01")  # unreachable: neither the old nor a new connection can close it
    session.close()
    [warning] = close_warnings(caplog)
    assert warning.levelno == logging.WARNING
    assert (warning.server, warning.shell_id) == ("EXCAS01", shell_id)  # type: ignore[attr-defined]
    assert shell_id in warning.getMessage() and "EXCAS01" in warning.getMessage()
    assert "refused" in warning.reason  # type: ignore[attr-defined]


# ---- reclaiming -----------------------------------------------------------------------------------------
@pytest.fixture
def worker(sim: Any) -> Iterator[tuple[subprocess.Popen, str]]:
    """Another console process on this host holding a pool on EXCAS01; killed by the test or at the end."""
    with console_process_holding_a_pool(sim, "EXCAS01") as held:
        yield held


def test_a_pool_left_by_a_killed_worker_is_reclaimed_and_a_live_workers_is_not(
        sim: Any, control: ControlClient, worker: tuple[subprocess.Popen, str], caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="easconsole.easdisc")
    process, shell_id = worker
    settings = settings_for(sim)
    servers = [sim.server_address(n) for n in ("EXCAS01", "EXCAS02", "EXCAS03")]

    report = pools.reclaim(settings, servers)
    assert (report.reclaimed, report.in_use) == ([], 1)  # its process runs: in use
    assert open_pools(control) == 1

    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    report = pools.reclaim(settings, servers)
    assert report.reclaimed == [(sim.server_address("EXCAS01"), shell_id,
                                 f"its process {process.pid} on {socket.gethostname()} is gone")]
    assert open_pools(control) == 0
    [line] = [r for r in caplog.records if r.getMessage().startswith("Reclaimed runspace pool")]
    assert shell_id in line.getMessage() and line.name == "easconsole.easdisc"


def test_pools_of_a_running_operation_are_never_reclaimed(sim: Any, control: ControlClient) -> None:
    settings = settings_for(sim, sites={"HQ": "EXCAS01"})
    with PsrpGateway(settings) as gw:
        devices = gw.devices()
        next(devices)  # the pipeline is running on the pool
        # Even with no inactivity allowed at all, this process's live pool stays.
        report = pools.reclaim(settings, [sim.server_address("EXCAS01")], stale_after=0)
        assert (report.reclaimed, report.in_use) == ([], 1)
        assert len([next(devices) for _ in range(100)]) == 100  # the operation goes on
        devices.close()
    no_pools_left(control)


def test_this_processs_pool_no_session_holds_is_reclaimed_and_other_tools_pools_are_not(
        sim: Any, control: ControlClient) -> None:
    wsman = wsman_for(sim, *DEFAULT_ACCOUNT, server="EXCAS03")
    orphan = RunspacePool(wsman, configuration_name="Microsoft.Exchange")
    orphan.shell.name = shells.shell_name()  # ours, but no Session holds it (as after a close that failed)
    orphan.open()
    foreign = RunspacePool(wsman, configuration_name="Microsoft.Exchange")  # an admin's own PowerShell
    foreign.open()
    report = pools.reclaim(settings_for(sim), [sim.server_address("EXCAS03")], stale_after=0)
    assert [(shell, why) for _, shell, why in report.reclaimed] == [(orphan.id, "left by this process")]
    assert [s["shell_id"].upper() for s in control.state()["shells"]] == [foreign.id]
    foreign.close()


def test_an_unreachable_server_is_reported_not_raised(sim: Any, control: ControlClient) -> None:
    sim.stop_server("EXCAS03")
    report = pools.reclaim(settings_for(sim), [sim.server_address("EXCAS03"), sim.server_address("EXCAS01")])
    assert [server for server, _ in report.failed] == [sim.server_address("EXCAS03")]
    assert "refused" in report.failed[0][1]


# ---- the rules, without a server ------------------------------------------------------------------------
ME = shells.Owner("worker-a", 100, "aaaa")


def shell(name: str, inactivity: float = 0.0, uri: str = shells.EXCHANGE_URI) -> shells.ShellInfo:
    return shells.ShellInfo("S1", name, uri, ACCOUNT, "10.0.0.5", "Connected", inactivity)


@pytest.mark.parametrize(("name", "inactivity", "gone", "expected"), [
    ("Runspace1", 10_000, True, None),  # not the console's
    ("EASConsole:worker-a:100:aaaa", 10_000, False, "left by this process"),
    ("EASConsole:worker-a:7:bbbb", 5, True, "its process 7 on worker-a is gone"),
    ("EASConsole:worker-b:7:bbbb", 5, False, None),  # another host's worker, active
    ("EASConsole:worker-b:7:bbbb", 1800, False, "inactive for 30 min"),
    ("EASConsole:worker-a:8:cccc", 1799, False, None),  # a live worker of this host, idle but not stale
])
def test_which_shells_are_reclaimed(name: str, inactivity: float, gone: bool, expected: str | None) -> None:
    why = pools.why_reclaim(shell(name, inactivity), live=frozenset(), me=ME, gone=lambda host, pid: gone)
    assert why == expected


def test_a_live_shell_of_this_process_and_a_shell_of_another_endpoint_are_kept() -> None:
    live = frozenset({"S1"})
    assert pools.why_reclaim(shell("EASConsole:worker-a:100:aaaa", 10_000), live=live, me=ME) is None
    other_endpoint = shell("EASConsole:worker-b:7:bbbb", 10_000, uri="http://schemas.microsoft.com/powershell/Microsoft.PowerShell")
    assert pools.why_reclaim(other_endpoint, live=frozenset(), me=ME) is None


def test_shell_names_survive_the_round_trip_and_durations_parse() -> None:
    assert shells.parse_name(shells.shell_name()) == shells.me()
    assert shells.parse_name("EASConsole:host:notapid:x") is None
    assert shells.seconds("P0DT1H2M3S") == 3723 and shells.seconds("PT60.000S") == 60
    assert shells.seconds("P2DT0H0M0S") == 172800 and shells.seconds("") is None and shells.seconds("soon") is None


def test_a_forked_worker_gets_its_own_identity_and_no_live_shells() -> None:
    shells.in_use("ABC")
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report what it sees, then leave at once
        os.write(write, json.dumps([shells.shell_name(), sorted(shells.live_shells())]).encode())
        os._exit(0)
    os.waitpid(pid, 0)
    child_name, child_live = json.loads(os.read(read, 4096))
    shells.released("ABC")
    assert child_live == [] and shells.parse_name(child_name).pid == pid
    assert shells.parse_name(child_name).token != shells.me().token


def test_settings_for_closing_are_bounded() -> None:
    from easconsole.exchange.transport import CLOSE_TIMEOUT_SECONDS, close_options

    settings = dataclasses.replace(settings_for_plain(), connect_timeout=30, read_timeout=300, operation_timeout=250)
    options = close_options(settings, "cas.contoso.com")
    assert options["read_timeout"] == CLOSE_TIMEOUT_SECONDS and options["connection_timeout"] == CLOSE_TIMEOUT_SECONDS
    assert options["operation_timeout"] < options["read_timeout"]


def settings_for_plain():
    from easconsole.exchange.values import ConnectionSettings

    return ConnectionSettings(sites={"HQ": "cas.contoso.com"}, username="u", password="p", auth="basic")

