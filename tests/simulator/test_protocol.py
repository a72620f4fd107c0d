"""pypsrp 0.9.1 against the simulator's WSMan/PSRP endpoint, with a stub engine behind it."""
from __future__ import annotations

import threading
import time
import uuid

import pytest
import requests
from pypsrp.exceptions import AuthenticationError, WSManFaultError
from pypsrp.powershell import PowerShell, PSInvocationState, RunspacePool

from easconsole.exchange.simulator import wsman as wsman_mod
from easconsole.exchange.simulator.testing import running_simulator, wait_until, wsman_for

from .conftest import ADMIN, OTHER, StubOrganization

pytestmark = pytest.mark.simulator
EXCHANGE = "Microsoft.Exchange"


def run(pool: RunspacePool, cmdlet: str, **params: object) -> PowerShell:
    ps = PowerShell(pool)
    ps.add_cmdlet(cmdlet)
    for name, value in params.items():
        ps.add_parameter(name, value)
    ps.invoke()
    return ps


@pytest.mark.parametrize("auth", ["basic", "ntlm", "negotiate"])  # negotiate: NTLM inside SPNEGO
def test_records_round_trip_through_pypsrp(stub_sim, auth):
    with RunspacePool(wsman_for(stub_sim, *ADMIN, auth=auth), configuration_name=EXCHANGE) as pool:
        ps = run(pool, "Get-Thing", Count=3)
    assert not ps.had_errors and ps.state == PSInvocationState.COMPLETED
    assert len(ps.output) == 3
    first = ps.output[1]
    props = first.adapted_properties
    assert first.types[:2] == ["Microsoft.Exchange.Data.Directory.Management.MobileDevice",
                               "Microsoft.Exchange.Data.Directory.ADObject"]
    assert str(first) == "dev1"
    assert props["Name"] == "dev1" and props["Index"] == 1 and props["Big"] == 2**40 + 1
    assert props["Ok"] is False and props["Ratio"] == 0.25 and props["Nothing"] is None
    assert props["When"] == "2024-01-02T03:04:05.1234560Z"
    assert props["Span"] == "PT1H3.5000000S"
    assert props["Guid"] == uuid.UUID(int=2)
    assert props["Tricky"] == "a<b&c>\r\n\t_x0041_\x01é§"
    assert str(props["State"]) == "Allowed" and str(props["State2"]) == "Blocked"
    assert props["State"].types[0].endswith("DeviceAccessState") and props["State"].property_sets == [1]
    assert props["List"] == ["x", "y"] and props["Empty"] == []


def test_pscustomobject_properties_land_in_extended_properties(stub_sim):
    with RunspacePool(wsman_for(stub_sim, *ADMIN), configuration_name=EXCHANGE) as pool:
        ps = run(pool, "Select-Thing")
    assert ps.output[0].extended_properties == {"Name": "sel", "Count": 2}


def test_terminating_error_fails_the_pipeline_with_an_error_record(stub_sim):
    with RunspacePool(wsman_for(stub_sim, *ADMIN), configuration_name=EXCHANGE) as pool:
        ps = run(pool, "Fail-Thing")
    assert ps.had_errors and ps.state == PSInvocationState.FAILED
    [error] = ps.streams.error
    assert "couldn't be found" in str(error)
    assert error.fq_error.endswith("Microsoft.Exchange.Management.Tasks.GetMobileDevice")
    assert error.reason == "ManagementObjectNotFoundException"
    assert error.target_name == "nope"


def test_non_terminating_error_and_warning_streams(stub_sim):
    with RunspacePool(wsman_for(stub_sim, *ADMIN), configuration_name=EXCHANGE) as pool:
        ps = run(pool, "Mixed-Thing", Count=1)
    assert not ps.had_errors and len(ps.output) == 1
    assert [str(e) for e in ps.streams.error] == ["'x' couldn't be found."]
    assert [w.message for w in ps.streams.warning] == ["The cmdlet is deprecated."]


