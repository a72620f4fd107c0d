"""Pushing settings and access rules to the simulated Exchange through the product's pypsrp path."""
import pytest

from easconsole.exchange.simulator.testing import DEFAULT_ACCOUNT, running_simulator
from easconsole.models import AuditEvent
from easconsole.services import connectors
from policies import push, services
from policies.models import ConnectorPolicy, PolicyPush
from tests.console import installed_connector
from tests.personas import make_persona
from tests.policies.push_support import default_policy, run_pushes, save_access, save_settings

pytestmark = [pytest.mark.django_db, pytest.mark.simulator]
State = PolicyPush.State


@pytest.fixture(scope="module")
def exchange():
    with running_simulator(devices=30) as sim:
        yield sim


@pytest.fixture
def connector(exchange, control):
    control.reset()
    return installed_connector(exchange)


@pytest.fixture
def admin():
    return make_persona("full_admin")


def sent(control, cmdlet):
    return [c for c in control.calls(control.since) if c["cmdlet"] == cmdlet]


def test_a_configured_password_group_reaches_exchange_as_the_whole_group(connector, admin, control):
    result = save_settings(connector, admin, {"DevicePasswordEnabled": True, "MinDevicePasswordLength": 8,
                                              "MaxInactivityTimeDeviceLock": 5})
    assert result.state == State.DONE, result.error
    [call] = sent(control, "Set-ActiveSyncMailboxPolicy")
    params = call["parameters"]
    assert params["Identity"] == "Default"  # the policy Exchange flags as default, read, not assumed
    # Every Password setting is sent: the configured ones and Exchange's defaults for the others.
    assert params["MinDevicePasswordLength"] == 8 and params["MaxInactivityTimeDeviceLock"] == "00:05:00"
    assert params["DevicePasswordHistory"] == 0 and params["MaxDevicePasswordFailedAttempts"] == "Unlimited"
    assert params["AllowExternalDeviceManagement"] is False
    # An unconfigured group is not touched.
    assert not {"AllowCamera", "AllowBluetooth", "MaxEmailAgeFilter", "AllowInternetSharing"} & set(params)
    with connectors.connector_gateway(connector) as gateway:
        policy = default_policy(gateway).parameters
    assert policy["DevicePasswordEnabled"] is True and policy["MinDevicePasswordLength"] == 8
    assert policy["MaxInactivityTimeDeviceLock"] == "00:05:00"
    # The push is audited with what changed in Exchange and the cmdlets sent.
    event = AuditEvent.objects.filter(action="push done").latest("pk")
    assert event.changes["policy MinDevicePasswordLength"] == ["(none)", "8"]
    assert "Set-ActiveSyncMailboxPolicy" in event.cmdlet

    # Nothing differs any more: a second push sends nothing.
    again = save_settings(connector, admin, {"DevicePasswordEnabled": True, "MinDevicePasswordLength": 8,
                                             "MaxInactivityTimeDeviceLock": 5})
    assert again.state == State.DONE and again.commands == []
    assert len(sent(control, "Set-ActiveSyncMailboxPolicy")) == 1


def test_rules_are_created_changed_and_removed_and_foreign_rules_are_kept(connector, admin, control):
    first = save_access(connector, admin, default_access_level="Quarantine", admin_mail_recipients=["it@contoso.com"],
                        rules=[{"characteristic": "DeviceType", "query_string": "iPad", "access_level": "Block"},
                               {"characteristic": "DeviceModel", "query_string": "Pixel 8", "access_level": "Allow"}])
    assert first.state == State.DONE, first.error
    with connectors.connector_gateway(connector) as gateway:
        rules = {r.identity: r.access_level for r in gateway.access_rules()}
        org = gateway.organization_settings()
    assert rules["iPad (DeviceType)"] == "Block" and rules["Pixel 8 (DeviceModel)"] == "Allow"
    assert org.default_access_level == "Quarantine" and org.admin_mail_recipients == ("it@contoso.com",)
    # Rules someone made in Exchange are kept and listed as not the console's.
    assert {"WP8 (DeviceType)", "BBB100-2 (DeviceModel)", "Outlook (DeviceType)"} <= set(rules)
    policy = ConnectorPolicy.objects.get(connector=connector)
    assert {r["identity"] for r in policy.foreign_rules} == {"WP8 (DeviceType)", "BBB100-2 (DeviceModel)", "Outlook (DeviceType)"}
    assert sorted(policy.owned_rules) == ["Pixel 8 (DeviceModel)", "iPad (DeviceType)"]

    second = save_access(connector, admin, default_access_level="Quarantine", admin_mail_recipients=["it@contoso.com"],
                         rules=[{"characteristic": "DeviceType", "query_string": "iPad", "access_level": "Quarantine"}])
    assert second.state == State.DONE, second.error
    assert [c["cmdlet"] for c in second.commands] == ["Remove-ActiveSyncDeviceAccessRule", "Set-ActiveSyncDeviceAccessRule"]
    with connectors.connector_gateway(connector) as gateway:
        rules = {r.identity: r.access_level for r in gateway.access_rules()}
    assert rules["iPad (DeviceType)"] == "Quarantine" and "Pixel 8 (DeviceModel)" not in rules
    assert {"WP8 (DeviceType)", "BBB100-2 (DeviceModel)", "Outlook (DeviceType)"} <= set(rules)
    assert not sent(control, "Remove-ActiveSyncDeviceAccessRule")[0]["parameters"]["Identity"].startswith("WP8")

    # Adopting a foreign rule makes it the console's: removing it later removes it from Exchange.
    services.access_rule_adopt(connector=connector, user=admin, identity="WP8 (DeviceType)")
    third = save_access(connector, admin, default_access_level="Quarantine", admin_mail_recipients=["it@contoso.com"],
                        rules=[{"characteristic": "DeviceType", "query_string": "iPad", "access_level": "Quarantine"}])
    assert third.state == State.DONE, third.error
    with connectors.connector_gateway(connector) as gateway:
        assert "WP8 (DeviceType)" not in {r.identity for r in gateway.access_rules()}


