"""The JSON control API, driven through testing.ControlClient, with the stub engine."""
from __future__ import annotations

import json
import os

import pytest
import requests
from pypsrp.powershell import PowerShell, RunspacePool

from easconsole.exchange.simulator.testing import ControlClient, ControlError, running_simulator, wsman_for

from .conftest import ADMIN, StubOrganization

pytestmark = pytest.mark.simulator


def test_state_lists_servers_and_open_pools(stub_sim, control):
    with RunspacePool(wsman_for(stub_sim, *ADMIN, server="EXCAS03"), configuration_name="Microsoft.Exchange"):
        state = control.state()
        assert state["open_pools"] == {ADMIN[0]: 1}
    assert state["organization"]["devices"] == 3
    assert state["organization"]["when"] == "2024-01-01T00:00:00+00:00"
    servers = {s["name"]: s for s in state["servers"]}
    assert set(servers) == {"EXCAS01", "EXCAS02", "EXCAS03", "EXMBX01"}
    assert servers["EXCAS01"]["address"] == "127.0.0.11" and servers["EXMBX01"]["address"] == "127.0.0.14"
    assert all(s["running"] and s["port"] == stub_sim.port for s in servers.values())
    assert control.state()["open_pools"] == {}


def test_token_is_required(stub_sim):
    assert requests.get(stub_sim.control_url + "/state", timeout=5).status_code == 401
    wrong = ControlClient(stub_sim.control_url, "not-the-token")
    with pytest.raises(ControlError) as caught:
        wrong.state()
    assert caught.value.status == 401
    response = requests.get(stub_sim.control_url + "/state", headers={"X-Simulator-Token": stub_sim.control_token},
                            timeout=5)
    assert response.status_code == 200


def test_calls_since(stub_sim, control):
    start = len(control.calls())
    with RunspacePool(wsman_for(stub_sim, *ADMIN), configuration_name="Microsoft.Exchange") as pool:
        PowerShell(pool).add_cmdlet("Get-Thing").add_parameter("Count", 1).invoke()
    calls = control.calls(since=start)
    assert [c["cmdlet"] for c in calls] == ["Get-Thing"] and calls[0]["server"] == "EXCAS01"


def test_deny_and_grant_change_what_the_session_can_run(stub_sim, control):
    control.deny(ADMIN[0], ["Get-Thing"])
    try:
        with RunspacePool(wsman_for(stub_sim, *ADMIN), configuration_name="Microsoft.Exchange") as pool:
            ps = PowerShell(pool).add_cmdlet("Get-Thing")
            ps.invoke()
            assert ps.had_errors and ps.streams.error[0].reason == "CommandNotFoundException"
    finally:
        control.grant(ADMIN[0], ["Get-Thing"])
    with RunspacePool(wsman_for(stub_sim, *ADMIN), configuration_name="Microsoft.Exchange") as pool:
        ps = PowerShell(pool).add_cmdlet("Get-Thing")
        ps.invoke()
        assert not ps.had_errors


def test_throttle_sessions_and_cmdlets(stub_sim, control):
    control.throttle(ADMIN[0], max_sessions=1, max_cmdlets=10, period_seconds=30)
    try:
        assert stub_sim.org.budgets[ADMIN[0]] == (10, 30)
        assert control.state()["session_limits"] == {ADMIN[0].lower(): 1}
        with RunspacePool(wsman_for(stub_sim, *ADMIN), configuration_name="Microsoft.Exchange"):
            with pytest.raises(Exception, match="MaxConcurrency"):
                with RunspacePool(wsman_for(stub_sim, *ADMIN), configuration_name="Microsoft.Exchange"):
                    pass
    finally:
        control.request("POST", "/throttle", {"account": ADMIN[0], "max_sessions": None})


def test_server_stop_and_start(stub_sim, control):
    control.stop_server("EXCAS02")
    assert {s["name"]: s["running"] for s in control.state()["servers"]}["EXCAS02"] is False
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.post(f"http://{stub_sim.server_address('EXCAS02')}:{stub_sim.port}/PowerShell", timeout=2)
    control.start_server("excas02")
    assert {s["name"]: s["running"] for s in control.state()["servers"]}["EXCAS02"] is True
    with pytest.raises(ControlError) as caught:
        control.stop_server("NOPE")
    assert caught.value.status == 404