def test_no_language_mode_refuses_scripts(stub_sim):
    with RunspacePool(wsman_for(stub_sim, *ADMIN), configuration_name=EXCHANGE) as pool:
        ps = PowerShell(pool)
        ps.add_script("Get-Thing | Remove-Thing")
        ps.invoke()
    assert ps.had_errors
    assert "no-language mode" in str(ps.streams.error[0])
    assert ps.streams.error[0].fq_error == "ScriptsNotAllowed"


def test_unknown_cmdlet_is_command_not_found(stub_sim):
    with RunspacePool(wsman_for(stub_sim, *ADMIN), configuration_name=EXCHANGE) as pool:
        ps = run(pool, "Get-Nothing")
    assert ps.had_errors and ps.streams.error[0].reason == "CommandNotFoundException"


def test_pool_messages(stub_sim):
    pool = RunspacePool(wsman_for(stub_sim, *ADMIN), configuration_name=EXCHANGE)
    pool.open()
    assert pool.get_available_runspaces() == 1
    pool.max_runspaces = 4  # SET_MAX_RUNSPACES with pypsrp's upper-case CI
    pool.min_runspaces = 2
    assert (pool.max_runspaces, pool.min_runspaces) == (4, 2)
    assert pool.get_available_runspaces() == 4
    pool.reset_runspace_state()
    pool.exchange_keys()  # PUBLIC_KEY -> ENCRYPTED_SESSION_KEY
    assert pool.is_alive()
    run(pool, "Get-Thing", Count=1)
    pool.close()
    assert not pool.is_alive()  # Get on a deleted shell: fault 0x8033805B


def test_pool_receive_long_polls_then_times_out(stub_sim):
    with RunspacePool(wsman_for(stub_sim, *ADMIN), configuration_name=EXCHANGE) as pool:
        started = time.monotonic()
        with pytest.raises(WSManFaultError) as caught:
            pool._receive(timeout=1)  # nothing queued for the pool: the Receive waits OperationTimeout
        assert caught.value.code == wsman_mod.TIMED_OUT
        assert 0.9 <= time.monotonic() - started < 5
        assert len(run(pool, "Get-Thing", Count=2).output) == 2  # the abandoned poll swallowed nothing


def test_large_result_streams_within_the_envelope(stub_sim):
    wsman = wsman_for(stub_sim, *ADMIN)
    sizes: list[int] = []
    send = wsman.transport.send

    def recording_send(message, **kwargs):
        response = send(message, **kwargs)
        sizes.append(len(response))
        return response

    wsman.transport.send = recording_send
    with RunspacePool(wsman, configuration_name=EXCHANGE) as pool:
        ps = PowerShell(pool)
        ps.add_cmdlet("Get-Thing").add_parameter("Count", 20000).add_parameter("Small", True)
        ps.begin_invoke()
        received = 0
        while ps.state == PSInvocationState.RUNNING:
            ps.poll_invoke()
            received += len(ps.output)
            assert len(ps.output) < 20000  # arrives in many Receives, not in one
            ps.output.clear()
        received += len(ps.output)
    assert ps.state == PSInvocationState.COMPLETED and received == 20000
    assert max(sizes) <= wsman.max_envelope_size
    assert len(sizes) > 10


def test_the_next_envelope_is_serialised_while_the_client_reads_the_last(stub_sim):
    """As Exchange keeps a pipeline running, the simulator fills the next envelope once a Receive has
    taken its data, so the client's decoding and the server's serialising overlap; one envelope ahead
    at most, so memory stays bounded."""
    with RunspacePool(wsman_for(stub_sim, *ADMIN), configuration_name=EXCHANGE) as pool:
        ps = PowerShell(pool)
        ps.add_cmdlet("Get-Thing").add_parameter("Count", 20000).add_parameter("Small", True)
        ps.begin_invoke()
        ps.poll_invoke()  # one Receive: its envelope is in the client's hands
        assert ps.output and ps.state == PSInvocationState.RUNNING
        runs = [run for host in stub_sim.registry._shells.values() for run in host.pipelines.values()]
        queued = wait_until(lambda: runs[0].outbox.size > 100_000 and runs[0].outbox.size,
                            message="the simulator did not fill the next envelope ahead")
        assert queued <= pool.connection.max_envelope_size
        ps.stop()


