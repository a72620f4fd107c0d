"""A worker killed after the wipe request was written, before Exchange answered: the wipe still reaches Exchange."""
import datetime as dt
import os
import signal

import pytest
from django_q.models import OrmQ

from devices.actions import services
from devices.models import DeviceAction
from easconsole.exchange.simulator.testing import ControlClient, running_simulator, wait_until
from tests.console import discovered, installed_connector
from tests.personas import make_persona

pytestmark = [pytest.mark.simulator, pytest.mark.django_db(transaction=True)]


def test_wipe_survives_a_worker_killed_mid_send(console_server, start_qcluster):
    with running_simulator(devices=10) as exchange:
        control = ControlClient.for_simulator(exchange)
        device = discovered(installed_connector(exchange))[0]
        OrmQ.objects.all().delete()  # the connector is installed already: drop its queued installation
        exchange.set_latency(None, 4)  # Exchange answers slowly: the worker is caught mid-send
        worker = start_qcluster(EASCONSOLE_ACTION_LEASE_SECONDS="3")
        action = services.action_request(device=device, kind=DeviceAction.Kind.WIPE, user=make_persona("operator"))
        wait_until(lambda: DeviceAction.objects.get(pk=action.pk).attempts == 1, timeout=30, message="the worker took the action")
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()
        assert DeviceAction.objects.get(pk=action.pk).state == DeviceAction.State.REQUESTED  # no answer was recorded

        exchange.set_latency(None, 0)
        start_qcluster(EASCONSOLE_ACTION_LEASE_SECONDS="3")
        # What the every-minute requeue task does, as soon as the killed worker's lease has run out:
        wait_until(lambda: services.requeue_lost_actions(older_than=dt.timedelta(0)) > 0, timeout=10, interval=0.2,
                   message="the lost action was queued again")
        wait_until(lambda: DeviceAction.objects.get(pk=action.pk).state == DeviceAction.State.SENT, timeout=30,
                   interval=0.2, message="the wipe reached Exchange after the restart")
        sent = [c for c in control.calls() if c["cmdlet"] == "Clear-ActiveSyncDevice" and c["parameters"]["Identity"] == device.identity]
        assert 1 <= len(sent) <= 2  # the killed worker's request may have reached Exchange too: the same wipe
        assert DeviceAction.objects.filter(device=device).count() == 1
