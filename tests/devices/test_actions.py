"""Device actions through the simulated organization: wipe lifecycle, cancel, allow, block, delete, failures."""
import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied

from devices.actions import services
from devices.models import Collection, CollectionMember, DeviceAction
from easconsole.exchange.simulator.testing import running_simulator
from easconsole.models import AuditEvent
from tests.console import discovered, installed_connector
from tests.factories import CollectionFactory
from tests.personas import make_persona, make_user

pytestmark = [pytest.mark.django_db, pytest.mark.simulator]
State, Kind = DeviceAction.State, DeviceAction.Kind


@pytest.fixture(scope="module")
def exchange():
    with running_simulator(devices=40) as sim:
        yield sim


@pytest.fixture
def devices(exchange, control):
    return discovered(installed_connector(exchange))


def calls(control, cmdlet):
    return [c for c in control.calls(control.since) if c["cmdlet"] == cmdlet]


def run(action):
    """What the worker does with a queued action."""
    return services.action_execute(action.pk)


def test_wipe_reaches_exchange_and_is_acknowledged_after_the_device_syncs(devices, control, django_capture_on_commit_callbacks):
    device = next(d for d in devices if d.status == "DeviceOk" and d.is_remote_wipe_supported is not False)
    device.user_primary_smtp_address = "owner@contoso.com"
    device.save()
    operator = make_persona("operator")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        action = services.action_request(device=device, kind=Kind.WIPE, user=operator, address="10.1.2.3")
    assert action.state == State.REQUESTED and len(callbacks) == 2  # the task (run below, as the worker would), the email
    callbacks[1]()

    run(action)
    action.refresh_from_db()
    assert action.state == State.SENT and action.sent_at
    [call] = calls(control, "Clear-ActiveSyncDevice")
    assert call["parameters"]["Identity"] == device.identity and call["parameters"]["Confirm"] is False
    assert "Cancel" not in call["parameters"]

    services.poll_open_wipes()
    action.refresh_from_db()
    assert action.state == State.PENDING

    control.sync_device(device.device_id)
    services.poll_open_wipes()
    action.refresh_from_db()
    assert action.state == State.ACKNOWLEDGED and action.acknowledged_at
    steps = list(AuditEvent.objects.filter(object_repr=device.name).order_by("pk").values_list("action", "username", "cmdlet"))
    assert steps[0] == ("request wipe", "operator", "Clear-ActiveSyncDevice")
    assert ("wipe sent to exchange", "operator", "Clear-ActiveSyncDevice") in steps
    assert steps[-1][0] == "wipe acknowledged"
    assert [m.subject for m in mail.outbox] == [f"Wipe requested for {device.name}", f"{device.name} acknowledged the wipe"]
    assert mail.outbox[0].to == ["owner@contoso.com"]


def test_cancel_before_the_device_syncs(devices, control):
    device = devices[1]
    operator = make_persona("operator")
    wipe = services.action_request(device=device, kind=Kind.WIPE, user=operator)
    run(wipe)
    cancel = services.action_request(device=device, kind=Kind.CANCEL_WIPE, user=operator)
    run(cancel)
    wipe.refresh_from_db()
    cancel.refresh_from_db()
    assert (wipe.state, cancel.state) == (State.CANCELLED, State.DONE)
    [sent] = [c for c in calls(control, "Clear-ActiveSyncDevice") if c["parameters"].get("Cancel")]
    assert sent["parameters"]["Identity"] == device.identity
    control.sync_device(device.device_id)
    stats = control.state()
    assert stats  # the organization answered; the device kept its data:
    with pytest.raises(services.ActionRefused, match="no pending wipe"):
        services.action_request(device=device, kind=Kind.CANCEL_WIPE, user=operator)


@pytest.mark.parametrize(("kind", "expected"), [(Kind.BLOCK, "Blocked"), (Kind.ALLOW, "Allowed")])
def test_allow_and_block_change_the_access_state_in_exchange(devices, control, exchange, kind, expected):
    device = devices[2]
    action = services.action_request(device=device, kind=kind, user=make_persona("operator"))
    run(action)
    action.refresh_from_db()
    assert action.state == State.DONE
    [call] = calls(control, "Set-CASMailbox")
    listed = "ActiveSyncAllowedDeviceIDs" if kind == Kind.ALLOW else "ActiveSyncBlockedDeviceIDs"
    assert call["parameters"][listed] == {"Add": [device.device_id]}
    with services.connector_gateway(device.connector) as gateway:
        assert gateway.device_statistics(device.identity).device_access_state == expected


