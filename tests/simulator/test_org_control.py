"""Control operations: snapshot, call log, RBAC, cmdlet budget, users/devices, reset, save/load, threads."""
from __future__ import annotations

import json
import threading
import uuid

import pytest

from easconsole.exchange.simulator.organization import Organization
from easconsole.exchange.simulator.types import CmdletError

from .conftest import ENGINE_ACCOUNT, ENGINE_NOW, EngineShell


def test_snapshot_counts(org: Organization) -> None:
    snap = org.snapshot()
    counts = snap["counts"]
    assert counts["devices"] == 60 and counts["users"] == counts["mailboxes"] > 0
    assert sum(counts["devices_by_access_state"].values()) == 60
    assert {r["identity"] for r in snap["rules"]} == {"WP8 (DeviceType)", "BBB100-2 (DeviceModel)", "Outlook (DeviceType)"}
    assert snap["organization_settings"]["DefaultAccessLevel"] == "Allow"
    assert [p["name"] for p in snap["policies"] if p["is_default"]] == ["Default"]
    json.dumps(snap)  # the protocol layer sends it as JSON


def test_call_log_records_every_call_as_json(org: Organization, sh: EngineShell) -> None:
    device = sh.run("Get-ActiveSyncDevice", ResultSize=1).props[0]
    sh.run("Get-ActiveSyncDevice", device["Guid"])
    sh.run("Set-CASMailbox", "nobody", ActiveSyncAllowedDeviceIDs={"Add": ["X"]})
    with pytest.raises(CmdletError):
        sh.run("Get-NotACmdlet")
    log = org.call_log()
    assert [e["cmdlet"] for e in log] == ["Get-ActiveSyncDevice", "Get-ActiveSyncDevice", "Set-CASMailbox", "Get-NotACmdlet"]
    assert log[0]["parameters"] == {"ResultSize": 1}
    assert log[1]["parameters"] == {"@0": str(device["Guid"])}
    assert log[2]["parameters"]["ActiveSyncAllowedDeviceIDs"] == {"Add": ["X"]}
    assert log[0]["account"] == ENGINE_ACCOUNT and log[0]["server"] == "EXCAS01"
    assert [e["seq"] for e in org.call_log(since=log[1]["seq"])] == [log[2]["seq"], log[3]["seq"]]
    json.dumps(log)


def test_denied_cmdlets_do_not_exist_in_the_session(org: Organization, sh: EngineShell) -> None:
    org.deny_cmdlets("svc-easconsole@contoso.com", ["Clear-ActiveSyncDevice", "get-exchangeserver"])
    names = sh.run("Get-Command").values("Name")
    assert "Clear-ActiveSyncDevice" not in names and "Get-ExchangeServer" not in names
    assert "Clear-ActiveSyncDevice" not in sh.session.commands()
    with pytest.raises(CmdletError) as caught:
        sh.run("Get-ExchangeServer")
    assert caught.value.info.exception_type.endswith("CommandNotFoundException")
    org.grant_cmdlets(ENGINE_ACCOUNT, ["Get-ExchangeServer"])
    assert sh.run("Get-ExchangeServer").records
    assert org.snapshot()["accounts"][0]["denied_cmdlets"] == ["clear-activesyncdevice"]


def test_rbac_is_per_account(org: Organization) -> None:
    org2 = Organization.generate(seed=1, devices=5, accounts={"CONTOSO\\a": "1", "CONTOSO\\b": "2"})
    org2.deny_cmdlets("CONTOSO\\a", ["Get-Mailbox"])
    assert "Get-Mailbox" not in EngineShell(org2, "CONTOSO\\a").session.commands()
    assert "Get-Mailbox" in EngineShell(org2, "CONTOSO\\b").session.commands()
    with pytest.raises(KeyError):
        org2.deny_cmdlets("CONTOSO\\ghost", ["Get-Mailbox"])


def test_cmdlet_budget(org: Organization, sh: EngineShell) -> None:
    org.set_cmdlet_budget(ENGINE_ACCOUNT, 3, period_seconds=60)
    sh.run("Get-ActiveSyncOrganizationSettings")
    sh.pipe(("Get-ActiveSyncDevice",), ("Get-ActiveSyncDeviceStatistics",))  # two cmdlets
    with pytest.raises(CmdletError, match="exceeds the throttling budget") as caught:
        sh.run("Get-ActiveSyncOrganizationSettings")
    assert caught.value.info.exception_type.endswith("OverBudgetException")
    assert "policy part 'PowerShellMaxCmdlets'" in caught.value.info.message
    wait_ms = int(caught.value.info.message.split("Suggested backoff time ")[1].split(" ms")[0])
    assert 0 < wait_ms <= 60_000  # until the oldest cmdlet of the window leaves it
    assert org.call_log()[-1]["throttled"] is True  # refused, never run
    assert "throttled" not in org.call_log()[-2]
    assert sh.run("Get-Command").records  # built-ins are not charged
    org.set_cmdlet_budget(ENGINE_ACCOUNT, None)
    assert sh.run("Get-ActiveSyncOrganizationSettings").records


