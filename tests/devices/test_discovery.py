"""Full and delta discovery against the simulated organization: what is stored, named, linked, marked and purged."""
import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from devices import discovery
from devices.discovery import staging
from devices.models import Device, DiscoveryRun, DiscoveryStagedDevice, DiscoveryStagedMailbox, UserDeviceAffinity
from easconsole import logs
from easconsole.exchange.simulator.online import SimulatedTenant
from easconsole.exchange.simulator.testing import ControlClient, running_simulator
from easconsole.services import connectors
from tests.console import exchange_truth, installed_connector, installed_online_connector, new_run
from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.simulator]
User = get_user_model()


@pytest.fixture(scope="module")
def exchange():
    with running_simulator(devices=80, seed=5) as sim:
        yield sim


@pytest.fixture
def control(control):
    yield control
    control.reset()  # the organization as generated, for the next test


@pytest.fixture(scope="module")
def tenant(exchange):
    """The same organization as an Exchange Online tenant (REST InvokeCommand, app-only sign-in)."""
    with SimulatedTenant(exchange.org) as running:
        yield running


@pytest.fixture(params=["psrp", "rest"])
def connect(request, exchange, tenant):
    """Makes a connector over each transport: on-premises Remote PowerShell, then Exchange Online's REST."""
    if request.param == "psrp":
        return lambda **fields: installed_connector(exchange, **fields)
    return lambda **fields: installed_online_connector(tenant, **fields)


def test_full_discovery_stores_exactly_the_organizations_devices(connect, control):
    connector = connect(install=False)
    pairs, mailboxes = exchange_truth(connector)
    wiped = pairs[0][0]
    with connectors.connector_gateway(connector) as gateway:
        gateway.wipe(wiped.identity)
    owner = mailboxes[pairs[1][0].mailbox.lower()]
    by_upn = UserFactory(username=owner.user_principal_name.upper(), email="")
    other = mailboxes[pairs[2][0].mailbox.lower()]
    by_domain_account = UserFactory(username=f"CONTOSO\\{other.sam_account_name}", email="")
    third = mailboxes[pairs[3][0].mailbox.lower()]
    by_email = UserFactory(username="someone", email=third.primary_smtp_address.title())

    run = discovery.full_discovery(new_run(connector))

    assert run.state == DiscoveryRun.State.SUCCEEDED, run.error
    assert (run.devices_seen, run.devices_added, run.devices_missing) == (len(pairs), len(pairs), 0)
    stored = {d.exchange_guid: d for d in Device.objects.filter(connector=connector)}
    assert set(stored) == {d.guid for d, _ in pairs}
    for device, stats in pairs:
        row = stored[device.guid]
        mailbox = mailboxes[device.mailbox.lower()]
        assert row.name == f"{mailbox.sam_account_name}_{device.device_type}"
        assert (row.identity, row.device_id, row.device_model, row.device_os) == (
            device.identity, device.device_id, device.device_model, device.device_os)
        assert (row.user_principal_name, row.user_primary_smtp_address) == (
            mailbox.user_principal_name, mailbox.primary_smtp_address)
        assert row.last_success_sync == stats.last_success_sync and row.access_state == stats.device_access_state
        assert row.when_changed is not None and row.missing_since is None and row.last_discovered is not None
    assert stored[wiped.guid].status == "DeviceWipePending" and stored[wiped.guid].device_wipe_request_time
    linked = {(a.device.mailbox.lower(), a.user_id) for a in UserDeviceAffinity.objects.select_related("device")}
    if connector.is_online:  # Exchange Online: users link their devices by hand or through an import
        assert not linked
        return
    assert (pairs[1][0].mailbox.lower(), by_upn.pk) in linked
    assert (pairs[2][0].mailbox.lower(), by_domain_account.pk) in linked
    assert (pairs[3][0].mailbox.lower(), by_email.pk) in linked
    assert set(UserDeviceAffinity.objects.values_list("source", flat=True)) == {"automatic"}
    assert not DiscoveryStagedDevice.objects.exists() and not DiscoveryStagedMailbox.objects.exists()
    messages = [line.message for line in logs.tail("EasDisc.log")]
    assert any("Full discovery of connector Contoso started" in m for m in messages)
    assert any(f"{len(pairs)} devices read, {len(pairs)} added" in m for m in messages)