def test_double_submission_makes_one_request(devices, control):
    device, operator, admin = devices[3], make_persona("operator"), make_persona("full_admin")
    first = services.action_request(device=device, kind=Kind.WIPE, user=operator)
    second = services.action_request(device=device, kind=Kind.WIPE, user=admin)
    assert first.pk == second.pk
    run(first)
    run(second)  # the second task finds nothing left to send
    assert DeviceAction.objects.filter(device=device).count() == 1
    assert len(calls(control, "Clear-ActiveSyncDevice")) == 1


def test_a_task_lost_with_its_worker_is_found_and_sent_once(devices, control, django_capture_on_commit_callbacks):
    device = devices[4]
    with django_capture_on_commit_callbacks(execute=False):  # the request is written; the queued task is lost
        action = services.action_request(device=device, kind=Kind.WIPE, user=make_persona("operator"))
    assert calls(control, "Clear-ActiveSyncDevice") == []
    DeviceAction.objects.filter(pk=action.pk).update(requested_at=action.requested_at.replace(year=2025))
    queued = []
    services.queue, original = queued.append, services.queue
    try:
        assert services.requeue_lost_actions() == 1
    finally:
        services.queue = original
    run(action)
    run(action)  # a duplicate task after the requeue sends nothing more
    assert len(calls(control, "Clear-ActiveSyncDevice")) == 1
    action.refresh_from_db()
    assert action.state == State.SENT


def test_exchange_down_is_retried_until_the_action_lifetime_ends(devices, control, exchange, settings):
    import datetime as dt

    from django.utils import timezone

    device = devices[5]
    action = services.action_request(device=device, kind=Kind.BLOCK, user=make_persona("operator"))
    for name in ("EXCAS01", "EXCAS02", "EXCAS03", "EXMBX01", "EXMBX02"):
        exchange.stop_server(name)
    run(action)
    action.refresh_from_db()
    assert action.state == State.REQUESTED and action.exchange_answer == ""
    assert dt.timedelta(seconds=25) < action.next_attempt_at - timezone.now() <= dt.timedelta(seconds=30)
    assert "the server refused the connection" in action.error and "The block will be retried at" in action.error
    for _ in range(8):  # not given up after a number of tries
        DeviceAction.objects.filter(pk=action.pk).update(next_attempt_at=None)
        run(action)
    action.refresh_from_db()
    assert action.state == State.REQUESTED and action.attempts == 9
    assert action.next_attempt_at - timezone.now() > dt.timedelta(minutes=29)  # the schedule ends at every 30 minutes
    lifetime = dt.timedelta(hours=settings.EASCONSOLE_WIPE_EXPIRY_HOURS)
    DeviceAction.objects.filter(pk=action.pk).update(next_attempt_at=None, requested_at=timezone.now() - lifetime)
    run(action)
    action.refresh_from_db()
    assert action.state == State.FAILED
    assert f"did not take the action within {settings.EASCONSOLE_WIPE_EXPIRY_HOURS} hours (10 attempts)" in action.error
    assert "no Exchange server answered" in action.error
    assert AuditEvent.objects.filter(action="block failed", outcome="failure").exists()
    assert calls(control, "Set-CASMailbox") == []


def test_a_user_without_the_permission_is_refused_and_nothing_is_sent(devices, control):
    device = devices[6]
    with pytest.raises(PermissionDenied):
        services.action_request(device=device, kind=Kind.WIPE, user=make_persona("analyst"))
    assert not DeviceAction.objects.exists()
    assert calls(control, "Clear-ActiveSyncDevice") == []
    refusal = AuditEvent.objects.get(action="request wipe")
    assert refusal.outcome == "denied" and refusal.username == "analyst"


def test_scoped_operator_acts_only_on_devices_of_their_collections(devices, control):
    executives = CollectionFactory(name="Executives")
    CollectionMember.objects.create(collection=executives, device=devices[7])
    operator = make_user("scoped", "Operations Administrator", collections=[executives])
    assert services.action_request(device=devices[7], kind=Kind.BLOCK, user=operator)
    with pytest.raises(PermissionDenied):
        services.action_request(device=devices[8], kind=Kind.BLOCK, user=operator)
    assert Collection.objects.filter(name="All Mobile Devices").exists()


