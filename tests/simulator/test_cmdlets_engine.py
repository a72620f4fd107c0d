"""Every cmdlet of the engine, in-process: parameters, output shape, errors, pipelines."""
from __future__ import annotations

import datetime as dt
import time
import uuid

import pytest

from easconsole.exchange.simulator.organization import Organization
from easconsole.exchange.simulator.types import CmdletError, CommandCall, EnumValue

from .conftest import ENGINE_NOW, EngineShell

DEVICE_TYPE = "Microsoft.Exchange.Data.Directory.SystemConfiguration.MobileDevice"


@pytest.fixture(scope="module")
def big() -> EngineShell:
    return EngineShell(Organization.generate(seed=5, devices=1200, now=ENGINE_NOW))


def first_device(sh: EngineShell) -> dict:
    return sh.run("Get-ActiveSyncDevice", ResultSize=1).props[0]


# ---- Get-ActiveSyncDevice ---------------------------------------------------------------------
def test_result_size_defaults_to_1000_with_exchanges_warning(big: EngineShell) -> None:
    result = big.run("Get-ActiveSyncDevice")
    assert len(result.records) == 1000
    assert len(result.warnings) == 1 and "only the first 1000 items are returned" in result.warnings[0]
    assert "-ResultSize Unlimited" in result.warnings[0]


@pytest.mark.parametrize("size", ["Unlimited", "unlimited", None])
def test_result_size_unlimited_returns_everything(big: EngineShell, size: str | None) -> None:
    result = big.run("Get-ActiveSyncDevice", ResultSize=size)
    assert len(result.records) == 1200 and result.warnings == []


def test_explicit_result_size_truncates_silently(big: EngineShell) -> None:
    result = big.run("Get-ActiveSyncDevice", ResultSize="25")
    assert len(result.records) == 25 and result.warnings == []


def test_device_record_shape(sh: EngineShell) -> None:
    record = sh.run("Get-ActiveSyncDevice", ResultSize=1).records[0]
    p = record.properties
    assert record.type_names[0] == DEVICE_TYPE and record.type_names[-1] == "System.Object"
    assert record.to_string == p["Identity"]
    assert isinstance(p["Guid"], uuid.UUID)
    assert isinstance(p["FirstSyncTime"], dt.datetime) and p["FirstSyncTime"].tzinfo == dt.timezone.utc
    assert isinstance(p["DeviceAccessState"], EnumValue)
    assert p["DeviceAccessState"].type_name.endswith("DeviceAccessState")
    for name in ("FriendlyName", "DeviceId", "DeviceImei", "DeviceMobileOperator", "DeviceOS", "DeviceOSLanguage",
                 "DeviceTelephoneNumber", "DeviceType", "DeviceUserAgent", "DeviceModel", "UserDisplayName",
                 "DeviceAccessStateReason", "DeviceAccessControlRule", "DeviceActiveSyncVersion", "ClientType",
                 "Name", "DistinguishedName", "WhenCreated", "WhenChanged"):
        assert name in p


def test_device_identity_forms(sh: EngineShell) -> None:
    d = first_device(sh)
    for identity in (d["Identity"], d["Identity"].upper(), d["DistinguishedName"], d["Guid"], str(d["Guid"]),
                     d["DeviceId"], d["Name"]):
        assert sh.run("Get-ActiveSyncDevice", Identity=identity).values("DeviceId") == [d["DeviceId"]]


def test_unknown_identity_is_a_non_terminating_not_found(sh: EngineShell) -> None:
    result = sh.run("Get-ActiveSyncDevice", Identity="nobody\\ExchangeActiveSyncDevices\\iPhone§00")
    assert result.records == []
    error = result.errors[0]
    assert error.exception_type.endswith("ManagementObjectNotFoundException")
    assert error.message == ("The operation couldn't be performed because object "
                             "'nobody\\ExchangeActiveSyncDevices\\iPhone§00' couldn't be found on 'DC01.contoso.com'.")
    assert error.fq_error_id.startswith("[Server=EXCAS01,")


def test_mailbox_parameter(org: Organization, sh: EngineShell) -> None:
    org.add_user(alias="mia", first="Mia", last="Mobile")
    ids = {org.add_device("mia", DeviceType="iPhone")["device_id"], org.add_device("mia", DeviceType="Outlook")["device_id"]}
    for mailbox in ("mia", "mia@contoso.com", "CONTOSO\\mia", "Mia Mobile"):
        assert set(sh.run("Get-ActiveSyncDevice", Mailbox=mailbox).values("DeviceId")) == ids
    assert sh.run("Get-ActiveSyncDevice", Mailbox="ghost").errors