def test_delta_picks_up_added_changed_and_removed_devices(connect, control):
    connector = connect(install=False)
    assert discovery.full_discovery(new_run(connector)).state == DiscoveryRun.State.SUCCEEDED
    before = {d.exchange_guid: d for d in Device.objects.filter(connector=connector)}
    changed, removed = list(before.values())[:2]
    control.add_user(alias="newbie", first="New", last="Bie")
    control.add_device("newbie", device_type="iPhone", model="iPhone 15")
    control.change_device(changed.identity, model="Pixel 9 Pro")
    control.remove_device(removed.identity)
    since = control.calls()[-1]["seq"]  # the simulator's calls after this one are the delta's

    run = discovery.delta_discovery(new_run(connector, "delta"))

    assert run.state == DiscoveryRun.State.SUCCEEDED and run.kind == "delta", run.error
    assert (run.devices_added, run.devices_missing) == (1, 1)
    assert run.devices_seen < len(before) / 2  # only what changed was read in full
    added = Device.objects.get(connector=connector, mailbox="newbie")
    assert added.name == "newbie_iPhone" and added.device_model == "iPhone 15"
    assert added.user_principal_name == "newbie@contoso.com"
    assert Device.objects.get(pk=changed.pk).device_model == "Pixel 9 Pro"
    assert Device.objects.get(pk=removed.pk).missing_since is not None
    assert Device.objects.filter(connector=connector, missing_since__isnull=True).count() == len(before)
    calls = control.calls(since)
    listing = "Get-MobileDevice" if connector.is_online else "Get-ActiveSyncDevice"
    filters = [c["parameters"].get("Filter") for c in calls if c["cmdlet"] == listing]
    assert None in filters  # the cheap listing of every Guid, to find removed devices
    assert any(f and f.startswith("WhenChanged -ge '") for f in filters)
    if not connector.is_online:  # over REST the listing narrows its properties with $select instead
        assert ["Guid", "WhenChanged"] in [c["parameters"].get("Property") for c in calls if c["cmdlet"] == "Select-Object"]


def test_a_delta_reads_every_device_where_exchange_cannot_filter_on_when_changed(connect, control, monkeypatch):
    """The reference does not list WhenChanged among Get-ActiveSyncDevice's filterable properties: an
    Exchange that refuses it still gets a correct delta, read in full, and the log says why."""
    from easconsole.exchange.simulator.cmdlets import devices as simulated_devices

    connector = connect(install=False)
    assert discovery.full_discovery(new_run(connector)).state == DiscoveryRun.State.SUCCEEDED
    changed = Device.objects.filter(connector=connector).first()
    control.change_device(changed.identity, model="Pixel 9 Pro")
    monkeypatch.delitem(simulated_devices.DEVICE_FILTER, "WhenChanged")
    since = control.calls()[-1]["seq"]

    run = discovery.delta_discovery(new_run(connector, "delta"))

    assert run.state == DiscoveryRun.State.SUCCEEDED and run.kind == "delta", run.error
    assert Device.objects.get(pk=changed.pk).device_model == "Pixel 9 Pro"
    assert run.devices_seen == Device.objects.filter(connector=connector).count()  # read in full
    listing = "Get-MobileDevice" if connector.is_online else "Get-ActiveSyncDevice"
    filters = [c["parameters"].get("Filter") for c in control.calls(since) if c["cmdlet"] == listing]
    assert any(f and f.startswith("WhenChanged -ge '") for f in filters)  # tried first
    messages = [line.message for line in logs.tail("EasDisc.log")]
    assert any("Exchange cannot filter devices on WhenChanged" in m for m in messages)


def test_a_delta_without_an_earlier_run_is_a_full_discovery(exchange, control):
    connector = installed_connector(exchange, install=False)
    run = discovery.delta_discovery(new_run(connector, "delta"))
    assert run.state == DiscoveryRun.State.SUCCEEDED and run.kind == "full"
    assert Device.objects.filter(connector=connector).count() == run.devices_seen


