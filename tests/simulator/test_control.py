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


def test_devices_and_users_are_listed_filtered_and_paged():
    """GET /devices and GET /users show Exchange's side, so tests can check what the console changed there."""
    with running_simulator(devices=30, seed=4) as sim:
        control = ControlClient.for_simulator(sim)
        everything = control.devices(limit=1000)
        assert everything["total"] == 30 == len(everything["devices"])
        first, second = control.devices(limit=20), control.devices(offset=20, limit=20)
        assert [d["identity"] for d in first["devices"] + second["devices"]] == [d["identity"] for d in everything["devices"]]
        assert (first["total"], len(first["devices"]), len(second["devices"])) == (30, 20, 10)

        control.add_user(first="Ada", last="Lovelace", alias="alovelace")
        added = control.add_device("alovelace", device_type="iPhone", model="iPhone 15", FriendlyName="Ada's phone")
        mine = control.devices(user="alovelace@contoso.com")
        assert [d["identity"] for d in mine["devices"]] == [added["identity"]] and mine["total"] == 1
        shown = control.device(added["identity"])
        assert (shown["friendly_name"], shown["model"], shown["mailbox"]) == ("Ada's phone", "iPhone 15", "alovelace")
        assert shown["last_success"] and shown["wipe_requested"] is None
        assert [d["identity"] for d in control.devices(q="ADA'S PHONE")["devices"]] == [added["identity"]]
        blocked = control.devices(access_state="Blocked")["devices"]
        assert all(d["access_state"] == "Blocked" for d in blocked)

        users = control.users(q="lovelace")
        assert [u["alias"] for u in users["users"]] == ["alovelace"] and users["users"][0]["devices"] == 1
        assert control.user("alovelace")["upn"] == "alovelace@contoso.com"
        assert control.users(limit=1)["total"] == control.state()["organization"]["counts"]["users"]

        for call, status in ((lambda: control.devices(user="nobody"), 404), (lambda: control.device("nobody"), 404),
                             (lambda: control.devices(limit=0), 400), (lambda: control.users(offset=-1), 400),
                             (lambda: control.devices(access_state="Sleepy"), 400)):
            with pytest.raises(ControlError) as caught:
                call()
            assert caught.value.status == status


ODD = "Anna\ud800 \u202egnp.exe\x00 😀 山田 עברית"


def test_odd_characters_are_held_and_sent_as_exchange_sends_them():
    """A phone can report anything: the control API takes it as JSON, and pypsrp reads it back unchanged."""
    from easconsole.exchange import pypsrp_tuning
    from easconsole.exchange.simulator.testing import DEFAULT_ACCOUNT

    assert pypsrp_tuning.install()  # pypsrp alone cannot decode a lone surrogate: the product's decoder can
    with running_simulator(devices=5, seed=4) as sim:
        control = ControlClient.for_simulator(sim)
        target = control.devices(limit=1)["devices"][0]["identity"]
        control.change_device(target, FriendlyName=ODD, DeviceUserAgent="Agent\x00/1.0")
        added = control.add_device(control.users(limit=1)["users"][0]["alias"], device_type="iPhone",
                                   DeviceOS="iOS\ud83d")
        assert control.device(target)["friendly_name"] == ODD
        assert control.device(added["identity"])["os"] == "iOS\ud83d"
        with RunspacePool(wsman_for(sim, *DEFAULT_ACCOUNT), configuration_name="Microsoft.Exchange") as pool:
            ps = PowerShell(pool).add_cmdlet("Get-ActiveSyncDevice").add_parameter("ResultSize", "Unlimited")
            found = {o.adapted_properties["Identity"]: o.adapted_properties for o in ps.invoke()}
        assert found[target]["FriendlyName"] == ODD and found[target]["DeviceUserAgent"] == "Agent\x00/1.0"
        assert found[added["identity"]]["DeviceOS"] == "iOS\ud83d"
