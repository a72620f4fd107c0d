"""Remote wipe lifecycle, account-only wipe, cancel, and remove + resync of partnerships."""
from __future__ import annotations

import datetime as dt

import pytest

from easconsole.exchange.simulator.organization import Organization
from easconsole.exchange.simulator.types import CmdletError

from .conftest import ENGINE_ACCOUNT, EngineShell

NOW = dt.datetime(2026, 2, 1, 9, 0, tzinfo=dt.timezone.utc)


@pytest.fixture
def phone(org: Organization) -> dict:
    org.clock = lambda: NOW.timestamp()
    org.add_user(alias="walter", first="Walter", last="Wipe")
    return org.add_device("walter", DeviceType="iPhone", DeviceModel="iPhone15C2", DeviceActiveSyncVersion="16.1")


def stats(sh: EngineShell, identity: str) -> dict:
    return sh.run("Get-ActiveSyncDeviceStatistics", Identity=identity).props[0]


def test_wipe_stays_pending_until_the_device_syncs(org: Organization, sh: EngineShell, phone: dict) -> None:
    result = sh.run("Clear-ActiveSyncDevice", phone["identity"], Confirm=False,
                    NotificationEmailAddresses=["helpdesk@contoso.com"])
    assert result.records == [] and result.errors == []
    s = stats(sh, phone["identity"])
    assert s["Status"].name == "DeviceWipePending"
    assert s["DeviceWipeRequestTime"] == NOW and s["LastDeviceWipeRequestor"] == ENGINE_ACCOUNT
    assert s["DeviceWipeSentTime"] is None and s["DeviceWipeAckTime"] is None
    assert org.snapshot()["counts"]["open_wipes"] >= 1

    later = NOW + dt.timedelta(minutes=5)
    org.clock = lambda: later.timestamp()
    synced = org.sync_device(phone["device_id"])
    assert synced["wipe"] == "acknowledged" and synced["status"] == "DeviceWipeSucceeded"
    s = stats(sh, phone["identity"])
    assert s["Status"].name == "DeviceWipeSucceeded"
    assert s["DeviceWipeRequestTime"] < s["DeviceWipeSentTime"] < s["DeviceWipeAckTime"] == later
    # A wiped device never syncs again.
    assert org.sync_device(phone["device_id"])["synced"] is False


def test_sync_all_delivers_pending_wipes(org: Organization, sh: EngineShell, phone: dict) -> None:
    sh.run("Clear-ActiveSyncDevice", phone["identity"], Confirm=False)
    assert org.sync_all() > 0
    assert stats(sh, phone["identity"])["Status"].name == "DeviceWipeSucceeded"


def test_wipe_of_a_lost_phone_stays_pending_in_sync_all(org: Organization, sh: EngineShell) -> None:
    org.add_user(alias="lost")
    dormant = org.add_device("lost", DeviceType="iPhone", dormant=True)
    sh.run("Clear-ActiveSyncDevice", dormant["identity"], Confirm=False)
    org.sync_all()
    assert stats(sh, dormant["identity"])["Status"].name == "DeviceWipePending"
    org.sync_all(include_dormant=True)
    assert stats(sh, dormant["identity"])["Status"].name == "DeviceWipeSucceeded"


def test_cancel_before_the_device_syncs(org: Organization, sh: EngineShell, phone: dict) -> None:
    sh.run("Clear-ActiveSyncDevice", phone["identity"], Confirm=False)
    sh.run("Clear-ActiveSyncDevice", phone["identity"], Cancel=True, Confirm=False)
    s = stats(sh, phone["identity"])
    assert s["Status"].name == "DeviceOk" and s["DeviceWipeRequestTime"] is None
    assert org.sync_device(phone["device_id"])["wipe"] is None
    assert stats(sh, phone["identity"])["Status"].name == "DeviceOk"


def test_cancel_after_acknowledgement_is_an_error(org: Organization, sh: EngineShell, phone: dict) -> None:
    sh.run("Clear-ActiveSyncDevice", phone["identity"], Confirm=False)
    org.sync_device(phone["device_id"])
    with pytest.raises(CmdletError, match="already acknowledged") as caught:
        sh.run("Clear-ActiveSyncDevice", phone["identity"], Cancel=True, Confirm=False)
    assert caught.value.info.activity == "Clear-ActiveSyncDevice"
    assert stats(sh, phone["identity"])["Status"].name == "DeviceWipeSucceeded"


@pytest.mark.parametrize("cmdlet", ["Clear-ActiveSyncDevice", "Clear-MobileDevice", "Remove-ActiveSyncDevice"])
def test_destructive_cmdlets_need_confirm_false(sh: EngineShell, phone: dict, cmdlet: str) -> None:
    with pytest.raises(CmdletError) as caught:
        sh.run(cmdlet, phone["identity"])
    info = caught.value.info
    assert info.exception_type == "System.Management.Automation.Host.HostException"
    assert "does not support user interaction" in info.message and "Are you sure" in info.message
    assert stats(sh, phone["identity"])["Status"].name == "DeviceOk"
    with pytest.raises(CmdletError):
        sh.run(cmdlet, phone["identity"], Confirm=True)


