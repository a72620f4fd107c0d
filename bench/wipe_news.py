"""Benchmark: how fast news of a wipe arrives (run by hand).

    python bench/wipe_news.py [--acks 10] [--outages 5] [--workers 2]

Sets up a throwaway console (SQLite in a temporary folder), the simulated organization, an installed
connector and a real django-q2 worker (``manage.py qcluster``), then measures:

- acknowledgement: from a device's sync (with a wipe pending on it) to the wipe shown Acknowledged
  in the console;
- back online: a wipe requested while every Exchange server is stopped; from the servers starting
  again to Clear-ActiveSyncDevice reaching Exchange;
- idle: once nothing is open, the cmdlets Exchange receives and the tasks the worker runs in 20 s
  (both should be 0 after the watcher stops).

Prints the median, the 90th percentile and the worst of each. Target: both under 15 s.
"""
from __future__ import annotations

import argparse
import os
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def wait_for(condition, timeout: float, interval: float = 0.05) -> float | None:
    """Seconds until `condition()` held, or None after `timeout`."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if condition():
            return time.perf_counter() - started
        time.sleep(interval)
    return None


def summary(name: str, values: list[float], total: int) -> str:
    if not values:
        return f"{name}: none measured of {total}"
    values = sorted(values)
    p90 = values[max(0, int(len(values) * 0.9) - 1)]
    return (f"{name}: {len(values)} of {total} measured; median {statistics.median(values):.1f} s, "
            f"p90 {p90:.1f} s, worst {values[-1]:.1f} s (target: under 15 s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--acks", type=int, default=10)
    parser.add_argument("--outages", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    var = tempfile.mkdtemp(prefix="easconsole-bench-")
    env = {"EASCONSOLE_VAR_DIR": var, "SECRET_KEY": secrets.token_urlsafe(50), "ALLOWED_HOSTS": "testserver",
           "DATABASE_URL": f"sqlite:///{var}/bench.sqlite3", "DJANGO_SETTINGS_MODULE": "easconsole.settings",
           "Q_WORKERS": str(args.workers)}
    os.environ.update(env)
    import django

    django.setup()
    from django.core.management import call_command
    from django_q.models import OrmQ, Success

    from devices.actions import services
    from devices.models import DeviceAction
    from easconsole.exchange.simulator.testing import ControlClient, running_simulator
    from tests.devices.actions_support import installed_connector, inventory
    from tests.personas import make_persona

    State, Kind = DeviceAction.State, DeviceAction.Kind
    call_command("migrate", verbosity=0)
    with running_simulator(devices=max(40, (args.acks + args.outages) * 2)) as exchange:
        control = ControlClient.for_simulator(exchange)
        devices = inventory(installed_connector(exchange), limit=args.acks + args.outages)
        OrmQ.objects.all().delete()  # the connector is installed: its queued installation is not measured
        operator = make_persona("operator")
        servers = [s["name"] for s in control.state()["servers"]]
        worker = subprocess.Popen([sys.executable, "manage.py", "qcluster"], cwd=ROOT, env={**os.environ, **env},
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)

        def state(action) -> str:
            return DeviceAction.objects.get(pk=action.pk).state

        try:
            acks = []
            for device in devices[:args.acks]:
                action = services.action_request(device=device, kind=Kind.WIPE, user=operator)
                if wait_for(lambda: state(action) in (State.SENT, State.PENDING), 60) is None:
                    print(f"{device.name}: the wipe was not sent within 60 s")
                    continue
                control.sync_device(device.device_id)
                seconds = wait_for(lambda: state(action) == State.ACKNOWLEDGED, 120)
                if seconds is None:
                    print(f"{device.name}: no acknowledgement in the console within 120 s")
                else:
                    acks.append(seconds)

            back = []
            for device in devices[args.acks:]:
                for name in servers:
                    exchange.stop_server(name)
                action = services.action_request(device=device, kind=Kind.WIPE, user=operator)
                wait_for(lambda: "will be retried" in DeviceAction.objects.get(pk=action.pk).error, 60)
                since = control.calls()[-1]["seq"]
                for name in servers:
                    exchange.start_server(name)
                seconds = wait_for(lambda: any(c["cmdlet"] == "Clear-ActiveSyncDevice" for c in control.calls(since)), 120)
                if seconds is None:
                    print(f"{device.name}: the waiting wipe did not reach Exchange within 120 s")
                else:
                    back.append(seconds)
                wait_for(lambda: state(action) in (State.SENT, State.PENDING), 60)
                control.sync_device(device.device_id)
                wait_for(lambda: state(action) == State.ACKNOWLEDGED, 120)

            # Nothing open any more: the watcher stops; then nothing should reach Exchange or run.
            wait_for(lambda: not services.anything_to_watch(), 60)
            time.sleep(3)  # let the last cycle of the watcher end
            since, tasks_before = control.calls()[-1]["seq"], Success.objects.count()
            time.sleep(20)
            idle_calls = len(control.calls(since))
            idle_tasks = Success.objects.count() - tasks_before
            print(f"workers: {args.workers}")
            print(summary("device sync -> Acknowledged in the console", acks, args.acks))
            print(summary("Exchange back -> waiting wipe's Clear-ActiveSyncDevice at Exchange", back, args.outages))
            print(f"idle for 20 s with nothing open: {idle_calls} cmdlet(s) reached Exchange, "
                  f"{idle_tasks} task(s) ran (only the every-minute schedules, which find nothing to do)", flush=True)
        finally:
            os.killpg(worker.pid, signal.SIGTERM)
            try:
                worker.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, signal.SIGKILL)


if __name__ == "__main__":
    main()
