"""A real django-q2 worker killed mid-wipe leaves its runspace pool on Exchange; the worker started
after it closes that pool (the reclaim runs as a worker starts), without waiting for the 15-minute schedule."""
import os
import signal

import pytest
from django_q.models import OrmQ

from devices.actions import services
from devices.models import DeviceAction
from easconsole.exchange.simulator.testing import DEFAULT_ACCOUNT, ControlClient, running_simulator, wait_until
from tests.console import discovered, installed_connector
from tests.personas import make_persona

pytestmark = [pytest.mark.simulator, pytest.mark.django_db(transaction=True)]


def test_a_restarted_worker_reclaims_the_pool_a_killed_worker_left(console_server, start_qcluster):
    with running_simulator(devices=10) as exchange:
        control = ControlClient.for_simulator(exchange)

        def shells() -> list[dict]:
            return [s for s in control.state()["shells"] if s["account"] == DEFAULT_ACCOUNT[0]]

        device = discovered(installed_connector(exchange))[0]
        OrmQ.objects.all().delete()  # the connector is installed already: drop its queued installation
        exchange.set_latency(None, 2)  # Exchange answers slowly: the worker is caught mid-send
        worker = start_qcluster(EASCONSOLE_ACTION_LEASE_SECONDS="3")
        action = services.action_request(device=device, kind=DeviceAction.Kind.WIPE, user=make_persona("operator"))
        wait_until(lambda: DeviceAction.objects.get(pk=action.pk).attempts == 1, timeout=30, message="the worker took the action")
        [left] = wait_until(shells, timeout=30, message="the worker opened a pool")
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()
        exchange.set_latency(None, 0)
        assert [s["shell_id"] for s in shells()] == [left["shell_id"]]  # nobody will close it
        assert left["name"].startswith("EASConsole:")

        start_qcluster(EASCONSOLE_ACTION_LEASE_SECONDS="3")
        wait_until(lambda: left["shell_id"] not in [s["shell_id"] for s in shells()], timeout=60, interval=0.5,
                   message="the restarted worker reclaimed the pool")
