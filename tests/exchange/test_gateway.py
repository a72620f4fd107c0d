"""Every gateway operation once through pypsrp against the simulated organization (Basic and NTLM),
checking the simulator saw exactly the cmdlet and parameters expected."""
from __future__ import annotations

import datetime as dt
import logging
import threading
from typing import Any, Iterator

import pytest
from pypsrp.powershell import PowerShell, RunspacePool

from easconsole.exchange import connection as connection_module
from easconsole.exchange.errors import (ExchangeCommandError, ExchangeConnectionError, ExchangeError,
                                        ExchangeNotSupportedError, ExchangeObjectNotFound, ExchangePermissionError,
                                        ExchangeThrottledError)
from easconsole.exchange.gateway import ExchangeGateway, PsrpGateway
from easconsole.exchange.simulator.testing import (DEFAULT_ACCOUNT, READONLY_ACCOUNT, ControlClient, make_organization,
                                                   running_simulator, wsman_for)
from easconsole.exchange.values import ConnectionSettings, DeviceRecord

from .conftest import CallLog, settings_for

pytestmark = pytest.mark.simulator
NOW = dt.datetime(2026, 1, 15, 12, 0, tzinfo=dt.timezone.utc)


@pytest.fixture(scope="module")
def sim() -> Iterator[Any]:
    with running_simulator(make_organization(devices=120, seed=11, now=NOW)) as running:
        yield running


@pytest.fixture(scope="module")
def control(sim: Any) -> Iterator[ControlClient]:
    client = ControlClient.for_simulator(sim)
    yield client
    client.close()


@pytest.fixture(scope="module", params=["basic", "ntlm"])
def gateway(request: Any, sim: Any) -> Iterator[PsrpGateway]:
    with PsrpGateway(settings_for(sim, auth=request.param)) as gw:
        gw.auth = request.param  # type: ignore[attr-defined]  # for tests that split devices by auth
        yield gw


@pytest.fixture
def log(control: ControlClient) -> CallLog:
    calls = CallLog(control)
    calls.mark()
    return calls


@pytest.fixture(scope="module")
def all_devices(sim: Any) -> list[DeviceRecord]:
    with PsrpGateway(settings_for(sim)) as gw:
        return list(gw.devices())


def pick(devices: list[DeviceRecord], gateway: Any, index: int) -> DeviceRecord:
    """A device for this auth run only (so the Basic and NTLM runs never touch the same one)."""
    offset = 0 if gateway.auth == "basic" else len(devices) // 2
    return devices[offset + index]


def cas_lists(sim: Any, mailbox: str) -> tuple[list[str], list[str]]:
    with RunspacePool(wsman_for(sim, *DEFAULT_ACCOUNT), configuration_name="Microsoft.Exchange") as pool:
        ps = PowerShell(pool).add_cmdlet("Get-CASMailbox").add_parameter("Identity", mailbox)
        props = ps.invoke()[0].adapted_properties
        return list(props["ActiveSyncAllowedDeviceIDs"] or []), list(props["ActiveSyncBlockedDeviceIDs"] or [])


# ---- session, organization, servers ---------------------------------------------------------------
def test_gateway_implements_the_interface(gateway: PsrpGateway) -> None:
    assert isinstance(gateway, ExchangeGateway)
    assert gateway.current_server == "EXCAS01" and gateway.current_site == "HQ"


def test_session_starts_with_view_entire_forest(sim: Any, control: ControlClient) -> None:
    log = CallLog(control)
    log.mark()
    with PsrpGateway(settings_for(sim, auth="ntlm")) as gw:
        gw.organization()
    calls = log.since(skip_session_setup=False)
    assert calls[0]["cmdlet"] == "Set-ADServerSettings"
    assert calls[0]["parameters"] == {"ViewEntireForest": True}


