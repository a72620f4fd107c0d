"""The reclaim task: scheduled every 15 minutes, run again when a worker starts, and what it closes."""
import datetime as dt
import signal

import pytest
from django.utils import timezone
from django_q.models import Schedule
from django_q.signals import post_spawn

from easconsole import logs, tasks
from easconsole.exchange.simulator.testing import DEFAULT_ACCOUNT, running_simulator
from easconsole.models import ExchangeConnector
from easconsole.services import connectors
from tests.console import installed_connector
from tests.exchange.conftest import console_process_holding_a_pool

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def exchange():
    with running_simulator(devices=20, seed=4) as sim:
        yield sim


def open_pools(control) -> int:
    return control.state()["open_pools"].get(DEFAULT_ACCOUNT[0], 0)


def test_the_reclaim_runs_every_15_minutes():
    schedule = Schedule.objects.get(name=tasks.RECLAIM_SCHEDULE)
    assert (schedule.func, schedule.schedule_type, schedule.minutes, schedule.repeats) == (
        "easconsole.tasks.reclaim_runspace_pools", Schedule.MINUTES, 15, -1)


def test_a_starting_worker_brings_the_reclaim_forward():
    Schedule.objects.filter(name=tasks.RECLAIM_SCHEDULE).update(next_run=timezone.now() + dt.timedelta(minutes=14))
    before = timezone.now()
    post_spawn.send(sender="django_q", proc_name="Process-1:1")  # what each django-q2 worker sends as it starts
    assert before <= Schedule.objects.get(name=tasks.RECLAIM_SCHEDULE).next_run <= timezone.now()


def test_a_starting_worker_puts_back_a_deleted_reclaim_schedule():
    Schedule.objects.filter(name=tasks.RECLAIM_SCHEDULE).delete()
    post_spawn.send(sender="django_q", proc_name="Process-1:1")
    schedule = Schedule.objects.get(name=tasks.RECLAIM_SCHEDULE)
    assert (schedule.func, schedule.minutes, schedule.next_run <= timezone.now()) == (
        "easconsole.tasks.reclaim_runspace_pools", 15, True)


@pytest.mark.simulator
def test_the_task_closes_a_killed_workers_pool_and_keeps_the_pools_in_use(exchange, control):
    connector = installed_connector(exchange, install=False)
    ExchangeConnector.objects.filter(pk=connector.pk).update(known_servers=[
        {"name": s.name, "fqdn": exchange.server_address(s.name), "roles": list(s.roles), "site": s.site}
        for s in exchange.org.servers])
    ExchangeConnector.objects.create(name="Not yet installed", site=connector.site, username="x",
                                     state=ExchangeConnector.State.FLAGGED)
    with console_process_holding_a_pool(exchange, "EXCAS03") as (killed, left_behind), \
            console_process_holding_a_pool(exchange, "EXCAS02") as (_running, in_use_elsewhere), \
            connectors.connector_gateway(connector) as gateway:
        gateway.organization()  # this process's pool, in use
        killed.send_signal(signal.SIGKILL)
        killed.wait(timeout=10)
        assert open_pools(control) == 3

        outcome = tasks.reclaim_runspace_pools()

        assert outcome == "Contoso: 1 runspace pools reclaimed, 2 in use"
        assert sorted(s["shell_id"].upper() for s in control.state()["shells"]) == sorted(
            [in_use_elsewhere, gateway._connection.session.pool.id])
    [line] = logs.tail("EasDisc.log", text="Reclaimed runspace pool")
    assert left_behind in line.message and exchange.server_address("EXCAS03") in line.message
    assert f"its process {killed.pid}" in line.message
    # The gateway closed its pool; the other worker was killed on leaving the block: its pool goes next time.
    assert open_pools(control) == 1
    assert tasks.reclaim_runspace_pools() == "Contoso: 1 runspace pools reclaimed, 0 in use"
    assert open_pools(control) == 0
