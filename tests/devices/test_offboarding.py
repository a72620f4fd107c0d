"""The offboarding playbook through the simulated organization: snapshot, wipes, acknowledgements, then
ActiveSync turned off for the mailbox; and its pages."""
import datetime as dt
from collections import Counter

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone

from devices.actions import rules
from devices.actions import services as actions
from devices.models import CollectionMember, DeviceAction, Offboarding
from devices.offboarding import services
from easconsole.exchange.simulator.online import SimulatedTenant
from easconsole.exchange.simulator.testing import running_simulator
from easconsole.models import AuditEvent
from tests.console import discovered, installed_connector, installed_online_connector
from tests.factories import CollectionFactory
from tests.personas import make_persona, make_user

pytestmark = [pytest.mark.django_db, pytest.mark.simulator]
State, Kind, Block = DeviceAction.State, DeviceAction.Kind, Offboarding.Block


@pytest.fixture(scope="module")
def exchange():
    with running_simulator(devices=60) as sim:
        yield sim


@pytest.fixture(scope="module")
def tenant(exchange):
    with SimulatedTenant(exchange.org) as running:
        yield running


@pytest.fixture(params=["psrp", "rest"])
def devices_over(request, exchange, tenant, control):
    """The devices of a connector over on-premises Remote PowerShell and over Exchange Online's REST."""
    if request.param == "psrp":
        return discovered(installed_connector(exchange))
    return discovered(installed_online_connector(tenant))


def leaver(devices, control, *, taken=()):
    """A mailbox with two devices or more, none wiped yet, ActiveSync on, not used by an earlier test."""
    counts = Counter(d.mailbox for d in devices if d.status == "DeviceOk" and d.is_remote_wipe_supported is not False)
    for mailbox, n in counts.most_common():
        if n >= 2 and mailbox not in taken and control.user(mailbox)["activesync_enabled"]:
            return mailbox, [d for d in devices if d.mailbox == mailbox]
    raise AssertionError("the simulated organization has no mailbox with two devices")


def calls(control, cmdlet):
    return [c for c in control.calls(control.since) if c["cmdlet"] == cmdlet]


def test_a_leaver_is_offboarded_to_acknowledgement_then_activesync_is_turned_off(devices_over, control,
                                                                                 django_capture_on_commit_callbacks):
    mailbox, mine = leaver(devices_over, control)
    connector = mine[0].connector
    full = mine[0]
    operator = make_persona("operator")
    with django_capture_on_commit_callbacks(execute=True):
        offboarding = services.start_offboarding(user=operator, connector_id=connector.pk, mailbox=mailbox,
                                                 full_wipe_device_ids=[full.pk], address="10.1.2.3")

    # The evidence: every device as it was, in the audit trail.
    evidence = AuditEvent.objects.get(action="offboard", object_id=str(offboarding.pk))
    assert {d["device_id"] for d in evidence.changes["devices"]} == {d.device_id for d in mine}
    assert evidence.changes["devices"][0].keys() >= {"name", "device_model", "device_os", "device_imei", "last_success_sync",
                                                     "access_state"}
    # One wipe per device: full where chosen, account-only where the device supports it.
    rows = list(offboarding.devices.select_related("wipe", "device"))
    for row in rows:
        expected = Kind.WIPE if row.device == full or rules.account_wipe_unavailable(row.device) else Kind.ACCOUNT_WIPE
        assert row.wipe.kind == expected and row.wipe.state == State.REQUESTED
    assert offboarding.block_state == Block.WAITING
    assert {row.wipe.kind for row in rows} == {Kind.WIPE, Kind.ACCOUNT_WIPE}

    for row in rows:  # what the worker does with each queued wipe
        actions.action_execute(row.wipe.pk)
    actions.poll_open_wipes()
    assert {row.wipe.state for row in offboarding.devices.select_related("wipe")} == {State.PENDING}
    assert not calls(control, "Set-CASMailbox"), "ActiveSync stays on while a wipe waits for its device"

    with django_capture_on_commit_callbacks(execute=True):
        for row in rows:
            control.sync_device(row.device.device_id)
        actions.poll_open_wipes()
    assert {row.wipe.state for row in offboarding.devices.select_related("wipe")} == {State.ACKNOWLEDGED}
    offboarding.refresh_from_db()
    assert offboarding.block_state == Block.REQUESTED  # queued once every wipe has ended

    services.block_mailbox(offboarding.pk)  # the worker
    offboarding.refresh_from_db()
    assert offboarding.block_state == Block.DONE and offboarding.finished_at and offboarding.blocked_at
    [call] = calls(control, "Set-CASMailbox")
    assert call["parameters"] == {"Identity": mailbox, "ActiveSyncEnabled": False}
    assert control.user(mailbox)["activesync_enabled"] is False
    assert services.block_mailbox(offboarding.pk) is None  # a second task sends nothing
    closed = AuditEvent.objects.get(action="offboard: turn ActiveSync off", object_id=str(offboarding.pk))
    assert closed.outcome == "success" and closed.cmdlet == "Set-CASMailbox" and closed.parameters["ActiveSyncEnabled"] is False