def test_engine_operations(stub_sim, control):
    assert control.sync_device("dev1") == {"device": "dev1", "synced": True}
    assert control.sync_all() == 3
    assert control.add_user(name="jdoe", display_name="J Doe") == {"name": "jdoe", "display_name": "J Doe"}
    assert control.remove_user("jdoe") == {"removed": "jdoe"}
    assert control.add_device("jdoe", device_type="iPhone") == {"user": "jdoe", "device_type": "iPhone"}
    assert control.change_device("jdoe\\ExchangeActiveSyncDevices\\iPhone§abc", device_os="iOS 18") == {
        "identity": "jdoe\\ExchangeActiveSyncDevices\\iPhone§abc", "device_os": "iOS 18"}
    assert control.remove_device("dev1") == {"removed": "dev1"}
    assert control.reset() == {"reset": True}


@pytest.mark.parametrize("call, status", [
    (lambda c: c.sync_device("missing"), 404),
    (lambda c: c.remove_user("missing"), 404),
    (lambda c: c.remove_device("missing"), 404),
    (lambda c: c.add_user(display_name="no name"), 400),
    (lambda c: c.request("POST", "/devices", {"device_type": "x"}), 400),
    (lambda c: c.request("POST", "/deny", {"account": "a"}), 400),
    (lambda c: c.request("POST", "/deny", {"account": "a", "cmdlets": [1]}), 400),
    (lambda c: c.request("POST", "/latency", {"seconds": "slow"}), 400),
    (lambda c: c.request("POST", "/latency", {"seconds": -1}), 400),
    (lambda c: c.request("GET", "/calls", since="x"), 400),
    (lambda c: c.request("GET", "/nothing"), 404),
    (lambda c: c.request("DELETE", "/state"), 405),
])
def test_errors_are_clear_json(control, call, status):
    with pytest.raises(ControlError) as caught:
        call(control)
    assert caught.value.status == status and caught.value.message


def test_invalid_json_is_400(stub_sim):
    response = requests.post(stub_sim.control_url + "/deny", data=b"{nope",
                             headers={"Authorization": f"Bearer {stub_sim.control_token}"}, timeout=5)
    assert response.status_code == 400 and "JSON" in response.json()["error"]


def test_state_file_is_saved_on_changes_and_loaded_at_start(tmp_path):
    path = str(tmp_path / "org.json")
    with running_simulator(StubOrganization(), state_file=path) as sim:
        ControlClient.for_simulator(sim).deny(ADMIN[0], ["Fail-Thing"])
        with open(path, encoding="utf-8") as handle:
            assert json.load(handle)["denied"] == {ADMIN[0]: ["fail-thing"]}
    assert os.path.exists(path)
    with running_simulator(StubOrganization(), state_file=path) as sim:
        assert sim.org.denied == {ADMIN[0]: {"fail-thing"}}


def test_control_routes_with_the_real_organization():
    """The same routes against the engine: users and devices appear to pypsrp; unknown ones are 404."""
    pytest.importorskip("easconsole.exchange.simulator.organization")
    from easconsole.exchange.simulator.testing import DEFAULT_ACCOUNT

    with running_simulator(devices=20) as sim:
        control = ControlClient.for_simulator(sim)
        before = control.state()["organization"]["counts"]["devices"]
        control.add_user(first="Ada", last="Lovelace", alias="alovelace")
        device = control.add_device("alovelace", device_type="iPhone")
        assert control.state()["organization"]["counts"]["devices"] == before + 1
        with RunspacePool(wsman_for(sim, *DEFAULT_ACCOUNT), configuration_name="Microsoft.Exchange") as pool:
            ps = PowerShell(pool).add_cmdlet("Get-ActiveSyncDevice").add_parameter("Mailbox", "alovelace")
            [found] = ps.invoke()
        identity = found.adapted_properties["Identity"]
        assert found.adapted_properties["DeviceId"] == device["device_id"]
        control.change_device(identity, device_os="iOS 18.1")
        assert control.sync_device(device["device_id"])["synced"] is True
        assert 0 < control.sync_all(include_dormant=True) <= before + 1
        calls = control.calls()
        assert calls and calls[-1]["cmdlet"] == "Get-ActiveSyncDevice"
        assert control.calls(since=calls[-1]["seq"]) == []
        control.remove_device(identity)
        control.remove_user("alovelace")
        for call in (lambda: control.sync_device("NOSUCHDEVICE"), lambda: control.remove_user("nobody"),
                     lambda: control.change_device("nobody\\ExchangeActiveSyncDevices\\X§1", device_os="x")):
            with pytest.raises(ControlError) as caught:
                call()
            assert caught.value.status == 404
        with pytest.raises(ControlError) as caught:
            control.add_user(shoe_size=44)
        assert caught.value.status == 400
        control.reset()
        assert control.state()["organization"]["counts"]["devices"] == before
