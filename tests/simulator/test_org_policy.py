"""The default mailbox policy reaches devices at their next sync; some cannot honour every setting."""
from __future__ import annotations

import pytest

from easconsole.exchange.simulator.organization import Organization
from easconsole.exchange.simulator.types import CmdletError

from .conftest import EngineShell


def statistics(sh: EngineShell, identity: str) -> dict:
    return sh.run("Get-ActiveSyncDeviceStatistics", identity).props[0]


@pytest.fixture
def devices(org: Organization) -> dict:
    org.add_user(alias="tester", first="Terry", last="Tester")
    made = {
        "iphone": org.add_device("tester", device_type="iPhone", model="iPhone15C2"),
        "android": org.add_device("tester", device_type="SAMSUNGSMG998B", model="SM-G998B", eas_version="16.1"),
        "old": org.add_device("tester", device_type="PalmPre", model="Pre", eas_version="2.5"),
    }
    return {key: device["identity"] for key, device in made.items()}


def test_a_policy_change_is_applied_at_the_next_sync_in_full_or_partly(org: Organization, sh: EngineShell, devices: dict) -> None:
    sh.run("Set-ActiveSyncMailboxPolicy", "Default", AllowWiFi=False, DevicePasswordEnabled=True, MinDevicePasswordLength=6)
    for identity in devices.values():
        org.sync_device(identity)
    status = {key: statistics(sh, identity)["DevicePolicyApplicationStatus"].name for key, identity in devices.items()}
    # Apple devices cannot turn Wi-Fi off through EAS; EAS 2.5 knows only the password settings.
    assert status == {"iphone": "PartiallyApplied", "android": "AppliedInFull", "old": "PartiallyApplied"}
    assert statistics(sh, devices["android"])["DevicePolicyApplied"] == "Default"

    sh.run("Set-ActiveSyncMailboxPolicy", "Default", AllowWiFi=True)
    org.sync_device(devices["iphone"])
    assert statistics(sh, devices["iphone"])["DevicePolicyApplicationStatus"].name == "AppliedInFull"


def test_a_block_rule_names_itself_on_the_device_and_a_long_rule_name_is_refused(org: Organization, sh: EngineShell,
                                                                                 devices: dict) -> None:
    sh.run("New-ActiveSyncDeviceAccessRule", QueryString="SM-G998B", Characteristic="DeviceModel", AccessLevel="Block")
    org.sync_device(devices["android"])
    stats = statistics(sh, devices["android"])
    assert (stats["DeviceAccessState"].name, stats["DeviceAccessStateReason"].name,
            stats["DeviceAccessControlRule"]) == ("Blocked", "DeviceRule", "SM-G998B (DeviceModel)")
    with pytest.raises(CmdletError, match="maximum length is 64"):
        sh.run("New-ActiveSyncDeviceAccessRule", QueryString="x" * 60, Characteristic="UserAgent", AccessLevel="Allow")


def test_the_admin_center_changes_the_policy_behind_the_consoles_back(org: Organization, sh: EngineShell) -> None:
    org.admin_center("Set-ActiveSyncMailboxPolicy", {"Identity": "Default", "MinDevicePasswordLength": 4})
    assert sh.run("Get-ActiveSyncMailboxPolicy", "Default").props[0]["MinDevicePasswordLength"] == 4
    with pytest.raises(ValueError):
        org.admin_center("Clear-ActiveSyncDevice", {"Identity": "x"})