@pytest.fixture(scope="module")
def large_exchange():
    """Large enough that stopping it mid-stream leaves most of the devices unread."""
    with running_simulator(devices=1200, seed=9) as sim:
        yield sim


def test_a_discovery_that_breaks_midway_leaves_the_inventory_as_it_was(large_exchange, monkeypatch):
    exchange = large_exchange
    control = ControlClient.for_simulator(exchange)
    connector = installed_connector(exchange, install=False)
    assert discovery.full_discovery(new_run(connector)).state == DiscoveryRun.State.SUCCEEDED
    snapshot = sorted(Device.objects.values_list("exchange_guid", "name", "device_model", "missing_since", "last_discovered"))
    gone = Device.objects.first()
    control.remove_device(gone.identity)
    control.change_device(Device.objects.last().identity, model="Changed meanwhile")
    monkeypatch.setattr(staging, "BATCH_SIZE", 50)
    stopped = []

    def stop_exchange(run):
        if run.devices_seen >= 50 and not stopped:
            for name in ("EXCAS01", "EXCAS02", "EXMBX01", "EXCAS03", "EXMBX02"):
                control.stop_server(name)
            stopped.append(run.devices_seen)

    run = discovery.full_discovery(new_run(connector), on_progress=stop_exchange)

    for name in ("EXCAS01", "EXCAS02", "EXMBX01", "EXCAS03", "EXMBX02"):
        control.start_server(name)
    control.reset()
    assert stopped and run.state == DiscoveryRun.State.FAILED
    assert run.devices_seen < 1000 and "failed" in run.error and run.finished is not None
    assert sorted(Device.objects.values_list("exchange_guid", "name", "device_model", "missing_since",
                                             "last_discovered")) == snapshot
    assert not DiscoveryStagedDevice.objects.exists()
    assert any("The inventory was left as it was" in line.message for line in logs.tail("EasDisc.log", min_severity=3))


def test_inactive_devices_are_left_out_and_counted(exchange, control):
    connector = installed_connector(exchange, install=False, ignore_inactive_days=30)
    active, _ = exchange_truth(connector, ignore_inactive_days=30)
    everything, _ = exchange_truth(connector)
    assert len(active) < len(everything)
    run = discovery.full_discovery(new_run(connector))
    assert run.devices_ignored == len(everything) - len(active) and run.devices_seen == len(everything)
    assert set(Device.objects.values_list("exchange_guid", flat=True)) == {d.guid for d, _ in active}
    # A delta remembers them: nothing changed, so nothing is read in full, and none is taken for removed.
    delta = discovery.delta_discovery(new_run(connector, "delta"))
    assert (delta.state, delta.devices_seen, delta.devices_missing, delta.devices_added) == ("succeeded", 0, 0, 0)
    assert DiscoveryStagedDevice.objects.filter(run=delta, ignored=True).count() == run.devices_ignored


def test_missing_devices_are_marked_then_purged_after_the_retention_period(exchange, control, settings):
    connector = installed_connector(exchange, install=False)
    discovery.full_discovery(new_run(connector))
    gone, kept = Device.objects.all()[:2]
    control.remove_device(gone.identity)
    run = discovery.full_discovery(new_run(connector))
    assert run.devices_missing == 1
    gone.refresh_from_db()
    assert gone.missing_since is not None
    assert discovery.purge_missing_devices() == 0  # never dropped before the retention period
    settings.DISCOVERY_RETENTION_DAYS = 90
    Device.objects.filter(pk=gone.pk).update(missing_since=timezone.now() - dt.timedelta(days=91))
    Device.objects.filter(pk=kept.pk).update(missing_since=timezone.now() - dt.timedelta(days=89))
    assert discovery.purge_missing_devices() == 1
    assert not Device.objects.filter(pk=gone.pk).exists() and Device.objects.filter(pk=kept.pk).exists()
    assert any(line.message.startswith("Purged 1 devices") for line in logs.tail("EasDisc.log"))
    # Seen again: no longer missing.
    discovery.full_discovery(new_run(connector))
    assert not Device.objects.filter(connector=connector, missing_since__isnull=False).exists()