def test_filter_and_sort(big: EngineShell) -> None:
    result = big.run("Get-ActiveSyncDevice", Filter="DeviceType -eq 'iPhone' -and DeviceAccessState -eq 'Allowed'",
                     ResultSize="Unlimited", SortBy="FirstSyncTime")
    assert result.records and all(p["DeviceType"] == "iPhone" for p in result.props)
    times = result.values("FirstSyncTime")
    assert times == sorted(times)
    quarantined = big.run("Get-ActiveSyncDevice", Filter="DeviceAccessState -eq 'Quarantined'", ResultSize="Unlimited")
    assert quarantined.records and set(quarantined.values("DeviceAccessState")) == {"Quarantined"}


def test_bad_filter_and_sort_are_parameter_binding_errors(sh: EngineShell) -> None:
    with pytest.raises(CmdletError, match="not a recognized filterable property") as caught:
        sh.run("Get-ActiveSyncDevice", Filter="Colour -eq 'red'")
    assert caught.value.info.exception_type.endswith("ParameterBindingException")
    with pytest.raises(CmdletError, match="can't be used for sorting"):
        sh.run("Get-ActiveSyncDevice", SortBy="ClientType")


def test_get_mobile_device_is_the_same_data(sh: EngineShell) -> None:
    assert sh.run("Get-MobileDevice", ResultSize="Unlimited").props == \
        sh.run("Get-ActiveSyncDevice", ResultSize="Unlimited").props


# ---- statistics and pipelines -----------------------------------------------------------------
STATS = ("FirstSyncTime LastPolicyUpdateTime LastSyncAttemptTime LastSuccessSync DeviceType DeviceID DeviceUserAgent "
         "DeviceWipeSentTime DeviceWipeRequestTime DeviceWipeAckTime AccountOnlyDeviceWipeSentTime "
         "AccountOnlyDeviceWipeRequestTime AccountOnlyDeviceWipeAckTime LastPingHeartbeat RecoveryPassword DeviceModel "
         "DeviceImei DeviceFriendlyName DeviceOS DeviceOSLanguage DevicePhoneNumber MailboxLogReport "
         "DeviceEnableOutboundSMS DeviceMobileOperator Identity Guid IsRemoteWipeSupported Status StatusNote "
         "DeviceAccessState DeviceAccessStateReason DeviceAccessControlRule DevicePolicyApplied "
         "DevicePolicyApplicationStatus LastDeviceWipeRequestor LastAccountOnlyDeviceWipeRequestor ClientVersion "
         "NumberOfFoldersSynced SyncStateUpgradeTime ClientType").split()


def test_statistics_has_the_full_property_list(sh: EngineShell) -> None:
    d = first_device(sh)
    s = sh.run("Get-ActiveSyncDeviceStatistics", d["Identity"]).records[0]
    assert s.type_names[0] == "Microsoft.Exchange.Management.Tasks.MobileDeviceConfiguration"
    assert [n for n in STATS if n not in s.properties] == []
    assert s.properties["Status"].name == "DeviceOk" and s.properties["DevicePolicyApplied"]
    if d["DeviceTelephoneNumber"]:
        assert s.properties["DevicePhoneNumber"].startswith("*")
        assert s.properties["DevicePhoneNumber"][-4:] == d["DeviceTelephoneNumber"][-4:]


def test_statistics_by_mailbox_and_by_pipeline(big: EngineShell) -> None:
    piped = big.pipe(("Get-ActiveSyncDevice", {"ResultSize": "Unlimited"}), ("Get-ActiveSyncDeviceStatistics",))
    assert len(piped.records) == 1200 and piped.warnings == []
    alias = piped.props[0]["Identity"].split("\\")[0]
    by_mailbox = big.run("Get-ActiveSyncDeviceStatistics", Mailbox=alias)
    assert piped.props[0]["DeviceID"] in by_mailbox.values("DeviceID")
    from_cas = big.pipe(("Get-CASMailbox", {"Identity": alias}), ("Get-ActiveSyncDeviceStatistics",))
    assert set(from_cas.values("DeviceID")) == set(by_mailbox.values("DeviceID"))


def test_warning_of_the_first_command_reaches_the_output(big: EngineShell) -> None:
    result = big.pipe(("Get-ActiveSyncDevice",), ("Get-ActiveSyncDeviceStatistics",))
    assert len(result.records) == 1000 and len(result.warnings) == 1


