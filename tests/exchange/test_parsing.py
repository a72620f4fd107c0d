"""The pure half of the gateway: parsing, settings validation, error sentences, failover order."""
from __future__ import annotations

import datetime as dt
import uuid

import pytest

from easconsole.exchange import parsing
from easconsole.exchange.errors import ExchangeCommandError, ExchangeConnectionError, ExchangeError
from easconsole.exchange.failover import site_candidates
from easconsole.exchange.preflight import REQUIRED_CMDLETS, ROLE_GROUP_OF, required_cmdlets
from easconsole.exchange.transport import wsman_options
from easconsole.exchange.values import ConnectionSettings, ServerInfo

SECRET = "Pa55-w0rd-never-shown"


def test_datetimes_are_aware_utc_with_seven_fraction_digits() -> None:
    value = parsing.when("2026-01-15T12:00:01.1234567Z")
    assert value == dt.datetime(2026, 1, 15, 12, 0, 1, 123456, tzinfo=dt.timezone.utc)
    assert parsing.when("2026-01-15T12:00:01+02:00") == dt.datetime(2026, 1, 15, 10, 0, 1, tzinfo=dt.timezone.utc)
    assert parsing.when(None) is None and parsing.when("garbage") is None


def test_organization_name_comes_from_the_settings_distinguished_name() -> None:
    guid = uuid.uuid4()
    info = parsing.organization({
        "DistinguishedName": "CN=Mobile Mailbox Settings,CN=Fabrikam\\, Inc,CN=Microsoft Exchange,CN=Services,"
                             "CN=Configuration,DC=fabrikam,DC=com", "Guid": guid})
    assert info.name == "Fabrikam, Inc" and info.guid == guid


def test_server_roles_and_site_short_name() -> None:
    info = parsing.server({"Name": "EX1", "Fqdn": "ex1.contoso.com", "ServerRole": "Mailbox, ClientAccess",
                           "Site": "contoso.com/Configuration/Sites/HQ", "AdminDisplayVersion": "Version 15.1"})
    assert info.roles == ("Mailbox", "ClientAccess") and info.site == "HQ"
    assert info.is_client_access and info.is_mailbox


def test_device_record_keeps_enum_names_and_unknown_values_as_text() -> None:
    record = parsing.device({"Identity": "jdoe\\ExchangeActiveSyncDevices\\iPhone§ABC", "DeviceId": "ABC",
                             "DeviceAccessStateReason": "SomethingNewer", "ProvisioningFlags": "3"})
    assert record.device_access_state_reason == "SomethingNewer"
    assert record.provisioning_flags == 3 and record.mailbox == "jdoe"


def test_settings_validate_and_never_show_the_password() -> None:
    settings = ConnectionSettings(sites={"HQ": "cas.contoso.com"}, username="CONTOSO\\svc", password=SECRET)
    assert SECRET not in repr(settings) and SECRET not in str(settings)
    with pytest.raises(ValueError, match="max_concurrency"):
        ConnectionSettings(sites={"HQ": "cas"}, max_concurrency=18)
    with pytest.raises(ValueError, match="read_timeout"):
        ConnectionSettings(sites={"HQ": "cas"}, operation_timeout=20, read_timeout=20)
    with pytest.raises(ValueError, match="auth"):
        ConnectionSettings(sites={"HQ": "cas"}, auth="digest")
    with pytest.raises(ValueError, match="site"):
        ConnectionSettings(sites={})


def test_wsman_options_basic_over_http_needs_encryption_never_and_tls_uses_the_bundle() -> None:
    basic = wsman_options(ConnectionSettings(sites={"HQ": "cas"}, auth="basic"), "cas")
    assert basic["encryption"] == "never" and basic["ssl"] is False
    tls = wsman_options(ConnectionSettings(sites={"HQ": "cas"}, auth="ntlm", use_tls=True, port=443,
                                           ca_bundle="ca.pem"), "cas")
    assert tls["encryption"] == "auto" and tls["cert_validation"] == "ca.pem" and tls["ssl"] is True
    assert wsman_options(ConnectionSettings(sites={"HQ": "cas"}, use_tls=True, verify_tls=False),
                         "cas")["cert_validation"] is False