def test_an_operator_without_every_device_in_scope_is_refused_and_nothing_is_sent(exchange, control):
    devices = discovered(installed_connector(exchange))
    mailbox, mine = leaver(devices, control)
    scoped = CollectionFactory(name="Only one")
    CollectionMember.objects.create(collection=scoped, device=mine[0], direct=True)
    operator = make_user("scoped-operator", "Operations Administrator", collections=[scoped])
    with pytest.raises(PermissionDenied):
        services.start_offboarding(user=operator, connector_id=mine[0].connector_id, mailbox=mailbox)
    assert not Offboarding.objects.exists() and not DeviceAction.objects.exists()
    assert AuditEvent.objects.filter(action="offboard", outcome="denied", object_repr=mailbox).exists()
    for persona in ("analyst", "end_user"):
        with pytest.raises(PermissionDenied):
            services.start_offboarding(user=make_persona(persona), connector_id=mine[0].connector_id, mailbox=mailbox)


def test_the_pages_find_the_mailbox_choose_the_wipes_and_show_the_outcome(client, exchange, control):
    devices = discovered(installed_connector(exchange))
    mailbox, mine = leaver(devices, control)
    client.force_login(make_persona("full_admin"))
    add = reverse("devices:offboarding_add")
    found = client.get(add, {"q": mine[0].user_display_name[:6]}).text
    assert f"mailbox={mailbox}" in found.replace("%20", " ") or mailbox in found
    page = client.get(add, {"connector": mine[0].connector_id, "mailbox": mailbox}).text
    assert all(d.name in page for d in mine)
    response = client.post(add, {"connector": mine[0].connector_id, "mailbox": mailbox, "full_wipe": [mine[1].pk]})
    offboarding = Offboarding.objects.get()
    assert response.status_code == 302 and response["Location"] == offboarding.get_absolute_url()
    assert offboarding.devices.get(device=mine[1]).wipe.kind == Kind.WIPE
    outcome = client.get(offboarding.get_absolute_url()).text
    assert "Waiting for the wipes" in outcome and 'hx-trigger="every 3s"' in outcome
    assert all(d.name in outcome for d in mine)
    assert "Offboard this user" in client.get(mine[0].get_absolute_url()).text
    users_devices = client.get(reverse("devices:device_list"), {"q": mine[0].user_principal_name}).text
    assert f'href="{add}?q={mine[0].user_principal_name.replace("@", "%40")}"' in users_devices
    assert client.post(add, {"connector": mine[0].connector_id, "mailbox": "nobody@contoso.com"}).status_code == 404