def test_statistics_without_identity_is_an_error(sh: EngineShell) -> None:
    with pytest.raises(CmdletError, match="missing mandatory parameters"):
        sh.run("Get-ActiveSyncDeviceStatistics")


def test_select_object(big: EngineShell) -> None:
    result = big.pipe(("Get-ActiveSyncDevice", {"ResultSize": "Unlimited"}),
                      ("Get-ActiveSyncDeviceStatistics",),
                      ("Select-Object", {"Property": ["DeviceID", "status", "Last*"], "First": 3}))
    assert len(result.records) == 3
    record = result.records[0]
    # Named as the caller typed them (PowerShell does so); a wildcard gives the object's own names.
    assert list(record.properties) == ["DeviceID", "status", "LastPolicyUpdateTime", "LastSyncAttemptTime",
                                       "LastSuccessSync", "LastPingHeartbeat", "LastDeviceWipeRequestor",
                                       "LastAccountOnlyDeviceWipeRequestor"]
    assert record.type_names == ("Selected.Microsoft.Exchange.Management.Tasks.MobileDeviceConfiguration",
                                 "System.Management.Automation.PSCustomObject", "System.Object")
    assert record.to_string.startswith("@{DeviceID=")


def test_pipeline_is_lazy_and_does_not_hold_the_lock(big: EngineShell) -> None:
    import threading

    stream = big.session.run([CommandCall("Get-ActiveSyncDevice", [("ResultSize", "Unlimited")])])
    next(stream)
    got = []
    worker = threading.Thread(target=lambda: got.append(big.org.lock.acquire(timeout=2) and big.org.lock.release()))
    worker.start()
    worker.join()
    assert got == [None]  # acquired (and released) while the stream is paused
    assert sum(1 for _ in stream) == 1199


def test_engine_throughput(big: EngineShell) -> None:
    started = time.perf_counter()
    count = len(big.pipe(("Get-ActiveSyncDevice", {"ResultSize": "Unlimited"}),
                         ("Get-ActiveSyncDeviceStatistics",)).records)
    assert count / (time.perf_counter() - started) > 5000


# ---- access rules, organization settings, policies ---------------------------------------------
def test_access_rule_lifecycle(sh: EngineShell) -> None:
    created = sh.run("New-ActiveSyncDeviceAccessRule", QueryString="ContosoPhone", Characteristic="devicemodel",
                     AccessLevel="quarantine").records[0]
    assert created.to_string == "ContosoPhone (DeviceModel)"
    assert created.properties["AccessLevel"].name == "Quarantine"
    assert created.properties["Characteristic"].name == "DeviceModel"
    assert "ContosoPhone (DeviceModel)" in [r.to_string for r in sh.run("Get-ActiveSyncDeviceAccessRule").records]
    sh.run("Set-ActiveSyncDeviceAccessRule", "ContosoPhone(DeviceModel)", AccessLevel="Block")
    assert sh.run("Get-ActiveSyncDeviceAccessRule", "ContosoPhone (DeviceModel)").values("AccessLevel") == ["Block"]
    with pytest.raises(CmdletError, match="already exists"):
        sh.run("New-ActiveSyncDeviceAccessRule", QueryString="ContosoPhone", Characteristic="DeviceModel",
               AccessLevel="Allow")
    sh.run("Remove-ActiveSyncDeviceAccessRule", "ContosoPhone (DeviceModel)", Confirm=False)
    assert sh.run("Get-ActiveSyncDeviceAccessRule", "ContosoPhone (DeviceModel)").errors


def test_access_rule_validation(sh: EngineShell) -> None:
    with pytest.raises(CmdletError, match="Allow, Block, Quarantine"):
        sh.run("New-ActiveSyncDeviceAccessRule", QueryString="x", Characteristic="DeviceType", AccessLevel="Maybe")
    with pytest.raises(CmdletError, match="missing mandatory parameters: AccessLevel"):
        sh.run("New-ActiveSyncDeviceAccessRule", QueryString="x", Characteristic="DeviceType")
    assert sh.run("Set-ActiveSyncDeviceAccessRule", "nope (DeviceType)", AccessLevel="Allow").errors