def test_budget_for_every_account(org: Organization, sh: EngineShell) -> None:
    org.set_cmdlet_budget(None, 1)
    sh.run("Get-Mailbox", ResultSize=1)
    with pytest.raises(CmdletError, match="exceeds the throttling budget"):
        sh.run("Get-Mailbox", ResultSize=1)


def test_add_change_and_remove_users_and_devices(org: Organization, sh: EngineShell) -> None:
    user = org.add_user(alias="nina", first="Nina", last="New", site="Branch")
    assert user["upn"] == "nina@contoso.com" and user["devices"] == 0
    assert sh.run("Get-Mailbox", "nina").props[0]["Database"] == "DB02"
    device = org.add_device("nina@contoso.com", DeviceType="Outlook", FriendlyName="Nina's Outlook")
    assert device["identity"] == f"nina\\ExchangeActiveSyncDevices\\Outlook§{device['device_id']}"
    assert device["access_state"] == "Allowed" and device["access_rule"] == "Outlook (DeviceType)"
    p = sh.run("Get-ActiveSyncDevice", device["identity"]).props[0]
    assert p["FriendlyName"] == "Nina's Outlook" and p["FirstSyncTime"] is not None
    changed = org.change_device(device["device_id"], device_os="Outlook for iOS and Android 2.0", DeviceId="ab" * 16)
    assert changed["device_id"] == "AB" * 16
    assert sh.run("Get-ActiveSyncDevice", Identity=changed["identity"]).values("DeviceOS") == \
        ["Outlook for iOS and Android 2.0"]
    with pytest.raises(ValueError):
        org.change_device(changed["identity"], colour="red")
    org.remove_device(changed["identity"])
    assert sh.run("Get-CASMailbox", "nina").props[0]["HasActiveSyncDevicePartnership"] is False
    org.remove_user("nina")
    assert sh.run("Get-Mailbox", "nina").errors
    with pytest.raises(KeyError):
        org.remove_user("nina")
    with pytest.raises(ValueError):
        org.add_user(alias=sh.run("Get-Mailbox", ResultSize=1).props[0]["Alias"])


def test_reset_returns_to_the_generated_state(org: Organization, sh: EngineShell) -> None:
    before = sh.run("Get-ActiveSyncDevice", ResultSize="Unlimited").props
    snap = org.snapshot()
    org.servers[0].fqdn = "127.0.0.11"
    sh.run("Set-ActiveSyncOrganizationSettings", DefaultAccessLevel="Block")
    sh.run("Remove-ActiveSyncDevice", before[0]["Identity"], Confirm=False)
    org.add_user(alias="temp")
    org.deny_cmdlets(ENGINE_ACCOUNT, ["Get-Mailbox"])
    org.reset()
    assert sh.run("Get-ActiveSyncDevice", ResultSize="Unlimited").props == before
    after = org.snapshot()
    after["counts"].pop("sessions"), snap["counts"].pop("sessions")
    assert after["counts"] == snap["counts"] and after["rules"] == snap["rules"]
    assert "Get-Mailbox" in sh.session.commands()
    assert org.servers[0].fqdn == "127.0.0.11"  # the protocol layer's address survives a reset


def test_save_and_load_round_trip(org: Organization, sh: EngineShell, tmp_path) -> None:
    device = sh.run("Get-ActiveSyncDevice", ResultSize=1).props[0]
    sh.run("Clear-ActiveSyncDevice", device["Identity"], Confirm=False)
    sh.run("New-ActiveSyncDeviceAccessRule", QueryString="Pixel 8", Characteristic="DeviceModel", AccessLevel="Block")
    sh.run("New-ActiveSyncMailboxPolicy", "Kiosk", DevicePasswordEnabled=True)
    sh.run("Set-CASMailbox", device["Identity"].split("\\")[0], ActiveSyncBlockedDeviceIDs=["FFFF"])
    removed = sh.run("Get-ActiveSyncDevice", ResultSize=2).props[1]
    sh.run("Remove-ActiveSyncDevice", removed["Identity"], Confirm=False)
    org.deny_cmdlets(ENGINE_ACCOUNT, ["Get-User"])
    org.set_cmdlet_budget(ENGINE_ACCOUNT, 1000)
    path = tmp_path / "org.json"
    org.save(path)

    loaded = Organization.load(path)
    other = EngineShell(loaded)
    unlimited = {"ResultSize": "Unlimited"}
    for cmdlet, params in (("Get-ActiveSyncDevice", unlimited), ("Get-CASMailbox", unlimited),
                           ("Get-ActiveSyncMailboxPolicy", {}), ("Get-ActiveSyncDeviceAccessRule", {})):
        assert other.run(cmdlet, **params).props == sh.run(cmdlet, **params).props
    assert other.run("Get-ActiveSyncDeviceStatistics", device["Identity"]).props[0]["Status"].name == "DeviceWipePending"
    assert "Get-User" not in other.session.commands()
    assert loaded.snapshot()["budgets"] == org.snapshot()["budgets"]
    assert loaded.check_password(ENGINE_ACCOUNT, org.password_for(ENGINE_ACCOUNT))
    assert loaded.sync_device(removed["DeviceId"])["restored"] is True
    loaded.reset()  # a loaded organization can still go back to its generated state
    assert loaded.snapshot()["counts"]["devices"] == 60


