"""The gateway's operations over both transports: on-premises Remote PowerShell (pypsrp) and Exchange
Online's REST InvokeCommand (MSAL sign-in), against the same simulated organization."""
from __future__ import annotations

import dataclasses
from typing import Any, Iterator

import pytest

from easconsole.exchange.errors import (ExchangeConnectionError, ExchangeObjectNotFound, ExchangePermissionError,
                                        ExchangeThrottledError)
from easconsole.exchange.gateway import ExchangeGateway, gateway_for
from easconsole.exchange.rest import RestGateway
from easconsole.exchange.simulator.online import SimulatedTenant, app_certificate
from easconsole.exchange.simulator.testing import ControlClient, running_simulator
from easconsole.exchange.values import ConnectionSettings
from tests.exchange.conftest import settings_for

pytestmark = pytest.mark.simulator
TRANSPORTS = ["psrp", "rest"]
# What each transport calls the device cmdlets (Exchange Online has only the *-MobileDevice names).
NAMES = {"psrp": {"wipe": "Clear-ActiveSyncDevice", "remove": "Remove-ActiveSyncDevice", "get": "Get-ActiveSyncDevice"},
         "rest": {"wipe": "Clear-MobileDevice", "remove": "Remove-MobileDevice", "get": "Get-MobileDevice"}}


@pytest.fixture(scope="module")
def sim() -> Iterator[Any]:
    with running_simulator(devices=40) as running:
        yield running


@pytest.fixture(scope="module")
def tenant(sim: Any) -> Iterator[SimulatedTenant]:
    with SimulatedTenant(sim.org) as running:
        yield running


def online_settings(sim_tenant: SimulatedTenant, **overrides: Any) -> ConnectionSettings:
    values = dict(sites={}, online=True, tenant=sim_tenant.domain, username=sim_tenant.app_id,
                  password=sim_tenant.app_credential, endpoint=sim_tenant.url, authority=sim_tenant.url,
                  ca_bundle=sim_tenant.ca_file)
    return ConnectionSettings(**{**values, **overrides})


@pytest.fixture
def control(sim: Any) -> Iterator[ControlClient]:
    client = ControlClient.for_simulator(sim)
    calls = client.calls()
    client.since = calls[-1]["seq"] if calls else 0
    yield client
    client.close()


@pytest.fixture(params=TRANSPORTS)
def transport(request: Any) -> str:
    return request.param


@pytest.fixture
def gateway(transport: str, sim: Any, tenant: SimulatedTenant) -> Iterator[Any]:
    settings = settings_for(sim) if transport == "psrp" else online_settings(tenant)
    with gateway_for(settings) as gw:
        yield gw


def sent(control: ControlClient, cmdlet: str) -> list[dict[str, Any]]:
    return [c for c in control.calls(control.since) if c["cmdlet"] == cmdlet]


def a_device(gateway: Any, index: int) -> Any:
    return list(gateway.devices())[index]


def test_the_factory_picks_the_transport(gateway: Any, transport: str) -> None:
    assert isinstance(gateway, ExchangeGateway)
    assert isinstance(gateway, RestGateway) == (transport == "rest")


def test_full_discovery_reads_the_same_devices_and_statistics(sim: Any, tenant: SimulatedTenant) -> None:
    with gateway_for(settings_for(sim)) as psrp, gateway_for(online_settings(tenant)) as rest:
        on_premises = {d.guid: (d, s) for d, s in psrp.devices_with_statistics()}
        online = {d.guid: (d, s) for d, s in rest.devices_with_statistics()}
        assert on_premises == online and len(online) == 40
        assert all(s is not None for _, s in online.values())
        assert dict(psrp.device_versions()) == dict(rest.device_versions())
        assert list(psrp.mailboxes()) == list(rest.mailboxes())


def test_delta_discovery_filter(gateway: Any, control: ControlClient, transport: str) -> None:
    device = a_device(gateway, 3)
    control.change_device(device.identity, FriendlyName="Changed for delta")
    since = device.when_changed.strftime("%m/%d/%Y %H:%M:%S")
    changed = [d for d, _ in gateway.devices_with_statistics(filter=f"WhenChanged -ge '{since}'")]
    assert device.guid in {d.guid for d in changed}
    filters = [c["parameters"].get("Filter") for c in sent(control, NAMES[transport]["get"])]
    assert any(f and f.startswith("WhenChanged") for f in filters)


