"""Scale-out: PostgreSQL, the Redis broker and three real django-q2 workers, one killed with SIGKILL mid-way.

Every requested wipe reaches Exchange exactly once, and a discovery never runs twice at once for a
connector, whichever worker takes the task. These run where the production engines run: in CI they
fail when PostgreSQL or Redis is missing; elsewhere they are skipped with the reason.
"""
import datetime as dt
import os
import signal
import uuid

import pytest
import redis
from django.db import connection
from django_q.conf import Conf
from django_q.tasks import async_task

from devices.actions import services
from devices.models import DeviceAction, DiscoveryRun
from easconsole.exchange.simulator.testing import ControlClient, running_simulator, wait_until
from tests.console import discovered, installed_connector
from tests.personas import make_persona

pytestmark = [pytest.mark.simulator, pytest.mark.scaleout, pytest.mark.django_db(transaction=True)]
REDIS_URL = os.environ.get("EASCONSOLE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def missing(reason: str):
    if os.environ.get("CI"):
        pytest.fail(f"{reason} CI runs these tests on the production engines.")
    pytest.skip(reason)


@pytest.fixture
def redis_queue(monkeypatch):
    """A queue of its own in Redis; this process queues there as a web process with REDIS_URL does."""
    if connection.vendor != "postgresql":
        missing("Needs PostgreSQL: run with DATABASE_URL=postgres://postgres@127.0.0.1:5432/<database>.")
    try:
        redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError:
        missing(f"Needs Redis at {REDIS_URL} (EASCONSOLE_TEST_REDIS_URL).")
    name = f"easconsole-test-{uuid.uuid4().hex[:8]}"
    for attribute, value in (("ORM", None), ("REDIS", REDIS_URL), ("PREFIX", name), ("CLUSTER_NAME", name)):
        monkeypatch.setattr(Conf, attribute, value)
    yield name
    redis.from_url(REDIS_URL).delete(f"django_q:{name}:q")


@pytest.fixture
def three_workers(console_server, start_qcluster, redis_queue):
    """``three_workers(count=3, **env)``: qcluster processes on the Redis queue, none running the scheduler."""

    def start(count: int = 3, **env):
        return [start_qcluster(REDIS_URL=REDIS_URL, EASCONSOLE_QUEUE=redis_queue, EASCONSOLE_SCHEDULER="0", **env)
                for _ in range(count)]

    return start


def kill(worker) -> None:
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait()


def test_every_wipe_reaches_exchange_exactly_once_when_a_worker_is_killed(three_workers):
    with running_simulator(devices=40) as exchange:
        control = ControlClient.for_simulator(exchange)
        devices = discovered(installed_connector(exchange))[:12]
        exchange.set_latency(None, 0.4)  # each request to Exchange takes a while: a worker is caught mid-send
        # The lease outlasts a whole attempt, so only a dead worker's action is ever taken up again.
        lease = {"EASCONSOLE_ACTION_LEASE_SECONDS": "20"}
        [doomed] = three_workers(count=1, **lease)
        operator = make_persona("operator")
        actions = [services.action_request(device=device, kind=DeviceAction.Kind.WIPE, user=operator) for device in devices]

        def states():
            return list(DeviceAction.objects.filter(pk__in=[a.pk for a in actions]).values_list("state", flat=True))

        def wiped_in_exchange_only():
            """A wipe Exchange has already taken while the console has not recorded its answer yet."""
            wiped = {c["parameters"]["Identity"] for c in control.calls() if c["cmdlet"] == "Clear-ActiveSyncDevice"}
            return DeviceAction.objects.filter(pk__in=[a.pk for a in actions], state=DeviceAction.State.REQUESTED,
                                               device_identity__in=wiped).exists()

        wait_until(wiped_in_exchange_only, timeout=90, interval=0.05, message="the worker is between Exchange's answer and its record")
        kill(doomed)  # mid-way: one wipe sent but not recorded, the others still waiting
        assert states().count(DeviceAction.State.REQUESTED) >= 2
        three_workers(count=2, **lease)

        def all_sent():
            # What the every-minute requeue task does (the scheduler is not running here).
            services.requeue_lost_actions(older_than=dt.timedelta(0))
            return states().count(DeviceAction.State.SENT) == len(actions)

        wait_until(all_sent, timeout=150, interval=2, message="every wipe reached Exchange")
        sent = [c["parameters"]["Identity"] for c in control.calls() if c["cmdlet"] == "Clear-ActiveSyncDevice"]
        assert sorted(sent) == sorted(device.identity for device in devices)  # each one, once
        assert DeviceAction.objects.count() == len(devices)
        assert DeviceAction.objects.filter(exchange_answer=services.ALREADY_IN_EXCHANGE).count() == 1


def test_a_discovery_never_runs_twice_at_once_whichever_worker_takes_it(three_workers):
    with running_simulator(devices=150) as exchange:
        connector = installed_connector(exchange)
        exchange.set_latency(None, 1)  # a discovery takes many seconds
        queue = redis.from_url(REDIS_URL)

        def running() -> list[int]:
            return list(DiscoveryRun.objects.filter(connector=connector, state=DiscoveryRun.State.RUNNING).values_list("pk", flat=True))

        def schedule(times: int) -> None:  # the schedules of several schedulers, or a schedule and a click, at once
            for _ in range(times):
                async_task("devices.tasks.scheduled_discovery", connector.pk, "full")

        first_worker = three_workers(count=1)[0]
        schedule(1)
        [first] = wait_until(running, timeout=60, interval=0.1, message="the first worker started the discovery")
        three_workers(count=2)
        schedule(6)
        wait_until(lambda: queue.llen(f"django_q:{Conf.CLUSTER_NAME}:q") == 0, timeout=30, interval=0.1,
                   message="the other workers took the tasks")
        assert running() == [first]
        kill(first_worker)  # mid-discovery: its run stays Running, without progress
        schedule(3)
        wait_until(lambda: queue.llen(f"django_q:{Conf.CLUSTER_NAME}:q") == 0, timeout=30, interval=0.1,
                   message="the living workers took the tasks")
        assert running() == [first]  # nobody starts a second one while the first may still be running

        # Fifteen minutes without progress mark a run's worker dead; here its last progress is put back that far.
        DiscoveryRun.objects.filter(pk=first).update(heartbeat=dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc))
        schedule(3)
        wait_until(lambda: DiscoveryRun.objects.filter(connector=connector, state=DiscoveryRun.State.SUCCEEDED).exists(),
                   timeout=120, interval=0.3, message="a living worker ran the discovery once the dead one's run was failed")
        assert DiscoveryRun.objects.get(pk=first).state == DiscoveryRun.State.FAILED
        runs = DiscoveryRun.objects.filter(connector=connector, started__isnull=False).exclude(pk=first).order_by("started")
        spans = [(run.started, run.finished) for run in runs]
        for (_, end), (start, _) in zip(spans, spans[1:]):
            assert end is not None and start >= end, spans  # never two at once