def test_concurrent_pools_from_threads(stub_sim):
    errors: list[BaseException] = []
    counts: list[int] = []

    def worker(server: str, auth: str) -> None:
        try:
            with RunspacePool(wsman_for(stub_sim, *ADMIN, server=server, auth=auth), configuration_name=EXCHANGE) as pool:
                for _ in range(3):
                    counts.append(len(run(pool, "Get-Thing", Count=50).output))
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(name, auth))
               for name in ["EXCAS01", "EXCAS02", "EXCAS03"] for auth in ("basic", "ntlm")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors
    assert counts == [50] * 18


def test_ctrl_c_stops_a_running_pipeline(stub_sim):
    with RunspacePool(wsman_for(stub_sim, *ADMIN), configuration_name=EXCHANGE) as pool:
        ps = PowerShell(pool)
        ps.add_cmdlet("Get-Thing").add_parameter("Count", 100000).add_parameter("Small", True)
        ps.begin_invoke()
        ps.poll_invoke()
        ps.stop()
        assert ps.state == PSInvocationState.STOPPED
        assert len(run(pool, "Get-Thing", Count=2).output) == 2


def test_terminate_signal_closes_a_pipeline(stub_sim):
    with RunspacePool(wsman_for(stub_sim, *ADMIN), configuration_name=EXCHANGE) as pool:
        ps = run(pool, "Get-Thing", Count=1)
        ps.close()
        host = next(iter(s for s in stub_sim.registry._shells.values() if s.shell_id == uuid.UUID(pool.id)))
        assert not host.pipelines


def test_bad_password_is_401(stub_sim):
    for auth in ("basic", "ntlm"):
        with pytest.raises(AuthenticationError):
            with RunspacePool(wsman_for(stub_sim, ADMIN[0], "wrong", auth=auth), configuration_name=EXCHANGE):
                pass
    with pytest.raises(AuthenticationError):
        with RunspacePool(wsman_for(stub_sim, "CONTOSO\\nobody", "x", auth="ntlm"), configuration_name=EXCHANGE):
            pass


def test_endpoint_paths(stub_sim):
    base = f"http://{stub_sim.server_address('EXCAS01')}:{stub_sim.port}"
    for path in ("/PowerShell", "/powershell/", "/POWERSHELL?serializationLevel=Full"):
        response = requests.post(base + path, data=b"", timeout=5)
        assert response.status_code == 401 and "Negotiate" in response.headers["WWW-Authenticate"]
    assert requests.post(base + "/wsman", data=b"", timeout=5).status_code == 404


def test_wrong_configuration_name_is_a_fault(stub_sim):
    with pytest.raises(WSManFaultError) as caught:
        with RunspacePool(wsman_for(stub_sim, *ADMIN), configuration_name="Microsoft.PowerShell"):
            pass
    assert caught.value.code == wsman_mod.INVALID_RESOURCE_URI


def test_shells_belong_to_their_account(stub_sim):
    with RunspacePool(wsman_for(stub_sim, *ADMIN), configuration_name=EXCHANGE) as pool:
        other = RunspacePool(wsman_for(stub_sim, *OTHER), configuration_name=EXCHANGE)
        other.shell.id = pool.shell.id
        other.shell._selector_set = pool.shell._selector_set
        assert not other.is_alive()