def test_wipe_then_cancel(gateway: Any, control: ControlClient, transport: str) -> None:
    device = a_device(gateway, 5)
    result = gateway.wipe(device.identity)
    assert result.cmdlet == NAMES[transport]["wipe"]
    assert gateway.device_statistics(device.identity).status == "DeviceWipePending"
    gateway.cancel_wipe(device.identity)
    assert gateway.device_statistics(device.identity).status == "DeviceOk"
    wipe, cancel = sent(control, NAMES[transport]["wipe"])
    assert wipe["parameters"] == {"Identity": device.identity, "Confirm": False}
    assert cancel["parameters"] == {"Identity": device.identity, "Cancel": True, "Confirm": False}


def test_account_only_wipe(gateway: Any, control: ControlClient) -> None:
    device = next(d for d in gateway.devices() if d.device_active_sync_version in ("16.1",))
    gateway.wipe(device.identity, account_only=True)
    stats = gateway.device_statistics(device.identity)
    assert stats.account_only_device_wipe_request_time is not None
    [call] = sent(control, "Clear-MobileDevice")
    assert call["parameters"]["AccountOnly"] is True
    gateway.cancel_wipe(device.identity, account_only=True)


@pytest.mark.parametrize(("action", "state"), [("block_device", "Blocked"), ("allow_device", "Allowed")])
def test_allow_and_block(gateway: Any, control: ControlClient, action: str, state: str) -> None:
    device = a_device(gateway, 7)
    getattr(gateway, action)(device.mailbox, device.device_id)
    assert gateway.device_statistics(device.identity).device_access_state == state
    [call] = sent(control, "Set-CASMailbox")
    listed = "ActiveSyncBlockedDeviceIDs" if state == "Blocked" else "ActiveSyncAllowedDeviceIDs"
    assert call["parameters"][listed] == {"Add": [device.device_id]}
    gateway.remove_from_lists(device.mailbox, device.device_id)


def test_delete(gateway: Any, control: ControlClient, transport: str) -> None:
    device = a_device(gateway, 9 if transport == "psrp" else 10)
    gateway.remove_device(device.identity)
    assert device.guid not in {d.guid for d in gateway.devices()}
    assert sent(control, NAMES[transport]["remove"])[0]["parameters"]["Identity"] == device.identity


def test_unknown_identity_is_object_not_found(gateway: Any) -> None:
    with pytest.raises(ExchangeObjectNotFound, match="couldn't be found"):
        gateway.wipe("nobody\\ExchangeActiveSyncDevices\\none")


def test_a_wrong_certificate_fails_with_a_clear_message(tenant: SimulatedTenant) -> None:
    other = "".join(app_certificate("not the registered one"))
    with pytest.raises(ExchangeConnectionError) as caught:
        gateway_for(online_settings(tenant, password=other)).open()
    assert caught.value.kind == "authentication"
    assert "could not sign in" in str(caught.value) and "not registered on application" in str(caught.value)


def test_a_wrong_app_id_and_an_unknown_tenant(tenant: SimulatedTenant) -> None:
    with pytest.raises(ExchangeConnectionError, match="AADSTS700016: Application with identifier"):
        gateway_for(online_settings(tenant, username="0d4a2f3e-1b2c-4d5e-8f90-123456789abc")).open()
    with pytest.raises(ExchangeConnectionError, match="could not sign in.*(Tenant|tenant)"):
        gateway_for(online_settings(tenant, tenant="fabrikam.onmicrosoft.com")).open()


def test_a_client_secret_signs_in(tenant: SimulatedTenant) -> None:
    app = tenant.register_app(secret="a-long-client-secret~value.123")
    with gateway_for(online_settings(tenant, username=app.app_id, password=app.secret)) as gw:
        assert gw.organization().guid is not None
    with pytest.raises(ExchangeConnectionError, match="Invalid client secret"):
        gateway_for(online_settings(tenant, username=app.app_id, password="a-wrong-client-secret~value")).open()


def test_organization_is_the_tenant(tenant: SimulatedTenant) -> None:
    with gateway_for(online_settings(tenant)) as gw:
        organization = gw.organization()
        assert str(organization.guid) == tenant.tenant_id and organization.name == "Contoso"
        assert gw.servers() == [] and gw.current_site is None


def test_preflight_names_the_missing_role(sim: Any, tenant: SimulatedTenant) -> None:
    app = tenant.register_app(certificate_pem=tenant.app_credential)  # a second app, its own Exchange account
    sim.org.deny_cmdlets(app.account, ["Clear-MobileDevice", "Set-CASMailbox"])
    with gateway_for(online_settings(tenant, username=app.app_id)) as gw:
        result = gw.preflight()
        with pytest.raises(ExchangePermissionError, match="not allowed to run it"):
            gw.wipe(list(gw.devices())[0].identity)
    assert result.missing == ["Clear-MobileDevice", "Set-CASMailbox"]
    assert result.role_groups == {"Clear-MobileDevice": "Recipient Management", "Set-CASMailbox": "Recipient Management"}
    with gateway_for(online_settings(tenant)) as gw:
        assert gw.preflight().ok


