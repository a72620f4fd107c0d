"""What-if numbers against what Exchange then does, policy application at sync, and drift found by discovery."""
from collections import Counter

import pytest
from django.utils import timezone

from devices import discovery
from devices.models import Device
from easconsole.models import StatusMessage
from policies import push, selectors, services
from policies.models import ConnectorPolicy, PolicyPush
from tests.console import installed_connector, new_run
from tests.personas import make_persona
from tests.policies.push_support import run_pushes, save_access, save_settings

pytestmark = [pytest.mark.django_db, pytest.mark.simulator]


@pytest.fixture(scope="module")
def exchange():
    from easconsole.exchange.simulator.testing import running_simulator

    with running_simulator(devices=120, seed=7) as sim:
        yield sim


@pytest.fixture
def connector(exchange, control):
    control.reset()
    connector = installed_connector(exchange, install=False)
    assert discovery.full_discovery(new_run(connector)).state == "succeeded"
    return connector


@pytest.fixture
def admin():
    return make_persona("full_admin")


def access_states(connector) -> dict[str, str]:
    return dict(Device.objects.filter(connector=connector, missing_since__isnull=True).values_list("identity", "access_state"))


def test_what_if_numbers_equal_the_access_states_exchange_reports_after_the_change(connector, admin, control):
    save_access(connector, admin)  # the first push learns the rules someone made in Exchange
    rules = [{"characteristic": "DeviceType", "query_string": "iPad", "access_level": "Block"},
             {"characteristic": "DeviceModel", "query_string": "Pixel 8", "access_level": "Allow"}]
    before = access_states(connector)
    transitions = selectors.what_if(connector, rules=rules, default_level="Quarantine")
    predicted = {t.after: t.count for t in transitions}
    assert predicted.get("Quarantined", 0) > 10 and predicted.get("Blocked", 0) > 0
    expected = dict(before)
    for t in transitions:
        for identity in Device.objects.filter(pk__in=t.device_ids).values_list("identity", flat=True):
            expected[identity] = t.after

    result = save_access(connector, admin, default_access_level="Quarantine", rules=rules)
    assert result.state == PolicyPush.State.DONE, result.error
    control.sync_all(include_dormant=True)
    assert discovery.full_discovery(new_run(connector)).state == "succeeded"

    after = access_states(connector)
    assert after == expected
    changed = Counter(after[i] for i in after if after[i] != before.get(i))
    assert dict(changed) == predicted


def test_the_simulated_device_reports_whether_it_could_apply_the_policy(connector, admin, control):
    # Apple devices cannot turn off Wi-Fi through EAS: a Security group that prohibits it is applied partly.
    assert save_settings(connector, admin, {"AllowWiFi": False}).state == PolicyPush.State.DONE
    synced_from = timezone.now().replace(microsecond=0)
    control.sync_all()
    assert discovery.full_discovery(new_run(connector)).state == "succeeded"
    devices = Device.objects.filter(connector=connector, access_state="Allowed", missing_since__isnull=True,
                                    policy_applied="Default",  # mailboxes with another policy keep theirs
                                    last_policy_update_time__gte=synced_from)  # lost devices did not sync
    by_type = {(d.device_type, d.policy_application_status) for d in devices if d.device_type in ("iPhone", "SAMSUNGSMG998B")}
    assert ("iPhone", "PartiallyApplied") in by_type and ("SAMSUNGSMG998B", "AppliedInFull") in by_type
    assert ("iPhone", "AppliedInFull") not in by_type


def test_a_change_made_in_exchange_is_drift_found_by_full_discovery(connector, admin, control):
    save_settings(connector, admin, {"DevicePasswordEnabled": True, "MinDevicePasswordLength": 8})
    save_access(connector, admin, default_access_level="Allow",
                rules=[{"characteristic": "DeviceType", "query_string": "iPad", "access_level": "Block"}])
    assert discovery.full_discovery(new_run(connector)).state == "succeeded"
    assert ConnectorPolicy.objects.get(connector=connector).drift == []

    # Someone changes the policy and a rule in the Exchange admin center.
    control.admin_center("Set-ActiveSyncMailboxPolicy", Identity="Default", MinDevicePasswordLength=4)
    control.admin_center("Set-ActiveSyncDeviceAccessRule", Identity="iPad (DeviceType)", AccessLevel="Allow")
    control.admin_center("Set-ActiveSyncOrganizationSettings", DefaultAccessLevel="Quarantine")
    assert discovery.full_discovery(new_run(connector)).state == "succeeded"

    policy = ConnectorPolicy.objects.get(connector=connector)
    found = {d["setting"]: (d["console"], d["exchange"]) for d in policy.drift}
    assert found == {"MinDevicePasswordLength": ("8", "4"), "DefaultAccessLevel": ("Allow", "Quarantine"),
                     "rule iPad (DeviceType)": ("Block", "Allow")}
    message = StatusMessage.objects.filter(connector=connector, message_id=push.DRIFT).get()
    assert message.severity == StatusMessage.Severity.WARNING
    assert "MinDevicePasswordLength: console 8, Exchange 4" in message.description

    # "Apply the console's settings again" brings Exchange back.
    push.push_request(connector=connector, user=admin, reason="test")
    [again] = run_pushes()
    assert again.state == PolicyPush.State.DONE
    assert ConnectorPolicy.objects.get(connector=connector).drift == []


def test_taking_exchanges_values_makes_them_the_consoles(connector, admin, control):
    save_settings(connector, admin, {"DevicePasswordEnabled": True, "MinDevicePasswordLength": 8,
                                     "MaxInactivityTimeDeviceLock": 10})
    control.admin_center("Set-ActiveSyncMailboxPolicy", Identity="Default", MinDevicePasswordLength=6,
                         MaxInactivityTimeDeviceLock="00:15:00")
    assert discovery.full_discovery(new_run(connector)).state == "succeeded"
    assert services.take_exchange_values(connector=connector, user=admin) == 2
    policy = ConnectorPolicy.objects.get(connector=connector)
    assert policy.settings["MinDevicePasswordLength"] == 6 and policy.settings["MaxInactivityTimeDeviceLock"] == 15
    assert policy.drift == []
    [follow_up] = run_pushes()  # the console now equals Exchange: nothing to send
    assert follow_up.state == PolicyPush.State.DONE and follow_up.commands == []