def test_organization_settings(sh: EngineShell) -> None:
    settings = sh.run("Get-ActiveSyncOrganizationSettings").records[0]
    assert settings.to_string == "Mobile Mailbox Settings" and settings.properties["DefaultAccessLevel"].name == "Allow"
    sh.run("Set-ActiveSyncOrganizationSettings", UserMailInsert="Call the helpdesk",
           AdminMailRecipients=["a@contoso.com", "b@contoso.com"])
    sh.run("Set-ActiveSyncOrganizationSettings", AdminMailRecipients={"Add": "c@contoso.com", "Remove": ["a@contoso.com"]})
    p = sh.run("Get-ActiveSyncOrganizationSettings").props[0]
    assert p["UserMailInsert"] == "Call the helpdesk" and p["AdminMailRecipients"] == ["b@contoso.com", "c@contoso.com"]
    with pytest.raises(CmdletError, match="maximum length is 256"):
        sh.run("Set-ActiveSyncOrganizationSettings", UserMailInsert="x" * 257)


def test_default_policy_and_its_defaults(sh: EngineShell) -> None:
    policy = sh.run("Get-ActiveSyncMailboxPolicy", "Default").props[0]
    assert policy["IsDefault"] is True and policy["AllowBluetooth"] == "Allow"
    assert policy["MaxEmailAgeFilter"] == "All" and policy["DevicePasswordEnabled"] is False
    assert policy["MaxAttachmentSize"] == "Unlimited" and policy["DevicePasswordHistory"] == 0
    assert {p["Name"] for p in sh.run("Get-ActiveSyncMailboxPolicy").props} >= {"Default", "Executives"}


def test_new_and_set_policy(sh: EngineShell) -> None:
    created = sh.run("New-ActiveSyncMailboxPolicy", "Sales", DevicePasswordEnabled=True, MinDevicePasswordLength=8,
                     MaxDevicePasswordFailedAttempts=6, MaxInactivityTimeDeviceLock="00:10:00",
                     MaxAttachmentSize="10MB", AllowBluetooth="handsfreeonly", IsDefault=True).props[0]
    assert created["MinDevicePasswordLength"] == 8 and created["MaxDevicePasswordFailedAttempts"] == "6"
    assert created["MaxInactivityTimeDeviceLock"] == "00:10:00" and created["AllowBluetooth"] == "HandsfreeOnly"
    assert created["MaxAttachmentSize"].startswith("10 MB") and created["IsDefault"] is True
    assert sh.run("Get-ActiveSyncMailboxPolicy", "Default").props[0]["IsDefault"] is False
    sh.run("Set-ActiveSyncMailboxPolicy", "Sales", Name="Sales EMEA", MaxDevicePasswordFailedAttempts="Unlimited")
    renamed = sh.run("Get-ActiveSyncMailboxPolicy", "Sales EMEA").props[0]
    assert renamed["MaxDevicePasswordFailedAttempts"] == "Unlimited" and renamed["MinDevicePasswordLength"] == 8
    with pytest.raises(CmdletError, match="can't be removed"):
        sh.run("Remove-ActiveSyncMailboxPolicy", "Sales EMEA", Confirm=False)


@pytest.mark.parametrize("param, value", [("MinDevicePasswordLength", 17), ("MaxDevicePasswordFailedAttempts", 3),
                                          ("DevicePasswordHistory", 51), ("MaxInactivityTimeDeviceLock", "02:00:00"),
                                          ("MaxEmailAgeFilter", "OneYear")])
def test_policy_values_out_of_range_are_refused(sh: EngineShell, param: str, value: object) -> None:
    with pytest.raises(CmdletError):
        sh.run("Set-ActiveSyncMailboxPolicy", "Default", **{param: value})


# ---- recipients ------------------------------------------------------------------------------
def test_set_cas_mailbox_lists(org: Organization, sh: EngineShell) -> None:
    org.add_user(alias="lee", first="Lee", last="Lists")
    sh.run("Set-CASMailbox", "lee", ActiveSyncAllowedDeviceIDs=["AAA", "BBB"])
    sh.run("Set-CASMailbox", "lee@contoso.com", ActiveSyncAllowedDeviceIDs={"Add": "CCC", "Remove": "AAA"},
           ActiveSyncBlockedDeviceIDs={"add": ["DDD"]})
    p = sh.run("Get-CASMailbox", "lee").props[0]
    assert p["ActiveSyncAllowedDeviceIDs"] == ["BBB", "CCC"] and p["ActiveSyncBlockedDeviceIDs"] == ["DDD"]
    sh.run("Set-CASMailbox", "lee", ActiveSyncAllowedDeviceIDs=None, ActiveSyncEnabled=False)
    p = sh.run("Get-CASMailbox", "lee").props[0]
    assert p["ActiveSyncAllowedDeviceIDs"] == [] and p["ActiveSyncEnabled"] is False


