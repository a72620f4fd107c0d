"""Exchange's throttling never loses a wipe: it is sent again when the throttle lifts, and reaches
Exchange exactly once (through pypsrp against the simulated organization)."""
import datetime as dt

import pytest
from django.utils import timezone

from devices.actions import services
from devices.models import DeviceAction
from easconsole.exchange.simulator.testing import DEFAULT_ACCOUNT, running_simulator
from tests.console import discovered, installed_connector
from tests.personas import make_persona

pytestmark = [pytest.mark.django_db, pytest.mark.simulator]
State, Kind = DeviceAction.State, DeviceAction.Kind
ACCOUNT = DEFAULT_ACCOUNT[0]


@pytest.fixture(scope="module")
def exchange():
    with running_simulator(devices=20) as sim:
        yield sim


@pytest.fixture
def devices(exchange, control):
    yield discovered(installed_connector(exchange))[:6]
    control.request("POST", "/throttle", {"account": ACCOUNT, "max_sessions": None, "max_cmdlets": None})


def wipes_run(control, device, *, throttled: bool) -> list[dict]:
    """Clear-ActiveSyncDevice calls for the device that Exchange ran (throttled=False) or refused."""
    return [c for c in control.calls(control.since) if c["cmdlet"] == "Clear-ActiveSyncDevice"
            and c["parameters"]["Identity"] == device.identity and bool(c.get("throttled")) == throttled]


def time_passes(action) -> None:
    """The retry falls due (what the clock would do)."""
    DeviceAction.objects.filter(pk=action.pk).update(next_attempt_at=timezone.now())


def test_a_wipe_over_the_cmdlet_budget_waits_as_asked_and_is_sent_once_when_the_throttle_lifts(devices, control):
    device = devices[0]
    control.throttle(ACCOUNT, max_cmdlets=0, period_seconds=120)  # the budget is spent for two minutes
    action = services.action_request(device=device, kind=Kind.WIPE, user=make_persona("operator"))
    services.action_execute(action.pk)
    action.refresh_from_db()
    assert action.state == State.REQUESTED and action.attempts == 1
    assert "exceeds the throttling budget" in action.exchange_answer and "will be retried at" in action.error
    # Not before the back-off Exchange named (120 s), though the own schedule says 30 s:
    assert action.next_attempt_at - timezone.now() > dt.timedelta(seconds=110)
    assert services.action_execute(action.pk) is None  # a task arriving early sends nothing
    assert wipes_run(control, device, throttled=False) == [] and len(wipes_run(control, device, throttled=True)) == 1

    control.request("POST", "/throttle", {"account": ACCOUNT, "max_cmdlets": None})
    time_passes(action)
    services.action_execute(action.pk)
    action.refresh_from_db()
    assert action.state == State.SENT and action.error == ""
    assert len(wipes_run(control, device, throttled=False)) == 1
    services.poll_open_wipes()
    action.refresh_from_db()
    assert action.state == State.PENDING


def test_a_short_back_off_is_waited_out_within_the_attempt(devices, control, caplog):
    device = devices[1]
    # Opening the session costs two cmdlets, the wipe a third: the statistics read after it must wait.
    control.throttle(ACCOUNT, max_cmdlets=3, period_seconds=2)
    action = services.action_request(device=device, kind=Kind.WIPE, user=make_persona("operator"))
    services.action_execute(action.pk)
    action.refresh_from_db()
    assert (action.state, action.attempts) == (State.SENT, 1)
    assert len(wipes_run(control, device, throttled=False)) == 1
    assert any("waiting" in r.getMessage() and r.name == "easconsole.easdisc" for r in caplog.records)