def test_whatif_changes_nothing(sh: EngineShell, phone: dict) -> None:
    sh.run("Clear-ActiveSyncDevice", phone["identity"], WhatIf=True)
    assert stats(sh, phone["identity"])["Status"].name == "DeviceOk"


def test_account_only_wipe_on_a_16_1_client(org: Organization, sh: EngineShell, phone: dict) -> None:
    sh.run("Clear-MobileDevice", phone["identity"], AccountOnly=True, Confirm=False)
    s = stats(sh, phone["identity"])
    assert s["Status"].name == "AccountOnlyDeviceWipePending"
    assert s["AccountOnlyDeviceWipeRequestTime"] == NOW and s["LastAccountOnlyDeviceWipeRequestor"] == ENGINE_ACCOUNT
    assert s["DeviceWipeRequestTime"] is None
    assert org.sync_device(phone["device_id"])["wipe"] == "account-only acknowledged"
    s = stats(sh, phone["identity"])
    assert s["Status"].name == "AccountOnlyDeviceWipeSucceeded"
    assert s["AccountOnlyDeviceWipeSentTime"] is not None and s["AccountOnlyDeviceWipeAckTime"] is not None


def test_account_only_wipe_fails_on_an_older_client(org: Organization, sh: EngineShell, phone: dict) -> None:
    old = org.add_device("walter", DeviceType="SAMSUNGSMG998B", DeviceActiveSyncVersion="14.1")
    sh.run("Clear-MobileDevice", old["identity"], AccountOnly=True, Confirm=False)
    later = NOW + dt.timedelta(hours=1)
    org.clock = lambda: later.timestamp()
    result = org.sync_device(old["device_id"])
    assert "unsupported" in result["wipe"] and result["synced"] is True  # mail keeps flowing
    s = stats(sh, old["identity"])
    assert s["Status"].name == "AccountOnlyDeviceWipePending"
    assert s["AccountOnlyDeviceWipeSentTime"] is None and s["AccountOnlyDeviceWipeAckTime"] is None
    assert "16.1" in s["StatusNote"] and s["LastSuccessSync"] == later
    sh.run("Clear-MobileDevice", old["identity"], Cancel=True, Confirm=False)  # the console can withdraw it
    assert stats(sh, old["identity"])["Status"].name == "DeviceOk"


def test_clear_activesync_device_has_no_account_only(sh: EngineShell, phone: dict) -> None:
    with pytest.raises(CmdletError) as caught:
        sh.run("Clear-ActiveSyncDevice", phone["identity"], AccountOnly=True, Confirm=False)
    assert caught.value.info.exception_type == "System.Management.Automation.ParameterBindingException"


def test_device_without_remote_wipe_support_shows_blocked(org: Organization, sh: EngineShell, phone: dict) -> None:
    palm = org.add_device("walter", DeviceModel="Pre")
    sh.run("Clear-ActiveSyncDevice", palm["identity"], Confirm=False)
    assert stats(sh, palm["identity"])["IsRemoteWipeSupported"] is False
    assert stats(sh, palm["identity"])["Status"].name == "DeviceBlocked"
    org.sync_device(palm["device_id"])
    assert stats(sh, palm["identity"])["Status"].name == "DeviceBlocked"


def test_removed_partnership_comes_back_at_the_next_sync(org: Organization, sh: EngineShell, phone: dict) -> None:
    guid = sh.run("Get-ActiveSyncDevice", phone["identity"]).props[0]["Guid"]
    sh.run("Remove-ActiveSyncDevice", phone["identity"], Confirm=False)
    assert sh.run("Get-ActiveSyncDevice", phone["identity"]).errors
    assert org.snapshot()["counts"]["removed_partnerships"] == 1
    result = org.sync_device(phone["device_id"])
    assert result["restored"] is True and result["synced"] is True
    back = sh.run("Get-ActiveSyncDevice", phone["identity"]).props[0]
    assert back["DeviceId"] == phone["device_id"] and back["Guid"] != guid and back["FirstSyncTime"] == NOW


def test_removed_partnerships_come_back_with_sync_all(org: Organization, sh: EngineShell, phone: dict) -> None:
    sh.run("Remove-ActiveSyncDevice", phone["identity"], Confirm=False)
    org.sync_all()
    assert sh.run("Get-ActiveSyncDevice", phone["identity"]).records


def test_wiped_and_removed_device_never_comes_back(org: Organization, sh: EngineShell, phone: dict) -> None:
    sh.run("Clear-ActiveSyncDevice", phone["identity"], Confirm=False)
    org.sync_device(phone["device_id"])
    sh.run("Remove-ActiveSyncDevice", phone["identity"], Confirm=False)
    assert org.sync_device(phone["device_id"])["synced"] is False
    org.sync_all(include_dormant=True)
    assert sh.run("Get-ActiveSyncDevice", phone["identity"]).errors


def test_unknown_device_for_sync_is_a_key_error(org: Organization) -> None:
    with pytest.raises(KeyError):
        org.sync_device("0" * 32)


def test_remove_by_pipeline(org: Organization, sh: EngineShell, phone: dict) -> None:
    result = sh.pipe(("Get-ActiveSyncDevice", {"Mailbox": "walter"}), ("Remove-ActiveSyncDevice", {"Confirm": False}))
    assert result.errors == []
    assert sh.run("Get-ActiveSyncDevice", Mailbox="walter").records == []