LONG_AGENT = "Android-SAMSUNG-SM-G998B/101.140000 (Build/TP1A.220624.014)"


def test_a_rule_exchange_rejects_fails_the_push_with_its_message_and_the_rest_is_applied(connector, admin, control):
    result = save_access(connector, admin, default_access_level="Block",
                         rules=[{"characteristic": "UserAgent", "query_string": LONG_AGENT, "access_level": "Allow"},
                                {"characteristic": "DeviceType", "query_string": "iPad", "access_level": "Block"}])
    assert result.state == State.FAILED
    assert "New-ActiveSyncDeviceAccessRule" in result.error and "maximum length is 64" in result.error
    assert "Applied:" in result.error and "organization settings" in result.error
    assert {c["outcome"] for c in result.commands} == {"applied", "failed"}
    with connectors.connector_gateway(connector) as gateway:
        assert gateway.organization_settings().default_access_level == "Block"
        assert "iPad (DeviceType)" in {r.identity for r in gateway.access_rules()}
    # The console keeps every change it was given; only the rejected rule is missing in Exchange.
    assert connector.access_rules.count() == 2
    assert ConnectorPolicy.objects.get(connector=connector).default_access_level == "Block"


def test_an_account_without_set_mailbox_policy_fails_naming_the_cmdlet_and_role_group(connector, admin, control):
    control.deny(DEFAULT_ACCOUNT[0], ["Set-ActiveSyncMailboxPolicy"])
    try:
        result = save_settings(connector, admin, {"AllowCamera": False})
    finally:
        control.grant(DEFAULT_ACCOUNT[0], ["Set-ActiveSyncMailboxPolicy"])
    assert result.state == State.FAILED
    assert "Set-ActiveSyncMailboxPolicy" in result.error and "Recipient Management" in result.error
    # The next push completes it.
    services.policy_settings_save(connector=connector, user=admin, values={"AllowCamera": False}, allow_external_mdm=False)
    [retry] = run_pushes()
    assert retry.state == State.DONE and [c["cmdlet"] for c in retry.commands] == ["Set-ActiveSyncMailboxPolicy"]


def test_exchange_down_during_a_push_is_retried_and_not_recorded_as_applied(connector, admin, control, exchange):
    for server in exchange.org.servers:
        control.stop_server(server.name)
    services.policy_settings_save(connector=connector, user=admin, values={"AllowCamera": False}, allow_external_mdm=False)
    [result] = run_pushes()
    assert result.state == State.REQUESTED and result.next_attempt_at is not None
    assert "Attempt 1 failed" in result.error
    assert not AuditEvent.objects.filter(action="push done").exists()
    for server in exchange.org.servers:
        control.start_server(server.name)
    PolicyPush.objects.filter(pk=result.pk).update(next_attempt_at=None)
    assert push.push_execute(result.pk).state == State.DONE
    with connectors.connector_gateway(connector) as gateway:
        assert default_policy(gateway).parameters["AllowCamera"] is False


def test_a_push_waits_for_installation_and_installation_pushes(exchange, control, admin, django_capture_on_commit_callbacks):
    control.reset()
    connector = installed_connector(exchange)
    connector.state = connector.State.FAILED
    connector.save()
    services.policy_settings_save(connector=connector, user=admin, values={"AllowBluetooth": "Disable"}, allow_external_mdm=True)
    assert not PolicyPush.objects.exists()
    connectors.connector_install(connector)
    [result] = run_pushes()
    assert result.state == State.DONE and result.requested_by is None
    with connectors.connector_gateway(connector) as gateway:
        params = default_policy(gateway).parameters
    assert params["AllowBluetooth"] == "Disable" and params["AllowExternalDeviceManagement"] is True


def test_one_push_at_a_time_per_connector_and_a_waiting_push_takes_later_saves(connector, admin, control):
    services.policy_settings_save(connector=connector, user=admin, values={"AllowCamera": False}, allow_external_mdm=False)
    services.policy_settings_save(connector=connector, user=admin, values={"AllowCamera": False, "AllowWiFi": False},
                                  allow_external_mdm=False)
    [waiting] = PolicyPush.objects.all()  # the second save joined the push still waiting
    running = PolicyPush.objects.create(connector=connector, state=State.SENT, requested_by_name="other")
    assert push.push_execute(waiting.pk).next_attempt_at is not None  # deferred behind the one being sent
    waiting.refresh_from_db()
    assert waiting.state == State.REQUESTED and waiting.attempts == 0
    running.delete()
    PolicyPush.objects.filter(pk=waiting.pk).update(next_attempt_at=None)
    assert push.push_execute(waiting.pk).state == State.DONE
    with connectors.connector_gateway(connector) as gateway:
        params = default_policy(gateway).parameters
    assert params["AllowCamera"] is False and params["AllowWiFi"] is False