def test_the_task_rechecks_the_stored_users_permission(devices, control):
    operator = make_persona("operator")
    action = services.action_request(device=devices[9], kind=Kind.WIPE, user=operator)
    operator.role_assignments.all().delete()
    from easconsole.services import principal_permissions_rebuild

    principal_permissions_rebuild(user=operator)
    run(action)
    action.refresh_from_db()
    assert action.state == State.FAILED and "no longer has the permission" in action.error
    assert calls(control, "Clear-ActiveSyncDevice") == []


def test_delete_with_a_pending_wipe_needs_the_consequence_accepted(devices, control):
    device, admin = devices[10], make_persona("full_admin")
    run(services.action_request(device=device, kind=Kind.WIPE, user=admin))
    with pytest.raises(services.ActionRefused, match="cancels it"):
        services.action_request(device=device, kind=Kind.DELETE, user=admin)
    action = services.action_request(device=device, kind=Kind.DELETE, user=admin, confirmed_wipe_loss=True)
    run(action)
    device.refresh_from_db()
    assert device.missing_since is not None
    [call] = calls(control, "Remove-ActiveSyncDevice")
    assert call["parameters"] == {"Identity": device.identity, "Confirm": False}


def test_a_discovery_moves_an_open_wipe_along(devices, control):
    from django.utils import timezone

    device = devices[11]
    action = services.action_request(device=device, kind=Kind.WIPE, user=make_persona("operator"))
    run(action)
    control.sync_device(device.device_id)
    assert services.follow_from_inventory(device.connector) == 0  # nothing read since the wipe was sent
    with services.connector_gateway(device.connector) as gateway:  # what a discovery stores
        services.refresh_device(device, gateway.device_statistics(device.identity))
    type(device).objects.filter(pk=device.pk).update(last_discovered=timezone.now())
    assert services.follow_from_inventory(device.connector) == 1
    action.refresh_from_db()
    assert action.state == State.ACKNOWLEDGED


def test_a_connector_removed_after_the_request_fails_the_action_with_the_reason(devices, control):
    action = services.action_request(device=devices[12], kind=Kind.BLOCK, user=make_persona("operator"))
    devices[12].connector.delete()
    run(action)
    action.refresh_from_db()
    assert action.state == State.FAILED and "connector was removed" in action.error
    assert calls(control, "Set-CASMailbox") == []


def test_an_action_that_stops_its_worker_every_time_fails_instead_of_repeating(devices, control):
    """Each attempt takes the lease; a worker that dies leaves it with no outcome. At the sixth such
    attempt in a row the action fails with the reason and nothing more is sent."""
    from django.utils import timezone

    device = next(d for d in devices if d.status == "DeviceOk")
    action = services.action_request(device=device, kind=Kind.BLOCK, user=make_persona("operator"))
    # What five workers killed mid-send leave: the attempts counted, the last lease run out, no outcome.
    DeviceAction.objects.filter(pk=action.pk).update(attempts=services.MAX_UNANSWERED_ATTEMPTS,
                                                     unanswered_attempts=services.MAX_UNANSWERED_ATTEMPTS - 1,
                                                     error="", next_attempt_at=timezone.now())
    run(action)  # the sixth in a row with no outcome: it gives up before sending
    action.refresh_from_db()
    assert action.state == State.FAILED and "worker stopped during each of the last 6 attempts" in action.error
    assert calls(control, "Set-CASMailbox") == []


def test_an_answered_attempt_resets_the_count_of_silent_ones(devices, control):
    device = next(d for d in devices if d.status == "DeviceOk")
    action = services.action_request(device=device, kind=Kind.BLOCK, user=make_persona("operator"))
    DeviceAction.objects.filter(pk=action.pk).update(attempts=3, unanswered_attempts=2, error="")
    run(action)  # a fourth attempt after a third that died: it gets through
    action.refresh_from_db()
    assert action.state == State.DONE and action.unanswered_attempts == 3
    assert len(calls(control, "Set-CASMailbox")) == 1