def test_a_page_arrives_after_a_429(tenant: SimulatedTenant, monkeypatch: Any) -> None:
    from easconsole.exchange import rest

    monkeypatch.setattr(rest, "PAGE_SIZE", 15)  # three pages of 40 devices
    with gateway_for(online_settings(tenant)) as gw:
        total = len(list(gw.devices()))
        pages = iter(gw.devices())
        first = [next(pages) for _ in range(15)]
        tenant.throttle(1, retry_after=1)  # the second page is refused once, then served
        refused = tenant.throttled_answers
        rest_of_them = list(pages)
        assert tenant.throttled_answers == refused + 1
    assert total > 30 and len({d.guid for d in first + rest_of_them}) == total


def test_throttling_beyond_the_wait_limit_raises_with_retry_after(tenant: SimulatedTenant, monkeypatch: Any) -> None:
    from easconsole.exchange import rest

    monkeypatch.setattr(rest, "MAX_THROTTLE_WAIT", 0.5)
    tenant.throttle(1, retry_after=30)
    with gateway_for(online_settings(tenant)) as gw:
        with pytest.raises(ExchangeThrottledError) as caught:
            list(gw.devices())
    assert caught.value.retry_after == 30 and "HTTP 429" in str(caught.value)
    tenant.throttle(0)


def test_a_token_that_expires_mid_discovery_is_renewed_once(tenant: SimulatedTenant, monkeypatch: Any) -> None:
    from easconsole.exchange import rest

    monkeypatch.setattr(rest, "PAGE_SIZE", 10)
    with gateway_for(online_settings(tenant)) as gw:
        total = len(list(gw.devices()))
        pairs = gw.devices_with_statistics()
        first = [next(pairs) for _ in range(10)]
        tokens_before = sum(1 for r in tenant.requests if r.endswith("/token"))
        tenant.expire_tokens()  # an hour passes between two pages
        rest_of_them = list(pairs)
        tokens_after = sum(1 for r in tenant.requests if r.endswith("/token"))
    assert len(first) + len(rest_of_them) == total and all(s is not None for _, s in rest_of_them)
    assert tokens_after == tokens_before + 1  # one new token, not one per request


def test_settings_problems_say_what_to_fix(tenant: SimulatedTenant) -> None:
    good = online_settings(tenant)
    cases = {
        "tenant": ("contoso onmicrosoft", "neither a tenant ID"),
        "username": ("not-a-guid", "application \\(client\\) ID"),
        "password": ("-----BEGIN CERTIFICATE-----\nnonsense\n-----END CERTIFICATE-----", "cannot be read"),
    }
    for field, (value, message) in cases.items():
        with pytest.raises(ValueError, match=message):
            dataclasses.replace(good, **{field: value})
    certificate_only = tenant.app_credential.split("-----BEGIN PRIVATE KEY-----")[0]
    with pytest.raises(ValueError, match="has no private key"):
        dataclasses.replace(good, password=certificate_only)


def test_policies_rules_and_settings_the_push_uses(gateway: Any, control: ControlClient, transport: str) -> None:
    name = f"Push test {transport}"
    created = gateway.new_mailbox_policy(name, {"DevicePasswordEnabled": True, "MinDevicePasswordLength": 6})
    assert created.created.name == name
    gateway.set_mailbox_policy(name, {"MinDevicePasswordLength": 8})
    policy = next(p for p in gateway.mailbox_policies() if p.name == name)
    assert policy.parameters["MinDevicePasswordLength"] == 8
    policy_cmdlets = {c["cmdlet"] for c in control.calls(control.since) if "MailboxPolicy" in c["cmdlet"]}
    expected = "MobileDeviceMailboxPolicy" if transport == "rest" else "ActiveSyncMailboxPolicy"
    assert policy_cmdlets == {f"New-{expected}", f"Set-{expected}", f"Get-{expected}"}

    rule = gateway.new_access_rule("DeviceModel", f"Model {transport}", "Block").created
    assert rule.access_level == "Block" and rule in gateway.access_rules()
    gateway.remove_access_rule(rule.identity)
    gateway.set_organization_settings(default_access_level="Quarantine")
    assert gateway.organization_settings().default_access_level == "Quarantine"
    gateway.set_organization_settings(default_access_level="Allow")
