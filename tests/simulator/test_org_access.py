"""Access state decided in Exchange's order (reference §1.4), driven through the cmdlets."""
from __future__ import annotations

import pytest

from easconsole.exchange.simulator.organization import Organization

from .conftest import EngineShell


@pytest.fixture
def clean(org: Organization, sh: EngineShell) -> dict:
    """A mailbox with one fresh iPhone, no generated rules, default access Allow."""
    for rule in sh.run("Get-ActiveSyncDeviceAccessRule").records:
        sh.run("Remove-ActiveSyncDeviceAccessRule", rule.to_string, Confirm=False)
    user = org.add_user(alias="tester", first="Terry", last="Tester")
    device = org.add_device("tester", device_type="iPhone", model="iPhone15C2", device_os="iOS 17.5.1 21F90")
    return {"user": user["alias"], "id": device["device_id"], "identity": device["identity"]}


def state(sh: EngineShell, identity: str) -> tuple[str, str, str | None]:
    p = sh.run("Get-ActiveSyncDevice", identity).props[0]
    return p["DeviceAccessState"].name, p["DeviceAccessStateReason"].name, p["DeviceAccessControlRule"]


def rule(sh: EngineShell, query: str, characteristic: str, level: str) -> None:
    sh.run("New-ActiveSyncDeviceAccessRule", QueryString=query, Characteristic=characteristic, AccessLevel=level)


def test_no_rule_means_the_org_default(sh: EngineShell, clean: dict) -> None:
    assert state(sh, clean["identity"]) == ("Allowed", "Global", None)


def test_disabled_activesync_blocks_even_an_allowed_device(sh: EngineShell, clean: dict) -> None:
    sh.run("Set-CASMailbox", clean["user"], ActiveSyncAllowedDeviceIDs=[clean["id"]], ActiveSyncEnabled=False)
    assert state(sh, clean["identity"])[0] == "Blocked"


def test_personal_block_beats_personal_allow_and_rules(sh: EngineShell, clean: dict) -> None:
    rule(sh, "iPhone", "DeviceType", "Allow")
    sh.run("Set-CASMailbox", clean["user"], ActiveSyncAllowedDeviceIDs=[clean["id"]],
           ActiveSyncBlockedDeviceIDs=[clean["id"]])
    assert state(sh, clean["identity"]) == ("Blocked", "Individual", None)


def test_personal_allow_beats_a_block_rule(sh: EngineShell, clean: dict) -> None:
    rule(sh, "iPhone", "DeviceType", "Block")
    assert state(sh, clean["identity"]) == ("Blocked", "DeviceRule", "iPhone (DeviceType)")
    sh.run("Set-CASMailbox", clean["user"], ActiveSyncAllowedDeviceIDs={"Add": clean["id"]})
    assert state(sh, clean["identity"]) == ("Allowed", "Individual", None)


def test_block_rule_beats_quarantine_beats_allow(sh: EngineShell, clean: dict) -> None:
    rule(sh, "iPhone15C2", "DeviceModel", "Allow")
    assert state(sh, clean["identity"]) == ("Allowed", "DeviceRule", "iPhone15C2 (DeviceModel)")
    rule(sh, "iOS 17.5.1 21F90", "DeviceOS", "Quarantine")
    assert state(sh, clean["identity"]) == ("Quarantined", "DeviceRule", "iOS 17.5.1 21F90 (DeviceOS)")
    rule(sh, "iPhone", "DeviceType", "Block")
    assert state(sh, clean["identity"]) == ("Blocked", "DeviceRule", "iPhone (DeviceType)")


def test_user_agent_rules_match(org: Organization, sh: EngineShell, clean: dict) -> None:
    org.change_device(clean["identity"], DeviceUserAgent="Apple-iPhone15C2/2105.90")
    rule(sh, "Apple-iPhone15C2/2105.90", "UserAgent", "Quarantine")
    assert state(sh, clean["identity"])[:2] == ("Quarantined", "DeviceRule")


def test_rule_changes_re_evaluate_existing_devices(sh: EngineShell, clean: dict) -> None:
    rule(sh, "iPhone", "DeviceType", "Quarantine")
    assert state(sh, clean["identity"])[0] == "Quarantined"
    sh.run("Set-ActiveSyncDeviceAccessRule", "iPhone (DeviceType)", AccessLevel="Allow")
    assert state(sh, clean["identity"]) == ("Allowed", "DeviceRule", "iPhone (DeviceType)")
    sh.run("Remove-ActiveSyncDeviceAccessRule", "iPhone (DeviceType)", Confirm=False)
    assert state(sh, clean["identity"]) == ("Allowed", "Global", None)


def test_default_access_level_applies_to_existing_partnerships(org: Organization, sh: EngineShell, clean: dict) -> None:
    rule(sh, "Outlook", "DeviceType", "Allow")
    sh.run("Set-ActiveSyncOrganizationSettings", DefaultAccessLevel="Quarantine")
    assert state(sh, clean["identity"]) == ("Quarantined", "Global", None)
    outlook = sh.run("Get-ActiveSyncDevice", Filter="DeviceType -eq 'Outlook'", ResultSize="Unlimited").props
    assert outlook and all(p["DeviceAccessState"].name == "Allowed" for p in outlook)  # rules still win
    counts = org.snapshot()["counts"]["devices_by_access_state"]
    assert counts["Quarantined"] > counts.get("Allowed", 0) / 10
    sh.run("Set-ActiveSyncOrganizationSettings", DefaultAccessLevel="Allow")
    assert state(sh, clean["identity"]) == ("Allowed", "Global", None)


def test_non_provisionable_device_is_blocked_by_policy(org: Organization, sh: EngineShell, clean: dict) -> None:
    palm = org.add_device(clean["user"], DeviceModel="Pre")  # the Palm Pre profile cannot be provisioned
    assert state(sh, palm["identity"])[0] == "Allowed"
    sh.run("Set-ActiveSyncMailboxPolicy", "Default", AllowNonProvisionableDevices=False)
    assert state(sh, palm["identity"]) == ("Blocked", "Policy", None)
    assert state(sh, clean["identity"])[0] == "Allowed"


def test_access_is_re_evaluated_when_the_device_syncs(org: Organization, sh: EngineShell, clean: dict) -> None:
    rule(sh, "iPhone16C1", "DeviceModel", "Block")
    assert state(sh, clean["identity"])[0] == "Allowed"
    org.change_device(clean["identity"], DeviceModel="iPhone16C1")  # the user bought a new phone
    result = org.sync_device(clean["id"])
    assert result["access_state"] == "Blocked" and result["synced"] is False
    assert state(sh, clean["identity"]) == ("Blocked", "DeviceRule", "iPhone16C1 (DeviceModel)")


def test_quarantined_device_sync_attempts_do_not_count_as_success(org: Organization, sh: EngineShell,
                                                                   clean: dict) -> None:
    before = sh.run("Get-ActiveSyncDeviceStatistics", clean["identity"]).props[0]
    rule(sh, "iPhone", "DeviceType", "Quarantine")
    org.clock = lambda: before["LastSuccessSync"].timestamp() + 600
    org.sync_device(clean["id"])
    after = sh.run("Get-ActiveSyncDeviceStatistics", clean["identity"]).props[0]
    assert after["LastSuccessSync"] == before["LastSuccessSync"]
    assert after["LastSyncAttemptTime"] > before["LastSyncAttemptTime"]