def test_organization_is_identified_from_exchange(gateway: PsrpGateway, log: CallLog) -> None:
    org = gateway.organization()
    assert org.name == "Contoso" and org.guid is not None
    assert org.distinguished_name.startswith("CN=Mobile Mailbox Settings,CN=Contoso,")
    assert log.only("Get-ActiveSyncOrganizationSettings")["parameters"] == {}


def test_servers_and_known_servers(gateway: PsrpGateway, sim: Any) -> None:
    servers = {s.name: s for s in gateway.servers()}
    assert set(servers) == {"EXCAS01", "EXCAS02", "EXCAS03", "EXMBX01", "EXMBX02"}
    assert servers["EXCAS02"].site == "HQ" and servers["EXCAS02"].roles == ("ClientAccess",)
    assert servers["EXMBX02"].fqdn == sim.server_address("EXMBX02") and servers["EXMBX02"].is_mailbox
    assert {s.name for s in gateway.known_servers} == set(servers)


# ---- devices and statistics ------------------------------------------------------------------------
def test_devices_are_streamed_unlimited_as_plain_values(gateway: PsrpGateway, control: ControlClient,
                                                        log: CallLog) -> None:
    devices = list(gateway.devices())
    assert len(devices) == control.state()["organization"]["counts"]["devices"]
    assert log.only("Get-ActiveSyncDevice")["parameters"] == {"ResultSize": "Unlimited"}
    device = devices[0]
    assert device.identity and device.device_id and device.guid is not None
    assert device.first_sync_time is not None and device.first_sync_time.tzinfo == dt.timezone.utc
    assert device.device_access_state in ("Allowed", "Blocked", "Quarantined", "DeviceDiscovery", "Unknown")
    assert isinstance(device.device_access_state_reason, str)


def test_devices_with_filter(gateway: PsrpGateway, log: CallLog) -> None:
    devices = list(gateway.devices(filter='DeviceType -eq "iPhone"', result_size=10))
    assert devices and len(devices) <= 10 and all(d.device_type == "iPhone" for d in devices)
    assert log.only("Get-ActiveSyncDevice")["parameters"] == {"ResultSize": 10, "Filter": 'DeviceType -eq "iPhone"'}


def test_device_statistics(gateway: PsrpGateway, all_devices: list[DeviceRecord], log: CallLog) -> None:
    device = pick(all_devices, gateway, 0)
    stats = gateway.device_statistics(device.identity)
    assert stats.identity == device.identity and stats.guid == device.guid
    assert stats.status == "DeviceOk" and stats.device_policy_applied
    assert stats.device_policy_application_status in ("AppliedInFull", "PartiallyApplied", "NotApplied", "Unknown",
                                                      "ExternallyManaged")
    assert log.only("Get-ActiveSyncDeviceStatistics")["parameters"] == {"Identity": device.identity}


def test_statistics_of_every_device_in_one_pipeline(gateway: PsrpGateway, log: CallLog) -> None:
    current = {d.guid for d in gateway.devices()}  # the Basic run removed a device
    log.mark()
    stats = list(gateway.statistics())
    assert {s.guid for s in stats} == current
    calls = log.since()
    assert [c["cmdlet"] for c in calls] == ["Get-ActiveSyncDevice", "Get-ActiveSyncDeviceStatistics", "Select-Object"]
    assert "DeviceWipeAckTime" in calls[2]["parameters"]["Property"]


def test_devices_with_statistics_joins_two_streams(gateway: PsrpGateway, log: CallLog) -> None:
    current = {d.guid for d in gateway.devices()}  # the Basic run removed a device
    log.mark()
    pairs = list(gateway.devices_with_statistics())
    assert {device.guid for device, _ in pairs} == current
    assert all(stats is not None and stats.guid == device.guid for device, stats in pairs)
    assert [c["cmdlet"] for c in log.since()].count("Get-ActiveSyncDevice") == 2  # not one call per device