def test_set_cas_mailbox_policy(org: Organization, sh: EngineShell) -> None:
    org.add_user(alias="pat", first="Pat", last="Policy")
    assert sh.run("Get-CASMailbox", "pat").props[0]["ActiveSyncMailboxPolicyIsDefaulted"] is True
    sh.run("Set-CASMailbox", "pat", ActiveSyncMailboxPolicy="Executives")
    p = sh.run("Get-CASMailbox", "pat").props[0]
    assert p["ActiveSyncMailboxPolicy"] == "Executives" and p["ActiveSyncMailboxPolicyIsDefaulted"] is False
    sh.run("Set-CASMailbox", "pat", ActiveSyncMailboxPolicy=None)
    assert sh.run("Get-CASMailbox", "pat").props[0]["ActiveSyncMailboxPolicy"] == "Default"
    with pytest.raises(CmdletError, match="couldn't be found"):
        sh.run("Set-CASMailbox", "pat", ActiveSyncMailboxPolicy="Nope")
    assert sh.run("Set-CASMailbox", "ghost", ActiveSyncEnabled=True).errors


def test_get_cas_mailbox_filter(sh: EngineShell, org: Organization) -> None:
    with_devices = sh.run("Get-CASMailbox", Filter="HasActiveSyncDevicePartnership -eq $true", ResultSize="Unlimited")
    assert with_devices.records and all(p["HasActiveSyncDevicePartnership"] for p in with_devices.props)
    assert len(with_devices.records) < org.snapshot()["counts"]["users"]


def test_get_mailbox_user_and_recipient(org: Organization, sh: EngineShell) -> None:
    org.add_user(alias="rita", first="Rita", last="Recipient")
    mailbox = sh.run("Get-Mailbox", "rita").props[0]
    assert mailbox["UserPrincipalName"] == "rita@contoso.com" and mailbox["RecipientTypeDetails"].name == "UserMailbox"
    recipient = sh.run("Get-Recipient", "rita@contoso.com").props[0]
    assert recipient["PrimarySmtpAddress"] == "rita@contoso.com" and "UserPrincipalName" not in recipient
    assert recipient["HasActiveSyncDevicePartnership"] is False and recipient["ActiveSyncMailboxPolicy"] == "Default"
    assert sh.run("Get-User", "CONTOSO\\rita").props[0]["SamAccountName"] == "rita"
    assert sh.run("Get-Recipient", RecipientTypeDetails="UserMailbox", Filter="Alias -eq 'rita'").values("Alias") == ["rita"]
    assert sh.run("Get-Recipient", RecipientTypeDetails="RoomMailbox").records == []
    assert sh.run("Get-Recipient", ResultSize=2).records[1]
    assert sh.run("Get-Mailbox", "nobody").errors


def test_recipients_default_result_size(big: EngineShell) -> None:
    result = big.run("Get-Recipient")
    users = big.org.snapshot()["counts"]["users"]
    assert len(result.records) == min(users, 1000)
    assert bool(result.warnings) == (users > 1000)


# ---- servers, session, commands -----------------------------------------------------------------
def test_get_exchange_server(org: Organization, sh: EngineShell) -> None:
    servers = sh.run("Get-ExchangeServer").props
    assert [s["Name"] for s in servers] == [s.name for s in org.servers]
    cas = servers[0]
    assert cas["IsClientAccessServer"] is True and cas["ServerRole"].name == "ClientAccess"
    assert cas["Fqdn"] == org.servers[0].fqdn and cas["AdminDisplayVersion"].startswith("Version 15")
    assert cas["Edition"].name == "Enterprise" and cas["Site"].endswith("/Configuration/Sites/HQ")
    assert sh.run("Get-ExchangeServer", "EXMBX01").props[0]["IsMailboxServer"] is True
    assert sh.run("Get-ExchangeServer", "EXNOPE").errors


def test_set_ad_server_settings_is_per_session(org: Organization, sh: EngineShell) -> None:
    assert sh.run("Set-ADServerSettings", ViewEntireForest=True).records == []
    assert sh.session.ad_settings["ViewEntireForest"] is True
    assert EngineShell(org).session.ad_settings["ViewEntireForest"] is False