def test_the_session_cap_delays_the_wipe_and_it_is_sent_once_after(devices, control):
    device = devices[2]
    control.throttle(ACCOUNT, max_sessions=0)
    action = services.action_request(device=device, kind=Kind.WIPE, user=make_persona("operator"))
    services.action_execute(action.pk)
    action.refresh_from_db()
    assert action.state == State.REQUESTED and "MaxConcurrency" in action.exchange_answer
    assert dt.timedelta(seconds=25) < action.next_attempt_at - timezone.now() <= dt.timedelta(seconds=30)
    assert wipes_run(control, device, throttled=False) == []

    control.request("POST", "/throttle", {"account": ACCOUNT, "max_sessions": None})
    time_passes(action)
    services.action_execute(action.pk)
    action.refresh_from_db()
    assert action.state == State.SENT
    assert len(wipes_run(control, device, throttled=False)) == 1


def test_an_unknown_identity_still_fails_at_once(devices, control):
    device = devices[3]
    type(device).objects.filter(pk=device.pk).update(identity="nobody\\ExchangeActiveSyncDevices\\Gone§000")
    action = services.action_request(device=type(device).objects.get(pk=device.pk), kind=Kind.WIPE,
                                     user=make_persona("operator"))
    services.action_execute(action.pk)
    action.refresh_from_db()
    assert action.state == State.FAILED and action.attempts == 1
    assert "couldn't be found" in action.error


def test_a_password_that_cannot_be_decrypted_is_retried(devices, control):
    device = devices[4]
    connector = device.connector
    good = connector.password_encrypted
    type(connector).objects.filter(pk=connector.pk).update(password_encrypted="not-a-fernet-token")
    action = services.action_request(device=device, kind=Kind.BLOCK, user=make_persona("operator"))
    services.action_execute(action.pk)
    action.refresh_from_db()
    assert action.state == State.REQUESTED and "cannot be decrypted" in action.error and action.next_attempt_at

    type(connector).objects.filter(pk=connector.pk).update(password_encrypted=good)  # e.g. the new keys were read
    time_passes(action)
    services.action_execute(action.pk)
    action.refresh_from_db()
    assert action.state == State.DONE


def test_the_lease_outlasts_the_longest_attempt(devices, control, settings):
    settings.EASCONSOLE_ACTION_LEASE_SECONDS = None  # derived, as in production
    connector = devices[0].connector
    lease = services.lease(connector)
    # One site and the servers Exchange reported: opening may try each (5 s to connect, 25 s to
    # answer), then prepare the session; the action and the statistics read each wait up to twice.
    servers = 1 + len(connector.known_servers)
    assert lease == dt.timedelta(seconds=30 * (servers + 2) + 2 * (2 * 30 + 5))
    assert lease > dt.timedelta(seconds=125)  # the attempt that outlived the old two-minute lease
    action = services.action_request(device=devices[5], kind=Kind.BLOCK, user=make_persona("operator"))
    DeviceAction.objects.filter(pk=action.pk).update(attempts=1, next_attempt_at=timezone.now() + lease)
    assert services.action_execute(action.pk) is None  # a second worker leaves it to the first
    assert [c for c in control.calls(control.since) if c["cmdlet"] == "Set-CASMailbox"] == []


def test_a_due_retry_is_queued_when_it_falls_due_not_at_the_next_minute(devices, monkeypatch):
    action = services.action_request(device=devices[5], kind=Kind.BLOCK, user=make_persona("operator"))
    cycle_before = timezone.now()
    DeviceAction.objects.filter(pk=action.pk).update(attempts=1, error="Exchange could not be reached. Retried at ...",
                                                     next_attempt_at=timezone.now())
    queued = []
    monkeypatch.setattr(services, "queue", queued.append)
    assert services.requeue_lost_actions() == 0  # the every-minute task would not take it yet
    assert services.queue_due_retries(since=cycle_before) == 1 and queued == [action.pk]  # the watcher's cycle does
    assert services.queue_due_retries(since=timezone.now()) == 0  # and only once


def test_the_watcher_stops_when_nothing_is_open_or_waiting(devices, control):
    from django_q.models import OrmQ

    from devices.actions import watch

    queued, since = OrmQ.objects.count(), control.calls()[-1]["seq"]
    assert watch.watch() == "Nothing open or waiting: stopped watching."
    assert OrmQ.objects.count() == queued  # no next cycle
    assert control.calls(since) == []  # and nothing asked of Exchange