def test_recipients(gateway: PsrpGateway, log: CallLog) -> None:
    people = list(gateway.recipients())
    assert people and all(p.primary_smtp_address and p.alias and p.guid for p in people)
    assert log.only("Get-Recipient")["parameters"] == {"ResultSize": "Unlimited"}


def test_one_recipient(gateway: PsrpGateway, log: CallLog) -> None:
    smtp = next(iter(gateway.recipients(result_size=1))).primary_smtp_address
    log.mark()
    person = gateway.recipient(smtp)
    assert person.primary_smtp_address == smtp and person.recipient_type_details == "UserMailbox"
    assert log.only("Get-Recipient")["parameters"] == {"Identity": smtp}
    with pytest.raises(ExchangeObjectNotFound):
        gateway.recipient("nobody@contoso.com")


# ---- device actions ---------------------------------------------------------------------------------
def test_wipe_then_cancel(gateway: PsrpGateway, all_devices: list[DeviceRecord], log: CallLog) -> None:
    device = pick(all_devices, gateway, 1)
    result = gateway.wipe(device.identity, notification_addresses=["helpdesk@contoso.com"])
    call = log.only("Clear-ActiveSyncDevice")
    assert call["parameters"] == {"Identity": device.identity, "NotificationEmailAddresses": ["helpdesk@contoso.com"],
                                  "Confirm": False}
    assert result.cmdlet == "Clear-ActiveSyncDevice" and result.server == "EXCAS01"
    assert result.as_dict()["parameters"]["Confirm"] is False
    stats = gateway.device_statistics(device.identity)
    assert stats.status == "DeviceWipePending" and stats.device_wipe_request_time is not None
    assert stats.last_device_wipe_requestor == "CONTOSO\\easadmin"
    log.mark()
    gateway.cancel_wipe(device.identity)
    assert log.only("Clear-ActiveSyncDevice")["parameters"] == {"Identity": device.identity, "Cancel": True,
                                                                "Confirm": False}
    assert gateway.device_statistics(device.identity).status == "DeviceOk"


def test_account_only_wipe(gateway: PsrpGateway, all_devices: list[DeviceRecord], log: CallLog) -> None:
    device = pick(all_devices, gateway, 2)
    gateway.wipe(device.identity, account_only=True)
    assert log.only("Clear-MobileDevice")["parameters"] == {"Identity": device.identity, "AccountOnly": True,
                                                            "Confirm": False}
    assert gateway.device_statistics(device.identity).status == "AccountOnlyDeviceWipePending"
    log.mark()
    gateway.cancel_wipe(device.identity, account_only=True)
    assert log.only("Clear-MobileDevice")["parameters"] == {"Identity": device.identity, "Cancel": True,
                                                            "AccountOnly": True, "Confirm": False}


def test_allow_then_block_keeps_other_ids(gateway: PsrpGateway, all_devices: list[DeviceRecord], sim: Any,
                                          log: CallLog) -> None:
    device = pick(all_devices, gateway, 3)
    mailbox = device.mailbox
    gateway.allow_device(mailbox, "OTHERALLOWED1")
    gateway.block_device(mailbox, "OTHERBLOCKED1")
    log.mark()
    gateway.allow_device(mailbox, device.device_id)
    assert log.only("Set-CASMailbox")["parameters"] == {
        "Identity": mailbox, "ActiveSyncAllowedDeviceIDs": {"Add": [device.device_id]},
        "ActiveSyncBlockedDeviceIDs": {"Remove": [device.device_id]}}
    allowed, blocked = cas_lists(sim, mailbox)
    assert set(allowed) == {"OTHERALLOWED1", device.device_id} and blocked == ["OTHERBLOCKED1"]
    assert gateway.device_statistics(device.identity).device_access_state_reason == "Individual"
    gateway.block_device(mailbox, device.device_id)
    allowed, blocked = cas_lists(sim, mailbox)
    assert allowed == ["OTHERALLOWED1"] and set(blocked) == {"OTHERBLOCKED1", device.device_id}
    assert gateway.device_statistics(device.identity).device_access_state == "Blocked"
    log.mark()
    gateway.remove_from_lists(mailbox, device.device_id)
    assert log.only("Set-CASMailbox")["parameters"] == {
        "Identity": mailbox, "ActiveSyncAllowedDeviceIDs": {"Remove": [device.device_id]},
        "ActiveSyncBlockedDeviceIDs": {"Remove": [device.device_id]}}
    assert cas_lists(sim, mailbox) == (["OTHERALLOWED1"], ["OTHERBLOCKED1"])