def test_throttling_refuses_the_nineteenth_pool():
    org = StubOrganization()
    with running_simulator(org) as sim:
        pools = [RunspacePool(wsman_for(sim, *ADMIN), configuration_name=EXCHANGE) for _ in range(19)]
        for pool in pools[:18]:
            pool.open()
        with pytest.raises(WSManFaultError) as caught:
            pools[18].open()
        assert caught.value.code == wsman_mod.MAX_SHELLS
        assert "MaxConcurrency" in caught.value.reason
        # another account is not affected, and closing one pool frees a slot
        with RunspacePool(wsman_for(sim, *OTHER), configuration_name=EXCHANGE):
            pass
        pools[0].close()
        with RunspacePool(wsman_for(sim, *ADMIN), configuration_name=EXCHANGE) as pool:
            assert len(run(pool, "Get-Thing", Count=1).output) == 1
        for pool in pools[1:18]:
            pool.close()


def test_stopping_a_server_mid_pipeline_breaks_the_client_connection():
    with running_simulator(StubOrganization()) as sim:
        pool = RunspacePool(wsman_for(sim, *ADMIN, server="EXCAS02"), configuration_name=EXCHANGE)
        pool.open()
        ps = PowerShell(pool)
        ps.add_cmdlet("Get-Thing").add_parameter("Count", 100000).add_parameter("Small", True)
        ps.begin_invoke()
        ps.poll_invoke()
        sim.stop_server("EXCAS02")
        with pytest.raises(requests.exceptions.ConnectionError):
            for _ in range(50):
                ps.poll_invoke()
        # the other servers keep working, and the stopped one comes back empty
        with RunspacePool(wsman_for(sim, *ADMIN, server="EXCAS01"), configuration_name=EXCHANGE) as other:
            assert len(run(other, "Get-Thing", Count=1).output) == 1
        sim.start_server("EXCAS02")
        wait_until(lambda: sim.listeners["EXCAS02"].running)
        assert sim.registry.counts().get(ADMIN[0], 0) == 0
        with RunspacePool(wsman_for(sim, *ADMIN, server="EXCAS02"), configuration_name=EXCHANGE) as again:
            assert len(run(again, "Get-Thing", Count=1).output) == 1


def test_get_exchange_server_reports_reachable_addresses(stub_sim):
    with RunspacePool(wsman_for(stub_sim, *ADMIN), configuration_name=EXCHANGE) as pool:
        servers = run(pool, "Get-ExchangeServer").output
    fqdns = {s.adapted_properties["Name"]: s.adapted_properties["Fqdn"] for s in servers}
    assert fqdns == {name: stub_sim.server_address(name) for name in stub_sim.listeners}
    assert len(set(fqdns.values())) == 4
    for name, fqdn in fqdns.items():
        with RunspacePool(wsman_for(stub_sim, *ADMIN, server=name), configuration_name=EXCHANGE) as pool:
            assert pool.is_alive()


def test_https_validates_against_the_generated_ca():
    with running_simulator(StubOrganization(), https=True) as sim:
        for auth in ("basic", "ntlm"):
            with RunspacePool(wsman_for(sim, *ADMIN, auth=auth), configuration_name=EXCHANGE) as pool:
                assert len(run(pool, "Get-Thing", Count=2).output) == 2
        with pytest.raises(requests.exceptions.SSLError):
            with RunspacePool(wsman_for(sim, *ADMIN, cert_validation=True), configuration_name=EXCHANGE):
                pass


def test_latency_injection_delays_responses(stub_sim, control):
    with RunspacePool(wsman_for(stub_sim, *ADMIN, server="EXCAS03"), configuration_name=EXCHANGE) as pool:
        control.latency(0.3, server="EXCAS03")
        try:
            started = time.monotonic()
            run(pool, "Get-Thing", Count=1)
            assert time.monotonic() - started >= 0.6  # Command + Receive, each delayed
        finally:
            control.latency(0, server="EXCAS03")
        started = time.monotonic()
        run(pool, "Get-Thing", Count=1)
        assert time.monotonic() - started < 0.3