def test_exchange_down_when_activesync_is_turned_off_is_retried_then_sent_once(exchange, control, settings):
    devices = discovered(installed_connector(exchange))
    mailbox, mine = leaver(devices, control)
    offboarding = services.start_offboarding(user=make_persona("full_admin"), connector_id=mine[0].connector_id, mailbox=mailbox)
    for row in offboarding.devices.select_related("wipe"):  # e.g. the administrator cancelled them in Exchange
        DeviceAction.objects.filter(pk=row.wipe.pk).update(state=State.CANCELLED)
    services.resume_offboardings()  # the every-minute schedule notices it
    offboarding.refresh_from_db()
    assert offboarding.block_state == Block.REQUESTED
    for name in ("EXCAS01", "EXCAS02", "EXCAS03", "EXMBX01", "EXMBX02"):
        exchange.stop_server(name)
    services.block_mailbox(offboarding.pk)
    offboarding.refresh_from_db()
    assert offboarding.block_state == Block.REQUESTED and "ActiveSync will be turned off at the next attempt" in offboarding.block_error
    assert dt.timedelta(seconds=25) < offboarding.block_next_attempt_at - timezone.now() <= dt.timedelta(seconds=30)
    assert services.resume_offboardings() == 0  # not due yet
    for name in ("EXCAS01", "EXCAS02", "EXCAS03", "EXMBX01", "EXMBX02"):
        exchange.start_server(name)
    Offboarding.objects.filter(pk=offboarding.pk).update(block_next_attempt_at=timezone.now())
    assert services.resume_offboardings() == 1
    services.block_mailbox(offboarding.pk)
    offboarding.refresh_from_db()
    assert offboarding.block_state == Block.DONE and offboarding.block_error == ""
    assert [c["parameters"] for c in calls(control, "Set-CASMailbox")] == [{"Identity": mailbox, "ActiveSyncEnabled": False}]

    lifetime = dt.timedelta(hours=settings.EASCONSOLE_WIPE_EXPIRY_HOURS)  # and one Exchange never takes fails in the end
    Offboarding.objects.filter(pk=offboarding.pk).update(block_state=Block.REQUESTED, block_requested_at=timezone.now() - lifetime)
    for name in ("EXCAS01", "EXCAS02", "EXCAS03", "EXMBX01", "EXMBX02"):
        exchange.stop_server(name)
    services.block_mailbox(offboarding.pk)
    offboarding.refresh_from_db()
    assert offboarding.block_state == Block.FAILED and "did not take it within" in offboarding.block_error
    assert AuditEvent.objects.filter(action="offboard: turn ActiveSync off", outcome="failure").exists()


def test_a_choice_of_another_mailbox_s_device_is_refused_with_a_message_and_nothing_starts(client, exchange, control):
    devices = discovered(installed_connector(exchange))
    mailbox, mine = leaver(devices, control)
    stranger = next(d for d in devices if d.mailbox != mailbox)
    client.force_login(make_persona("operator"))
    page = client.post(reverse("devices:offboarding_add"),
                       {"connector": mine[0].connector_id, "mailbox": mailbox, "full_wipe": [stranger.pk]}).text
    assert f"Device {stranger.pk} is not one of this mailbox&#x27;s devices: nothing was started." in page and all(d.name in page for d in mine)
    assert not Offboarding.objects.exists() and not DeviceAction.objects.exists()


def test_analysts_read_the_outcomes_but_are_not_offered_to_start_one(client, exchange, control):
    devices = discovered(installed_connector(exchange))
    mailbox, mine = leaver(devices, control)
    offboarding = services.start_offboarding(user=make_persona("operator"), connector_id=mine[0].connector_id, mailbox=mailbox)
    client.force_login(make_persona("analyst"))
    listed = client.get(reverse("devices:offboarding_list")).text
    assert offboarding.user_display_name in listed and "Offboard a user" not in listed
    assert mine[0].name in client.get(offboarding.get_absolute_url()).text
    assert "Offboard this user" not in client.get(mine[0].get_absolute_url()).text


def test_an_operator_scoped_to_one_device_of_the_mailbox_sees_only_it_and_may_not_confirm(client, exchange, control):
    devices = discovered(installed_connector(exchange))
    mailbox, mine = leaver(devices, control)
    scoped = CollectionFactory(name="Only one")
    CollectionMember.objects.create(collection=scoped, device=mine[0], direct=True)
    client.force_login(make_user("scoped-operator", "Operations Administrator", collections=[scoped]))
    add = reverse("devices:offboarding_add")
    page = client.get(add, {"connector": mine[0].connector_id, "mailbox": mailbox}).text
    assert mine[0].name in page and not any(d.device_id in page for d in mine[1:])
    assert f"{len(mine) - 1} of its devices" in page and "disabled" in page.split('data-testid="confirm"')[1].split(">")[0]
    assert client.post(add, {"connector": mine[0].connector_id, "mailbox": mailbox}).status_code == 403
    assert not Offboarding.objects.exists()
    other = next(d for d in devices if d.mailbox != mailbox)
    assert client.get(add, {"connector": other.connector_id, "mailbox": other.mailbox}).status_code == 404