def test_remove_device(gateway: PsrpGateway, all_devices: list[DeviceRecord], log: CallLog) -> None:
    device = pick(all_devices, gateway, 4)
    gateway.remove_device(device.identity)
    assert log.only("Remove-ActiveSyncDevice")["parameters"] == {"Identity": device.identity, "Confirm": False}
    with pytest.raises(ExchangeObjectNotFound):
        gateway.device_statistics(device.identity)


def test_unknown_identity_is_object_not_found(gateway: PsrpGateway) -> None:
    identity = "nobody\\ExchangeActiveSyncDevices\\iPhone§NOPE"
    with pytest.raises(ExchangeObjectNotFound) as caught:
        gateway.wipe(identity)
    error = caught.value
    assert error.cmdlet == "Clear-ActiveSyncDevice" and error.server == "EXCAS01"
    assert error.exception_type.endswith("ManagementObjectNotFoundException") and error.target == identity
    assert "ManagementObjectNotFoundException" in error.fq_error_id and error.category == "ObjectNotFound"
    assert not error.terminating  # Exchange writes it as a non-terminating error record
    assert str(error).startswith("Running Clear-ActiveSyncDevice on EXCAS01 failed: ")
    with pytest.raises(ValueError):
        gateway.device_statistics("")  # never sent: an empty -Identity would match everything


# ---- rules, settings, policies ------------------------------------------------------------------------
def test_access_rules_lifecycle(gateway: PsrpGateway, log: CallLog) -> None:
    model = f"GatewayPhone-{gateway.auth}"  # type: ignore[attr-defined]
    result = gateway.new_access_rule("DeviceModel", model, "Quarantine")
    assert log.only("New-ActiveSyncDeviceAccessRule")["parameters"] == {
        "Characteristic": "DeviceModel", "QueryString": model, "AccessLevel": "Quarantine"}
    rule = result.created
    assert rule.identity == f"{model} (DeviceModel)" and rule.access_level == "Quarantine"
    log.mark()
    gateway.set_access_rule(rule.identity, "block")
    assert log.only("Set-ActiveSyncDeviceAccessRule")["parameters"] == {"Identity": rule.identity,
                                                                        "AccessLevel": "Block"}
    assert {r.identity: r.access_level for r in gateway.access_rules()}[rule.identity] == "Block"
    log.mark()
    gateway.remove_access_rule(rule.identity)
    assert log.only("Remove-ActiveSyncDeviceAccessRule")["parameters"] == {"Identity": rule.identity, "Confirm": False}
    assert rule.identity not in {r.identity for r in gateway.access_rules()}


def test_organization_settings(gateway: PsrpGateway, log: CallLog) -> None:
    gateway.set_organization_settings(default_access_level="Quarantine", admin_mail_recipients=["it@contoso.com"],
                                      user_mail_insert="Call the helpdesk.")
    assert log.only("Set-ActiveSyncOrganizationSettings")["parameters"] == {
        "DefaultAccessLevel": "Quarantine", "AdminMailRecipients": ["it@contoso.com"],
        "UserMailInsert": "Call the helpdesk."}
    settings = gateway.organization_settings()
    assert settings.default_access_level == "Quarantine" and settings.admin_mail_recipients == ("it@contoso.com",)
    assert settings.user_mail_insert == "Call the helpdesk."
    gateway.set_organization_settings(default_access_level="Allow", admin_mail_recipients=[])
    assert gateway.organization_settings().admin_mail_recipients == ()