def test_stop_leaves_no_threads_or_listening_sockets():
    before = {t.ident for t in threading.enumerate()}
    with running_simulator(StubOrganization()) as sim:
        address, port = sim.server_address("EXCAS01"), sim.port
        control_url = sim.control_url
        pool = RunspacePool(wsman_for(sim, *ADMIN), configuration_name=EXCHANGE)
        pool.open()  # left open on purpose: stop() must close its keep-alive socket
        ps = PowerShell(pool)
        ps.add_cmdlet("Get-Thing").add_parameter("Count", 100000).add_parameter("Small", True)
        ps.begin_invoke()
        ps.poll_invoke()
    wait_until(lambda: {t.ident for t in threading.enumerate()} <= before, timeout=10,
               message=f"threads left: {[t.name for t in threading.enumerate() if t.ident not in before]}")
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.post(f"http://{address}:{port}/PowerShell", timeout=2)
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(control_url + "/state", timeout=2)


def test_engine_output_is_pulled_only_as_the_client_receives():
    org = StubOrganization()
    with running_simulator(org) as sim:
        with RunspacePool(wsman_for(sim, *ADMIN), configuration_name=EXCHANGE) as pool:
            ps = PowerShell(pool)
            ps.add_cmdlet("Get-Thing").add_parameter("Count", 100000).add_parameter("Small", True)
            ps.begin_invoke()
            ps.poll_invoke()
            session = org.sessions[-1]
            first = session.yielded
            assert 0 < first < 5000  # about one envelope's worth, not the whole result
            ps.poll_invoke()
            assert first < session.yielded < 2 * first + 5000
            ps.stop()


def test_dropped_keep_alive_connections_behave_as_after_an_iis_idle_timeout(stub_sim, control):
    """Basic reconnects; pypsrp 0.9.1 cannot resume NTLM message encryption on a new connection."""
    from pypsrp.exceptions import WinRMTransportError

    with RunspacePool(wsman_for(stub_sim, *ADMIN, server="EXCAS03"), configuration_name=EXCHANGE) as pool:
        assert len(run(pool, "Get-Thing", Count=1).output) == 1
        control.drop_connections("EXCAS03")
        assert len(run(pool, "Get-Thing", Count=1).output) == 1

    pool = RunspacePool(wsman_for(stub_sim, *ADMIN, auth="ntlm", server="EXCAS03"), configuration_name=EXCHANGE)
    pool.open()
    assert len(run(pool, "Get-Thing", Count=1).output) == 1
    control.drop_connections("EXCAS03")
    with pytest.raises(WinRMTransportError) as caught:
        run(pool, "Get-Thing", Count=1)
    assert caught.value.code == 400
    stub_sim.registry.close(uuid.UUID(pool.id))  # the client cannot Delete it any more


def test_tls_dir_keeps_the_ca_across_restarts(tmp_path):
    tls_dir = str(tmp_path / "tls")
    with running_simulator(StubOrganization(), https=True, tls_dir=tls_dir) as sim:
        first = open(sim.ca_file, "rb").read()
    with running_simulator(StubOrganization(), https=True, tls_dir=tls_dir) as sim:
        assert open(sim.ca_file, "rb").read() == first
        with RunspacePool(wsman_for(sim, *ADMIN), configuration_name=EXCHANGE) as pool:
            assert len(run(pool, "Get-Thing", Count=1).output) == 1
    with running_simulator(StubOrganization(), https=True, tls_dir=tls_dir, bind_base="127.0.0.41") as sim:
        assert open(sim.ca_file, "rb").read() != first  # the old certificate does not cover the new addresses
        with RunspacePool(wsman_for(sim, *ADMIN), configuration_name=EXCHANGE) as pool:
            assert len(run(pool, "Get-Thing", Count=1).output) == 1