def test_errors_are_one_sentence_naming_cmdlet_server_and_reason() -> None:
    error = ExchangeCommandError("Clear-ActiveSyncDevice", "EXCAS01", "The device is gone.")
    assert str(error) == "Running Clear-ActiveSyncDevice on EXCAS01 failed: The device is gone."
    assert isinstance(ExchangeConnectionError("", "EXCAS02", "could not connect"), ExchangeError)
    assert str(ExchangeConnectionError("", "EXCAS02", "could not connect")) == \
        "Talking to Exchange on EXCAS02 failed: could not connect."


def test_failover_order_configured_then_site_cas_then_mailbox() -> None:
    known = [ServerInfo("EXCAS01", "10.0.0.1", ("ClientAccess",), "HQ", ""),
             ServerInfo("EXMBX01", "10.0.0.4", ("Mailbox",), "HQ", ""),
             ServerInfo("EXCAS02", "10.0.0.2", ("ClientAccess",), "HQ", ""),
             ServerInfo("EXCAS03", "10.0.0.3", ("ClientAccess",), "Branch", "")]
    plan = site_candidates("HQ", "10.0.0.1", known)
    assert [(c.name, c.kind) for c in plan] == [("EXCAS01", "configured"), ("EXCAS02", "cas"), ("EXMBX01", "mailbox")]
    assert [c.name for c in site_candidates("HQ", "casarray.contoso.com", known)][0] == "casarray.contoso.com"


def test_preflight_lists_and_role_groups() -> None:
    assert len(REQUIRED_CMDLETS) == 18 and set(REQUIRED_CMDLETS) <= set(ROLE_GROUP_OF)
    assert set(ROLE_GROUP_OF.values()) == {"Recipient Management", "View-Only Organization Management",
                                           "Server Management"}
    online = required_cmdlets(online=True)
    assert "Get-ExchangeServer" not in online and "Set-ADServerSettings" not in online and len(online) == 16


def test_library_failures_become_the_exception_family() -> None:
    import requests
    import urllib3
    from pypsrp.exceptions import AuthenticationError, WinRMTransportError, WSManFaultError

    from easconsole.exchange.errors import ExchangeThrottledError
    from easconsole.exchange.transport import error_from_exception, refused_before_running

    auth = error_from_exception(AuthenticationError(f"Failed to authenticate the user x with {SECRET}"), "", "EX1")
    assert isinstance(auth, ExchangeConnectionError) and auth.kind == "authentication" and SECRET not in str(auth)
    refused = requests.exceptions.ConnectionError(urllib3.exceptions.MaxRetryError(
        None, "/PowerShell", urllib3.exceptions.NewConnectionError(None, "Failed to establish a new connection: "
                                                                       "[Errno 111] Connection refused")))
    mapped = error_from_exception(refused, "Get-ActiveSyncDevice", "EX1")
    assert mapped.kind == "unreachable" and mapped.sent_nothing and refused_before_running(refused)
    assert str(mapped) == ("Running Get-ActiveSyncDevice on EX1 failed: the server refused the connection (Exchange "
                           "or IIS may be stopped, or the port is wrong).")
    lost = requests.exceptions.ConnectionError(ConnectionResetError(104, "Connection reset by peer"))
    assert not error_from_exception(lost, "", "EX1").sent_nothing and not refused_before_running(lost)
    assert error_from_exception(requests.exceptions.SSLError("bad cert"), "", "EX1").kind == "tls"
    assert "did not answer" in str(error_from_exception(requests.exceptions.ReadTimeout(), "", "EX1"))
    busy = WSManFaultError(0x803381A4, "", "The user has exceeded MaxConcurrency (18) sessions.", "", "", "")
    assert isinstance(error_from_exception(busy, "", "EX1"), ExchangeThrottledError)
    assert refused_before_running(WinRMTransportError("http", 400, "bad request"))


def test_join_pairs_streams_even_out_of_step() -> None:
    from easconsole.exchange.gateway import _join

    ids = [uuid.UUID(int=i) for i in range(1, 6)]
    devices = [{"Identity": f"u\\ExchangeActiveSyncDevices\\t§{i}", "Guid": g, "DeviceId": str(i)}
               for i, g in enumerate(ids)]
    stats = [{"Identity": d["Identity"], "Guid": d["Guid"], "Status": "DeviceOk"} for d in devices]
    stats = [stats[1], stats[0], stats[3], stats[4]]  # out of order, one missing (the device vanished)
    pairs = list(_join(map(parsing.device, devices), map(parsing.statistics, stats)))  # both arrive as records (maybe from readers)
    assert [d.guid for d, _ in pairs] == ids
    assert [s.guid if s else None for _, s in pairs] == [ids[0], ids[1], None, ids[3], ids[4]]