def test_load_refuses_other_formats(tmp_path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{"format": 99}')
    with pytest.raises(ValueError):
        Organization.load(path)


def test_sync_all_updates_last_success_sync(org: Organization, sh: EngineShell) -> None:
    later = ENGINE_NOW.timestamp() + 3600
    org.clock = lambda: later
    synced = org.sync_all()
    stats = sh.pipe(("Get-ActiveSyncDevice", {"ResultSize": "Unlimited"}), ("Get-ActiveSyncDeviceStatistics",)).props
    fresh = [s for s in stats if s["LastSuccessSync"].timestamp() == later]
    assert len(fresh) == synced > 0
    assert len(fresh) < len(stats)  # lost phones and blocked devices did not sync


def test_sessions_run_concurrently_with_changes(org: Organization) -> None:
    big = Organization.generate(seed=9, devices=3000, now=ENGINE_NOW)
    errors: list[BaseException] = []
    counts: list[int] = []

    def reader() -> None:
        try:
            counts.append(len(EngineShell(big).pipe(("Get-ActiveSyncDevice", {"ResultSize": "Unlimited"}),
                                                    ("Get-ActiveSyncDeviceStatistics",)).records))
        except BaseException as exc:  # noqa: BLE001 - surfaced by the assertion below
            errors.append(exc)

    def writer() -> None:
        try:
            shell = EngineShell(big)
            for level in ("Quarantine", "Allow", "Block", "Allow"):
                shell.run("Set-ActiveSyncOrganizationSettings", DefaultAccessLevel=level)
            for i in range(20):
                big.add_device(shell.run("Get-Mailbox", ResultSize=1).props[0]["Alias"], DeviceType="iPhone")
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(4)] + [threading.Thread(target=writer)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert all(3000 <= c <= 3020 for c in counts)


def test_open_session_rejects_unknown_accounts(org: Organization) -> None:
    with pytest.raises(KeyError):
        org.open_session("CONTOSO\\mallory", org.servers[0])
    session = org.open_session(ENGINE_ACCOUNT, org.servers[2])
    assert org.snapshot()["counts"]["sessions"] == 1
    session.close()
    assert org.snapshot()["counts"]["sessions"] == 0
    with pytest.raises(CmdletError):
        list(session.run([]))
    assert isinstance(uuid.UUID(str(org.servers[0].guid)), uuid.UUID)


def test_state_file_is_json_and_loads_in_another_layout(org: Organization, tmp_path) -> None:
    path = tmp_path / "org.json"
    org.save(path)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["format"] == 2 and len(data["devices"]) == 60 and data["end"] is True
    pretty = tmp_path / "pretty.json"
    pretty.write_text(json.dumps(data, indent=2), encoding="utf-8")
    assert Organization.load(pretty).snapshot()["counts"] == Organization.load(path).snapshot()["counts"]


def test_save_does_not_hold_the_lock_while_writing(org: Organization, tmp_path, monkeypatch) -> None:
    from easconsole.exchange.simulator import state

    held: list[bool] = []
    real_write = state.write

    def spy(path, header, chunks):
        def watched(section):
            for rows in chunks(section):
                held.append(org.lock._is_owned())  # RLock: owned by this thread?
                yield rows
        real_write(path, header, watched)

    monkeypatch.setattr(state, "write", spy)
    org.save(tmp_path / "org.json")
    assert held and not any(held)


def test_the_state_file_keeps_odd_characters(org: Organization, tmp_path) -> None:
    """A lone surrogate or a NUL a phone reported survives saving and loading the organization."""
    [device] = org.store.search_devices(text=next(iter(org.store.devices.values())).device_id)
    identity = org.store.device_identity(device)
    org.change_device(identity, FriendlyName="Anna\ud800\x00 😀", DeviceUserAgent="\u202eUA")
    org.save(tmp_path / "org.json")
    loaded = Organization.load(tmp_path / "org.json").store
    [again] = loaded.find_devices(identity)
    assert (loaded.friendly_name(again), again.user_agent) == ("Anna\ud800\x00 😀", "\u202eUA")
