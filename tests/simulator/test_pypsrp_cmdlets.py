"""Every cmdlet of the simulated organization, called through pypsrp over Basic and NTLM (encrypted).

These exercise the real engine (`organization.py`) behind the real protocol, as the console's
connector will. Each scenario is self-contained; the two auth runs use different devices and
object names so they do not depend on each other.
"""
from __future__ import annotations

import datetime as dt
from typing import Any, Callable, Iterator

import pytest
from pypsrp.powershell import PowerShell, PSInvocationState, RunspacePool

from easconsole.exchange.simulator.testing import (
    DEFAULT_ACCOUNT,
    ControlClient,
    make_organization,
    running_simulator,
    wsman_for,
)

pytestmark = pytest.mark.simulator
Organization = pytest.importorskip("easconsole.exchange.simulator.organization").Organization
NOW = dt.datetime(2026, 1, 15, 12, 0, tzinfo=dt.timezone.utc)


class Shell:
    """A runspace pool plus the helpers the scenarios share."""

    def __init__(self, pool: RunspacePool, auth: str, sim: Any, devices: list[dict[str, Any]]) -> None:
        self.pool, self.auth, self.sim = pool, auth, sim
        self.control = ControlClient.for_simulator(sim)
        offset = 0 if auth == "basic" else len(devices) // 2
        self.devices = devices[offset:offset + len(devices) // 2]

    def run(self, *commands: tuple[str, dict[str, Any]]) -> PowerShell:
        ps = PowerShell(self.pool)
        for cmdlet, params in commands:
            ps.add_cmdlet(cmdlet)
            for name, value in params.items():
                ps.add_parameter(name, value)
        ps.invoke()
        return ps

    def ok(self, cmdlet: str, **params: Any) -> list[dict[str, Any]]:
        ps = self.run((cmdlet, params))
        assert not ps.had_errors and not ps.streams.error, [str(e) for e in ps.streams.error]
        assert ps.state == PSInvocationState.COMPLETED
        return [{**o.adapted_properties, **o.extended_properties} for o in ps.output]

    def fails(self, cmdlet: str, **params: Any) -> Any:
        ps = self.run((cmdlet, params))
        assert ps.streams.error, f"{cmdlet} should have failed"
        return ps.streams.error[0]

    def device(self, index: int) -> dict[str, Any]:
        return self.devices[index]

    def status(self, identity: str) -> str:
        return str(self.ok("Get-ActiveSyncDeviceStatistics", Identity=identity)[0]["Status"])


@pytest.fixture(scope="module")
def sim() -> Iterator[Any]:
    with running_simulator(make_organization(devices=80, seed=7, now=NOW)) as running:
        yield running


@pytest.fixture(scope="module")
def all_devices(sim: Any) -> list[dict[str, Any]]:
    with RunspacePool(wsman_for(sim, *DEFAULT_ACCOUNT), configuration_name="Microsoft.Exchange") as pool:
        ps = PowerShell(pool).add_cmdlet("Get-ActiveSyncDevice").add_parameter("ResultSize", "Unlimited")
        return [o.adapted_properties for o in ps.invoke()]


@pytest.fixture(scope="module", params=["basic", "ntlm"])
def shell(request: Any, sim: Any, all_devices: list[dict[str, Any]]) -> Iterator[Shell]:
    with RunspacePool(wsman_for(sim, *DEFAULT_ACCOUNT, auth=request.param),
                      configuration_name="Microsoft.Exchange") as pool:
        yield Shell(pool, request.param, sim, all_devices)


# -- scenarios, one per cmdlet (the key is the cmdlet it is mainly about) ---------------------------
def get_exchange_server(s: Shell) -> None:
    servers = {r["Name"]: r for r in s.ok("Get-ExchangeServer")}
    assert len(servers) == len(s.sim.listeners) >= 5
    for name, record in servers.items():
        assert record["Fqdn"] == s.sim.server_address(name)
    assert {str(r["Site"]).rsplit("/", 1)[-1] for r in servers.values()} >= {"HQ", "Branch"}


def set_ad_server_settings(s: Shell) -> None:
    assert s.ok("Set-ADServerSettings", ViewEntireForest=True) == []


def get_command(s: Shell) -> None:
    names = {r["Name"] for r in s.ok("Get-Command")}
    assert {"Get-ActiveSyncDevice", "Clear-ActiveSyncDevice", "Set-CASMailbox"} <= names


def get_activesync_device(s: Shell) -> None:
    devices = s.ok("Get-ActiveSyncDevice", ResultSize="Unlimited")
    assert len(devices) == s.control.state()["organization"]["counts"]["devices"]
    one = s.device(0)
    [found] = s.ok("Get-ActiveSyncDevice", Identity=one["Identity"])
    assert found["DeviceId"] == one["DeviceId"] and str(found["DeviceAccessState"])
    mailbox = one["Identity"].split("\\", 1)[0]
    assert all(d["Identity"].startswith(mailbox + "\\") for d in s.ok("Get-ActiveSyncDevice", Mailbox=mailbox))


def get_mobile_device(s: Shell) -> None:
    assert len(s.ok("Get-MobileDevice", ResultSize="Unlimited")) == len(s.ok("Get-ActiveSyncDevice", ResultSize="Unlimited"))


def get_statistics(s: Shell) -> None:
    [stats] = s.ok("Get-ActiveSyncDeviceStatistics", Identity=s.device(1)["Identity"])
    assert str(stats["Status"]) in {"DeviceOk", "DeviceWipePending", "DeviceWipeSucceeded", "DeviceBlocked"}
    assert "LastSuccessSync" in stats and "DeviceWipeAckTime" in stats


def get_mobile_statistics(s: Shell) -> None:
    mailbox = s.device(1)["Identity"].split("\\", 1)[0]
    assert s.ok("Get-MobileDeviceStatistics", Mailbox=mailbox)


def get_device_class(s: Shell) -> None:
    assert s.ok("Get-ActiveSyncDeviceClass")


def clear_activesync_device(s: Shell) -> None:
    identity = s.device(2)["Identity"]
    error = s.fails("Clear-ActiveSyncDevice", Identity=identity)  # no -Confirm:$false: it would prompt
    assert "confirmation" in str(error)
    s.ok("Clear-ActiveSyncDevice", Identity=identity, Confirm=False)
    assert s.status(identity) == "DeviceWipePending"
    s.ok("Clear-ActiveSyncDevice", Identity=identity, Cancel=True, Confirm=False)
    assert s.status(identity) == "DeviceOk"
    s.ok("Clear-ActiveSyncDevice", Identity=identity, Confirm=False)
    s.control.sync_device(s.device(2)["DeviceId"])
    assert s.status(identity) == "DeviceWipeSucceeded"


def clear_mobile_device(s: Shell) -> None:
    identity = s.device(3)["Identity"]
    s.ok("Clear-MobileDevice", Identity=identity, Confirm=False)
    assert s.status(identity) == "DeviceWipePending"


def remove_activesync_device(s: Shell) -> None:
    identity = s.device(4)["Identity"]
    s.ok("Remove-ActiveSyncDevice", Identity=identity, Confirm=False)
    assert "couldn't be found" in str(s.fails("Get-ActiveSyncDevice", Identity=identity))


def remove_mobile_device(s: Shell) -> None:
    identity = s.device(5)["Identity"]
    s.fails("Remove-MobileDevice", Identity=identity)
    s.ok("Remove-MobileDevice", Identity=identity, Confirm=False)
    s.fails("Get-MobileDevice", Identity=identity)


def access_rules(s: Shell) -> None:
    query = f"SimPhone-{s.auth}"
    s.ok("New-ActiveSyncDeviceAccessRule", QueryString=query, Characteristic="DeviceModel", AccessLevel="Block")
    [rule] = s.ok("Get-ActiveSyncDeviceAccessRule", Identity=f"{query} (DeviceModel)")
    assert str(rule["AccessLevel"]) == "Block" and rule["QueryString"] == query
    s.ok("Set-ActiveSyncDeviceAccessRule", Identity=f"{query} (DeviceModel)", AccessLevel="Allow")
    assert str(s.ok("Get-ActiveSyncDeviceAccessRule", Identity=f"{query} (DeviceModel)")[0]["AccessLevel"]) == "Allow"
    s.ok("Remove-ActiveSyncDeviceAccessRule", Identity=f"{query} (DeviceModel)", Confirm=False)
    assert all(r["QueryString"] != query for r in s.ok("Get-ActiveSyncDeviceAccessRule"))


def organization_settings(s: Shell) -> None:
    [settings] = s.ok("Get-ActiveSyncOrganizationSettings")
    assert str(settings["DefaultAccessLevel"]) == "Allow"
    s.ok("Set-ActiveSyncOrganizationSettings", DefaultAccessLevel="Quarantine", UserMailInsert="Call the helpdesk")
    [settings] = s.ok("Get-ActiveSyncOrganizationSettings")
    assert str(settings["DefaultAccessLevel"]) == "Quarantine" and settings["UserMailInsert"] == "Call the helpdesk"
    s.ok("Set-ActiveSyncOrganizationSettings", DefaultAccessLevel="Allow")


def mailbox_policies(s: Shell, noun: str = "ActiveSyncMailboxPolicy") -> None:
    name = f"Sim {noun} {s.auth}"
    s.ok(f"New-{noun}", Name=name, DevicePasswordEnabled=True, MinDevicePasswordLength=6)
    [policy] = s.ok(f"Get-{noun}", Identity=name)
    assert policy["DevicePasswordEnabled"] is True and policy["MinDevicePasswordLength"] == 6
    s.ok(f"Set-{noun}", Identity=name, AllowCamera=False)
    assert s.ok(f"Get-{noun}", Identity=name)[0]["AllowCamera"] is False
    s.fails(f"Remove-{noun}", Identity=name)
    s.ok(f"Remove-{noun}", Identity=name, Confirm=False)
    s.fails(f"Get-{noun}", Identity=name)


def mobile_device_policies(s: Shell) -> None:
    mailbox_policies(s, "MobileDeviceMailboxPolicy")


def cas_mailbox(s: Shell) -> None:
    one = s.device(6)
    mailbox = one["Identity"].split("\\", 1)[0]
    s.ok("Set-CASMailbox", Identity=mailbox, ActiveSyncBlockedDeviceIDs=[one["DeviceId"]])
    [cas] = s.ok("Get-CASMailbox", Identity=mailbox)
    assert one["DeviceId"] in cas["ActiveSyncBlockedDeviceIDs"]
    s.ok("Set-CASMailbox", Identity=mailbox, ActiveSyncBlockedDeviceIDs=None)


def recipients(s: Shell) -> None:
    people = s.ok("Get-Recipient", ResultSize="Unlimited")
    assert people and all(p["PrimarySmtpAddress"] for p in people)
    assert s.ok("Get-Mailbox", ResultSize="Unlimited")
    assert s.ok("Get-User", ResultSize="Unlimited")


def select_object(s: Shell) -> None:
    ps = s.run(("Get-ActiveSyncDevice", {"ResultSize": "Unlimited"}),
               ("Select-Object", {"Property": ["deviceid", "DeviceType"], "First": 2}))
    assert not ps.had_errors and len(ps.output) == 2
    # PowerShell names a selected property as the caller typed it, whatever the object's own casing.
    assert list(ps.output[0].extended_properties) == ["deviceid", "DeviceType"]
    first_two = [d["DeviceId"] for d in s.ok("Get-ActiveSyncDevice", ResultSize=2)]
    assert [o.extended_properties["deviceid"] for o in ps.output] == first_two


SCENARIOS: dict[str, Callable[[Shell], None]] = {
    "Get-ExchangeServer": get_exchange_server,
    "Set-ADServerSettings": set_ad_server_settings,
    "Get-Command": get_command,
    "Get-ActiveSyncDevice": get_activesync_device,
    "Get-MobileDevice": get_mobile_device,
    "Get-ActiveSyncDeviceStatistics": get_statistics,
    "Get-MobileDeviceStatistics": get_mobile_statistics,
    "Get-ActiveSyncDeviceClass": get_device_class,
    "Clear-ActiveSyncDevice": clear_activesync_device,
    "Clear-MobileDevice": clear_mobile_device,
    "Remove-ActiveSyncDevice": remove_activesync_device,
    "Remove-MobileDevice": remove_mobile_device,
    "New-ActiveSyncDeviceAccessRule": access_rules,
    "Get-ActiveSyncOrganizationSettings": organization_settings,
    "New-ActiveSyncMailboxPolicy": mailbox_policies,
    "New-MobileDeviceMailboxPolicy": mobile_device_policies,
    "Set-CASMailbox": cas_mailbox,
    "Get-Recipient": recipients,
    "Select-Object": select_object,
}
# Cmdlets covered inside another scenario.
ALSO_COVERED = {
    "Get-ActiveSyncDeviceAccessRule": "New-ActiveSyncDeviceAccessRule",
    "Set-ActiveSyncDeviceAccessRule": "New-ActiveSyncDeviceAccessRule",
    "Remove-ActiveSyncDeviceAccessRule": "New-ActiveSyncDeviceAccessRule",
    "Set-ActiveSyncOrganizationSettings": "Get-ActiveSyncOrganizationSettings",
    "Get-ActiveSyncMailboxPolicy": "New-ActiveSyncMailboxPolicy",
    "Set-ActiveSyncMailboxPolicy": "New-ActiveSyncMailboxPolicy",
    "Remove-ActiveSyncMailboxPolicy": "New-ActiveSyncMailboxPolicy",
    "Get-MobileDeviceMailboxPolicy": "New-MobileDeviceMailboxPolicy",
    "Set-MobileDeviceMailboxPolicy": "New-MobileDeviceMailboxPolicy",
    "Remove-MobileDeviceMailboxPolicy": "New-MobileDeviceMailboxPolicy",
    "Get-CASMailbox": "Set-CASMailbox",
    "Get-Mailbox": "Get-Recipient",
    "Get-User": "Get-Recipient",
}


def test_every_engine_cmdlet_has_a_scenario():
    assert set(Organization.cmdlet_names()) <= set(SCENARIOS) | set(ALSO_COVERED)


@pytest.mark.parametrize("cmdlet", list(SCENARIOS))
def test_cmdlet_through_pypsrp(shell: Shell, cmdlet: str) -> None:
    SCENARIOS[cmdlet](shell)


# -- errors -------------------------------------------------------------------------------------------
def test_unknown_identity(shell: Shell) -> None:
    error = shell.fails("Get-ActiveSyncDevice", Identity="nobody\\ExchangeActiveSyncDevices\\iPhone§0000")
    assert "ManagementObjectNotFoundException" in (error.reason or "") or "couldn't be found" in str(error)


def test_denied_cmdlet_does_not_exist(shell: Shell) -> None:
    shell.control.deny(DEFAULT_ACCOUNT[0], ["Clear-ActiveSyncDevice"])
    try:
        error = shell.fails("Clear-ActiveSyncDevice", Identity=shell.device(7)["Identity"], Confirm=False)
        assert error.reason == "CommandNotFoundException" and "is not recognized" in str(error)
    finally:
        shell.control.grant(DEFAULT_ACCOUNT[0], ["Clear-ActiveSyncDevice"])


def test_scripts_are_refused(shell: Shell) -> None:
    ps = PowerShell(shell.pool)
    ps.add_script("Get-ActiveSyncDevice | Clear-ActiveSyncDevice -Confirm:$false")
    ps.invoke()
    assert ps.had_errors and "no-language mode" in str(ps.streams.error[0])