def test_recipient_scope_follows_set_ad_server_settings(big: EngineShell) -> None:
    shell = EngineShell(big.org)
    everyone = shell.run("Get-Mailbox", ResultSize="Unlimited").props
    branch = [m for m in everyone if m["OrganizationalUnit"] == "contoso.com/Users/Branch"]
    assert 0 < len(branch) < len(everyone)
    shell.run("Set-ADServerSettings", RecipientViewRoot="contoso.com/Users/Branch")
    assert shell.run("Get-Mailbox", ResultSize="Unlimited").values("Alias") == [m["Alias"] for m in branch]
    devices = shell.run("Get-ActiveSyncDevice", ResultSize="Unlimited").props
    assert devices and {d["Identity"].split("\\")[0] for d in devices} <= {m["Alias"] for m in branch}
    hq_user = next(m for m in everyone if m not in branch)["Alias"]
    assert shell.run("Get-CASMailbox", hq_user).errors  # out of scope: not found
    shell.run("Set-ADServerSettings", ViewEntireForest=True)
    assert len(shell.run("Get-Mailbox", ResultSize="Unlimited").records) == len(everyone)
    hq = shell.run("Get-Recipient", OrganizationalUnit="HQ", ResultSize="Unlimited").props
    assert hq and all(r["OrganizationalUnit"] == "contoso.com/Users/HQ" for r in hq)
    with pytest.raises(CmdletError, match="wasn't found"):
        shell.run("Set-ADServerSettings", RecipientViewRoot="contoso.com/Users/Mars")


def test_get_command(sh: EngineShell) -> None:
    commands = sh.run("Get-Command").records
    names = [c.to_string for c in commands]
    assert "Get-ActiveSyncDevice" in names and "Select-Object" in names
    kinds = {c.to_string: c.properties["CommandType"].name for c in commands}
    assert kinds["Get-ActiveSyncDevice"] == "Function" and kinds["Select-Object"] == "Cmdlet"
    assert sh.run("Get-Command", "*-CASMailbox").values("Name") == ["Get-CASMailbox", "Set-CASMailbox"]
    assert sh.run("Get-Command", Name=["Get-ExchangeServer", "Clear-*"]).values("Name") == \
        ["Clear-ActiveSyncDevice", "Clear-MobileDevice", "Get-ExchangeServer"]


# ---- PowerShell-level errors and parameter binding ------------------------------------------------
def test_scripts_are_not_allowed(sh: EngineShell) -> None:
    with pytest.raises(CmdletError) as caught:
        list(sh.session.run([CommandCall("Get-ActiveSyncDevice | Remove-ActiveSyncDevice", [], is_script=True)]))
    info = caught.value.info
    assert info.message == ("The syntax is not supported by this runspace. This can occur if the runspace is in "
                            "no-language mode.")
    assert info.exception_type.endswith("ParseException") and info.fq_error_id == "ScriptsNotAllowed"


def test_unknown_cmdlet(sh: EngineShell) -> None:
    with pytest.raises(CmdletError) as caught:
        sh.run("Get-ThingThatDoesNotExist")
    assert caught.value.info.message.startswith("The term 'Get-ThingThatDoesNotExist' is not recognized as the name "
                                                "of a cmdlet")
    assert caught.value.info.exception_type.endswith("CommandNotFoundException")


def test_parameter_names_are_case_insensitive_and_accept_prefixes(sh: EngineShell) -> None:
    d = first_device(sh)
    assert sh.run("get-activesyncdevice", IDENT=d["Identity"]).values("DeviceId") == [d["DeviceId"]]
    assert sh.run("Get-ActiveSyncDevice", **{"-Identity:": d["Identity"]}).records
    assert sh.run("Get-ActiveSyncDevice", d["Identity"]).records  # positional


def test_bad_parameters(sh: EngineShell) -> None:
    with pytest.raises(CmdletError, match="cannot be found that matches parameter name 'Colour'") as caught:
        sh.run("Get-ActiveSyncDevice", Colour="red")
    assert caught.value.info.exception_type == "System.Management.Automation.ParameterBindingException"
    assert caught.value.info.fq_error_id == "NamedParameterNotFound,Get-ActiveSyncDevice"
    with pytest.raises(CmdletError, match="ambiguous"):
        sh.run("Get-ActiveSyncDevice", R=5)  # ResultSize or RestApi
    with pytest.raises(CmdletError, match="Cannot convert value"):
        sh.run("Get-ActiveSyncDevice", ResultSize="lots")
    with pytest.raises(CmdletError, match="Cannot convert value"):
        sh.run("Set-CASMailbox", "x", ActiveSyncEnabled="perhaps")
    with pytest.raises(CmdletError, match="positional parameter cannot be found"):
        sh.run("Get-ActiveSyncOrganizationSettings", "a", "b")