def test_mailbox_policies(gateway: PsrpGateway, all_devices: list[DeviceRecord], log: CallLog) -> None:
    name = f"EAS Console {gateway.auth}"  # type: ignore[attr-defined]
    result = gateway.new_mailbox_policy(name, {"DevicePasswordEnabled": True, "MinDevicePasswordLength": 6})
    assert log.only("New-ActiveSyncMailboxPolicy")["parameters"] == {
        "Name": name, "DevicePasswordEnabled": True, "MinDevicePasswordLength": 6}
    assert result.created.name == name and result.created.parameters["MinDevicePasswordLength"] == 6
    log.mark()
    gateway.set_mailbox_policy(name, {"AllowCamera": False})
    assert log.only("Set-ActiveSyncMailboxPolicy")["parameters"] == {"Identity": name, "AllowCamera": False}
    policy = {p.name: p for p in gateway.mailbox_policies()}[name]
    assert policy.parameters["AllowCamera"] is False and policy.is_default is False
    mailbox = pick(all_devices, gateway, 5).mailbox
    log.mark()
    gateway.set_cas_mailbox_policy(mailbox, name)
    assert log.only("Set-CASMailbox")["parameters"] == {"Identity": mailbox, "ActiveSyncMailboxPolicy": name}
    log.mark()
    gateway.set_cas_mailbox_policy(mailbox, None)
    assert log.only("Set-CASMailbox")["parameters"] == {"Identity": mailbox, "ActiveSyncMailboxPolicy": None}
    with pytest.raises(ValueError):
        gateway.set_mailbox_policy(name, {"Identity; Remove-Mailbox": 1})


# ---- permissions, throttling, secrets ----------------------------------------------------------------
def test_preflight_all_present(gateway: PsrpGateway, log: CallLog) -> None:
    result = gateway.preflight()
    assert result.ok and result.missing == [] and result.role_groups == {}
    assert [c["cmdlet"] for c in log.since()] == ["Get-Command"]


