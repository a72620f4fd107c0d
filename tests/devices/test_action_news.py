"""Fast news through a real django-q2 worker: a device's acknowledgement reaches the console, and a
wipe queued while Exchange was down goes out, within seconds rather than at the next minute."""
import pytest
from django_q.models import OrmQ

from devices.actions import services
from devices.models import DeviceAction
from easconsole.exchange.simulator.testing import ControlClient, running_simulator, wait_until
from tests.console import discovered, installed_connector
from tests.personas import make_persona

pytestmark = [pytest.mark.simulator, pytest.mark.django_db(transaction=True)]
State = DeviceAction.State
# The watcher reads recent open wipes every 5 s and tries a waiting connector every 5 s; the
# deadline leaves room for a loaded machine while staying under the old once-a-minute cadence.
DEADLINE = 20


def state_of(action) -> str:
    return DeviceAction.objects.get(pk=action.pk).state


def test_acknowledgement_and_a_wipe_waiting_for_exchange_arrive_within_seconds(console_server, start_qcluster):
    with running_simulator(devices=10) as exchange:
        control = ControlClient.for_simulator(exchange)
        first, second = discovered(installed_connector(exchange))[:2]
        OrmQ.objects.all().delete()  # the connector is installed already: drop its queued installation
        start_qcluster()
        operator = make_persona("operator")

        wipe = services.action_request(device=first, kind=DeviceAction.Kind.WIPE, user=operator)
        wait_until(lambda: state_of(wipe) in (State.SENT, State.PENDING), timeout=30, message="the wipe was sent")
        control.sync_device(first.device_id)
        wait_until(lambda: state_of(wipe) == State.ACKNOWLEDGED, timeout=DEADLINE, interval=0.2,
                   message=f"the acknowledgement reached the console within {DEADLINE} s of the sync")

        servers = [s["name"] for s in control.state()["servers"]]
        for name in servers:
            exchange.stop_server(name)
        waiting = services.action_request(device=second, kind=DeviceAction.Kind.WIPE, user=operator)
        wait_until(lambda: "will be retried" in DeviceAction.objects.get(pk=waiting.pk).error, timeout=30,
                   message="the first attempt found Exchange down")
        since = control.calls()[-1]["seq"]
        for name in servers:
            exchange.start_server(name)
        wait_until(lambda: state_of(waiting) == State.SENT, timeout=DEADLINE, interval=0.2,
                   message=f"the waiting wipe went out within {DEADLINE} s of Exchange coming back")
        sent = [c for c in control.calls(since) if c["cmdlet"] == "Clear-ActiveSyncDevice"]
        assert [c["parameters"]["Identity"] for c in sent] == [second.identity]
