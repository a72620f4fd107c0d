"""Failover through the simulator: servers stopped, hung or refusing the account."""
from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from typing import Any, Iterator

import pytest

from easconsole.exchange.errors import ExchangeConnectionError
from easconsole.exchange.gateway import PsrpGateway
from easconsole.exchange.simulator.testing import DEFAULT_ACCOUNT, ControlClient, make_organization, running_simulator
from easconsole.exchange.values import ServerInfo

from .conftest import CallLog, settings_for

pytestmark = pytest.mark.simulator
NOW = dt.datetime(2026, 1, 15, 12, 0, tzinfo=dt.timezone.utc)
SERVERS = ("EXCAS01", "EXCAS02", "EXCAS03", "EXMBX01", "EXMBX02")
DEAD_SERVER_BOUND = 10.0  # seconds: generous, yet far below pypsrp's multi-minute default


@pytest.fixture(scope="module")
def sim() -> Iterator[Any]:
    with running_simulator(make_organization(devices=3000, seed=5, now=NOW)) as running:
        yield running


@pytest.fixture(autouse=True)
def all_servers_running(sim: Any) -> Iterator[None]:
    yield
    for name in SERVERS:
        if not sim.listeners[name].running:
            sim.start_server(name)
        sim.set_latency(name, 0)


@pytest.fixture(scope="module")
def known(sim: Any) -> list[ServerInfo]:
    """What the console would have persisted after an earlier successful connection."""
    with PsrpGateway(settings_for(sim, sites={"HQ": "EXCAS01"})) as gw:
        return gw.known_servers


def runspace_warnings(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records
            if r.name == "easconsole.easdisc" and r.getMessage().startswith("Failed to open runspace")]


def test_configured_cas_stopped_uses_another_cas_of_the_site(sim: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="easconsole.easdisc")
    sim.stop_server("EXCAS01")
    # No remembered servers: the site's other CAS is discovered through the Branch site's CAS.
    with PsrpGateway(settings_for(sim, auth="ntlm")) as gw:
        assert (gw.current_server, gw.current_site) == ("EXCAS02", "HQ")
        assert gw.organization().name == "Contoso"
        assert {s.name for s in gw.known_servers} == set(SERVERS)
    warnings = runspace_warnings(caplog)
    assert [w.getMessage() for w in warnings] == ["Failed to open runspace for site HQ"]
    assert warnings[0].levelno == logging.WARNING
    assert warnings[0].server == sim.server_address("EXCAS01") and "refused" in warnings[0].reason  # type: ignore[attr-defined]


def test_every_cas_of_the_site_stopped_uses_a_mailbox_server(sim: Any, known: list[ServerInfo],
                                                               caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="easconsole.easdisc")
    sim.stop_server("EXCAS01")
    sim.stop_server("EXCAS02")
    with PsrpGateway(settings_for(sim, sites={"HQ": "EXCAS01"}), known_servers=known) as gw:
        assert (gw.current_server, gw.current_site) == ("EXMBX01", "HQ")
        assert list(gw.devices(result_size=5))
    tried = [w.server for w in runspace_warnings(caplog)]  # type: ignore[attr-defined]
    assert tried == ["EXCAS01", "EXCAS02"]


def test_a_site_with_nothing_left_falls_to_the_next_site(sim: Any, known: list[ServerInfo]) -> None:
    for name in ("EXCAS01", "EXCAS02", "EXMBX01"):
        sim.stop_server(name)
    with PsrpGateway(settings_for(sim), known_servers=known) as gw:
        assert (gw.current_server, gw.current_site) == ("EXCAS03", "Branch")


def test_all_stopped_fails_quickly(sim: Any, known: list[ServerInfo], caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="easconsole.easdisc")
    for name in SERVERS:
        sim.stop_server(name)
    started = time.monotonic()
    with pytest.raises(ExchangeConnectionError) as caught:
        PsrpGateway(settings_for(sim), known_servers=known).open()
    elapsed = time.monotonic() - started
    assert elapsed < DEAD_SERVER_BOUND, elapsed
    assert caught.value.kind == "unreachable" and "no Exchange server answered" in str(caught.value)
    assert len(runspace_warnings(caplog)) == 5  # HQ: two CAS and a mailbox server; Branch: a CAS and a mailbox


def test_hung_server_is_left_after_the_read_timeout(sim: Any, known: list[ServerInfo]) -> None:
    sim.set_latency("EXCAS01", 30)  # accepts connections but answers nothing in time
    settings = settings_for(sim, sites={"HQ": "EXCAS01"}, connect_timeout=2, operation_timeout=2, read_timeout=3)
    started = time.monotonic()
    with PsrpGateway(settings, known_servers=known) as gw:
        assert gw.current_server == "EXCAS02"
    assert time.monotonic() - started < DEAD_SERVER_BOUND


def test_server_stopped_mid_stream_is_a_clean_connection_error(sim: Any) -> None:
    with PsrpGateway(settings_for(sim, auth="ntlm")) as gw:
        seen = 0
        with pytest.raises(ExchangeConnectionError) as caught:
            for _ in gw.devices():
                seen += 1
                if seen == 200:
                    threading.Thread(target=sim.stop_server, args=("EXCAS01",)).start()
        assert 200 <= seen < 3000
        assert caught.value.cmdlet == "Get-ActiveSyncDevice" and caught.value.server == "EXCAS01"
        # The next operation fails over and works.
        assert gw.organization().name == "Contoso" and gw.current_server == "EXCAS02"


def test_a_write_after_the_server_died_is_sent_once_to_another_server(sim: Any) -> None:
    control = ControlClient.for_simulator(sim)
    with PsrpGateway(settings_for(sim, auth="ntlm")) as gw:
        device = next(iter(gw.devices(result_size=1)))
        sim.stop_server("EXCAS01")
        log = CallLog(control)
        log.mark()
        result = gw.wipe(device.identity)
        assert result.server == "EXCAS02"
        assert log.only("Clear-ActiveSyncDevice")["server"] == "EXCAS02"
        gw.cancel_wipe(device.identity)
    control.close()


def test_bad_password_does_not_fail_over(sim: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="easconsole.easdisc")
    settings = settings_for(sim, auth="ntlm", account=(DEFAULT_ACCOUNT[0], "not-the-password"))
    with pytest.raises(ExchangeConnectionError) as caught:
        PsrpGateway(settings).open()
    assert caught.value.kind == "authentication" and caught.value.server == sim.server_address("EXCAS01")
    assert "401" in str(caught.value)
    assert runspace_warnings(caplog) == []


def test_a_write_after_the_server_restarted_is_retried_on_a_new_session(sim: Any) -> None:
    control = ControlClient.for_simulator(sim)
    with PsrpGateway(settings_for(sim, auth="ntlm")) as gw:
        device = next(iter(gw.devices(result_size=1)))
        sim.stop_server("EXCAS01")  # its runspace pools are gone
        sim.start_server("EXCAS01")
        log = CallLog(control)
        log.mark()
        result = gw.wipe(device.identity)
        assert result.server == "EXCAS01" and log.only("Clear-ActiveSyncDevice")["server"] == "EXCAS01"
        gw.cancel_wipe(device.identity)
    control.close()