def test_manual_affinity_is_never_touched_and_automatic_links_follow_exchange(exchange, control):
    connector = installed_connector(exchange, install=False)
    pairs, mailboxes = exchange_truth(connector)
    owner = mailboxes[pairs[0][0].mailbox.lower()]
    person = UserFactory(username=owner.sam_account_name, email="")
    stranger = UserFactory(username="stranger", email="")
    discovery.full_discovery(new_run(connector))
    device = Device.objects.get(exchange_guid=pairs[0][0].guid)
    assert UserDeviceAffinity.objects.filter(device=device, user=person, source="automatic").exists()
    manual = UserDeviceAffinity.objects.create(device=device, user=stranger, source="manual")
    person.username = "renamed"
    person.save()
    discovery.full_discovery(new_run(connector))
    assert not UserDeviceAffinity.objects.filter(device=device, user=person).exists()  # no longer holds
    assert UserDeviceAffinity.objects.filter(pk=manual.pk, source="manual").exists()


def test_exchange_online_connectors_get_no_automatic_affinity(exchange, control):
    connector = installed_connector(exchange, install=False)
    pairs, mailboxes = exchange_truth(connector)
    UserFactory(username=mailboxes[pairs[0][0].mailbox.lower()].sam_account_name)
    from devices.discovery.apply import apply_run

    run = new_run(connector)
    connector.environment = connector.Environment.ONLINE
    discovery.runs.claim(run)
    with connectors.connector_gateway(installed_connector(exchange, install=False, name="reader")) as gateway:
        stager = staging.DeviceStager(run, lambda keys: {}, ignore_inactive_days=999)
        for device, stats in gateway.devices_with_statistics():
            stager.add(device, stats)
        stager.flush()
    apply_run(run, connector)
    assert Device.objects.filter(connector=connector).count() == len(pairs)
    assert not UserDeviceAffinity.objects.exists()


def test_a_killed_workers_run_is_found_and_failed(exchange, control):
    connector = installed_connector(exchange, install=False)
    run = new_run(connector)
    discovery.runs.claim(run)
    DiscoveryStagedDevice.objects.create(run=run, exchange_guid="00000000-0000-0000-0000-000000000001")
    DiscoveryRun.objects.filter(pk=run.pk).update(heartbeat=timezone.now() - dt.timedelta(minutes=16))
    assert discovery.fail_stale_runs() == 1
    run.refresh_from_db()
    assert run.state == DiscoveryRun.State.FAILED and "worker stopped" in run.error
    assert not DiscoveryStagedDevice.objects.exists()
    # Had it only been slow, its worker finds the run failed when it comes to apply: nothing is written.
    run = discovery.execute(run)
    assert run.state == DiscoveryRun.State.FAILED and "worker stopped" in run.error
    assert not Device.objects.exists() and not DiscoveryStagedDevice.objects.exists()


def test_one_discovery_of_a_connector_at_a_time(exchange, control):
    connector = installed_connector(exchange, install=False)
    running = new_run(connector)
    discovery.runs.claim(running)
    second = new_run(connector)
    with pytest.raises(discovery.DiscoveryBusy):
        discovery.full_discovery(second)
    assert DiscoveryRun.objects.get(pk=second.pk).state == DiscoveryRun.State.QUEUED


def test_chosen_ad_containers_limit_discovery(exchange, control):
    connector = installed_connector(exchange, install=False)
    discovery.full_discovery(new_run(connector))
    everything = Device.objects.filter(connector=connector).count()
    connector.all_recipients = False
    connector.ad_containers = "contoso.com/Users/HQ\n"
    connector.save()
    run = discovery.full_discovery(new_run(connector))
    assert run.state == DiscoveryRun.State.SUCCEEDED and 0 < run.devices_seen < everything
    present = Device.objects.filter(connector=connector, missing_since__isnull=True)
    assert present.count() == run.devices_seen and run.devices_missing == everything - run.devices_seen
    calls = [c for c in control.calls() if c["cmdlet"] in ("Get-ActiveSyncDevice", "Get-Mailbox")]
    assert calls[-1]["parameters"]["OrganizationalUnit"] == "contoso.com/Users/HQ"