def test_preflight_names_missing_cmdlets_and_role_groups(sim: Any, control: ControlClient,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    denied = ["Clear-ActiveSyncDevice", "Set-CASMailbox", "Get-ExchangeServer", "Get-ActiveSyncDeviceStatistics"]
    control.deny(READONLY_ACCOUNT[0], denied)
    try:
        caplog.set_level(logging.WARNING, logger="easconsole.easdisc")
        with PsrpGateway(settings_for(sim, account=READONLY_ACCOUNT)) as gw:
            result = gw.preflight()
            with pytest.raises(ExchangePermissionError) as caught:
                gw.wipe("anything")
    finally:
        control.grant(READONLY_ACCOUNT[0], denied)
    assert sorted(result.missing) == sorted(denied)
    assert result.role_groups == {"Clear-ActiveSyncDevice": "Recipient Management",
                                  "Set-CASMailbox": "Recipient Management",
                                  "Get-ExchangeServer": "Server Management",
                                  "Get-ActiveSyncDeviceStatistics": "View-Only Organization Management"}
    lines = [r.getMessage() for r in caplog.records if r.name == "easconsole.easdisc"]
    for cmdlet in denied:
        assert f"Invoking cmdlet {cmdlet} failed" in lines
    assert caught.value.cmdlet == "Clear-ActiveSyncDevice" and "RBAC" in str(caught.value)
    assert caught.value.terminating and caught.value.exception_type.endswith("CommandNotFoundException")


def test_over_budget_is_throttled(sim: Any, control: ControlClient) -> None:
    with PsrpGateway(settings_for(sim, account=READONLY_ACCOUNT)) as gw:
        control.throttle(READONLY_ACCOUNT[0], max_cmdlets=1, period_seconds=60)
        try:
            gw.organization()
            with pytest.raises(ExchangeThrottledError):
                gw.organization()
        finally:
            control.throttle(READONLY_ACCOUNT[0], max_cmdlets=100000, period_seconds=1)


def test_session_limit_is_throttled(sim: Any) -> None:
    sim.set_session_limit(READONLY_ACCOUNT[0], 0)
    try:
        with pytest.raises(ExchangeThrottledError):
            PsrpGateway(settings_for(sim, account=READONLY_ACCOUNT)).open()
    finally:
        sim.set_session_limit(READONLY_ACCOUNT[0], None)


def test_concurrency_cap_is_shared_per_connector(sim: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(connection_module, "QUEUE_TIMEOUT_SECONDS", 0.2)
    settings = settings_for(sim, max_concurrency=1)
    first, second = PsrpGateway(settings), PsrpGateway(settings)
    errors: list[BaseException] = []
    with first._connection.slot():
        worker = threading.Thread(target=lambda: _capture(errors, second.open))
        worker.start()
        worker.join(10)
    assert len(errors) == 1 and isinstance(errors[0], ExchangeThrottledError)
    second.open().close()  # the slot is free again


def _capture(errors: list[BaseException], func: Any) -> None:
    try:
        func()
    except BaseException as exc:  # noqa: BLE001 - the test inspects it
        errors.append(exc)


def test_password_never_in_settings_errors_or_logs(sim: Any, caplog: pytest.LogCaptureFixture) -> None:
    secret = "Wr0ng-but-s3cret-Passw0rd"
    caplog.set_level(logging.DEBUG)
    for auth in ("basic", "ntlm"):
        settings = settings_for(sim, auth=auth, account=(DEFAULT_ACCOUNT[0], secret))
        assert secret not in repr(settings) and secret not in str(settings)
        with pytest.raises(ExchangeConnectionError) as caught:
            PsrpGateway(settings).open()
        assert caught.value.kind == "authentication"
        for text in (str(caught.value), repr(caught.value), caught.value.reason):
            assert secret not in text
    good = settings_for(sim, auth="ntlm")
    with PsrpGateway(good) as gw:
        gw.organization()
    for record in caplog.records:
        text = record.getMessage() + repr(record.args) + repr(record.__dict__)
        assert secret not in text and DEFAULT_ACCOUNT[1] not in text
    assert not any(r.getMessage().startswith("Failed to open runspace") for r in caplog.records)


def test_exchange_online_wants_an_application_not_a_user() -> None:
    # Exchange Online signs in as an Entra ID application: a user name where its ID goes is refused plainly.
    with pytest.raises(ValueError, match="application \\(client\\) ID"):
        ConnectionSettings(sites={}, online=True, tenant="contoso.onmicrosoft.com",
                           username="admin@contoso.onmicrosoft.com", password="x")


def test_every_error_is_an_exchange_error() -> None:
    for cls in (ExchangeConnectionError, ExchangeCommandError, ExchangeObjectNotFound, ExchangePermissionError,
                ExchangeThrottledError, ExchangeNotSupportedError):
        assert issubclass(cls, ExchangeError)


def test_negotiate_falls_back_to_ntlm_with_encryption(sim: Any) -> None:
    with PsrpGateway(settings_for(sim, auth="negotiate")) as gw:
        assert gw.organization().name == "Contoso"


def test_tls_with_a_ca_bundle_and_without_it() -> None:
    with running_simulator(devices=5, https=True, bind_base="127.0.0.41") as tls_sim:
        with PsrpGateway(settings_for(tls_sim, use_tls=True, ca_bundle=tls_sim.ca_file)) as gw:
            assert gw.organization().name == "Contoso"
        with pytest.raises(ExchangeConnectionError) as caught:
            PsrpGateway(settings_for(tls_sim, use_tls=True)).open()  # system CAs do not know the simulator's CA
        assert caught.value.kind == "tls" and "certificate verify failed" in str(caught.value)
