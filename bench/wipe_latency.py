"""Benchmark: from the wipe confirmation to Clear-ActiveSyncDevice reaching Exchange (run by hand).

    python bench/wipe_latency.py [--wipes 20]

Sets up a throwaway console (SQLite in a temporary folder), the simulated organization, an
installed connector and a real django-q2 worker (``manage.py qcluster``), then, for each wipe,
posts the confirmation as an Operations Administrator would and measures the time until the
simulator's call log shows the cmdlet for that device. Prints the median, the 90th percentile and
the worst. Target: median under 2 s.
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wipes", type=int, default=20)
    args = parser.parse_args()

    var = tempfile.mkdtemp(prefix="easconsole-bench-")
    env = {"EASCONSOLE_VAR_DIR": var, "SECRET_KEY": secrets.token_urlsafe(50), "ALLOWED_HOSTS": "testserver",
           "DATABASE_URL": f"sqlite:///{var}/bench.sqlite3", "DJANGO_SETTINGS_MODULE": "easconsole.settings", "Q_WORKERS": "1"}
    os.environ.update(env)
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client

    from easconsole.exchange.simulator.testing import ControlClient, running_simulator
    from tests.devices.actions_support import installed_connector, inventory
    from tests.personas import make_persona

    call_command("migrate", verbosity=0)
    with running_simulator(devices=max(60, args.wipes * 2)) as exchange:
        control = ControlClient.for_simulator(exchange)
        devices = inventory(installed_connector(exchange), limit=args.wipes)
        client = Client()
        client.force_login(make_persona("operator"))
        worker = subprocess.Popen([sys.executable, "manage.py", "qcluster"], cwd=ROOT, env={**os.environ, **env},
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            latencies = []
            for device in devices:
                since = (control.calls() or [{"seq": 0}])[-1]["seq"]
                started = time.perf_counter()
                response = client.post(f"/assets/devices/{device.pk}/actions/wipe/")
                assert response.status_code == 302, response.status_code
                deadline = started + 30
                while time.perf_counter() < deadline:
                    if any(c["cmdlet"] == "Clear-ActiveSyncDevice" and c["parameters"].get("Identity") == device.identity
                           for c in control.calls(since)):
                        latencies.append(time.perf_counter() - started)
                        break
                    time.sleep(0.01)
                else:
                    print(f"{device.name}: the cmdlet did not reach Exchange within 30 s")
            latencies.sort()
            print(f"wipes measured: {len(latencies)} of {len(devices)}")
            print(f"confirmation -> Clear-ActiveSyncDevice at Exchange: median {statistics.median(latencies) * 1000:.0f} ms, "
                  f"p90 {latencies[int(len(latencies) * 0.9) - 1] * 1000:.0f} ms, worst {latencies[-1] * 1000:.0f} ms "
                  "(target: median < 2000 ms)", flush=True)
        finally:
            os.killpg(worker.pid, signal.SIGTERM)
            try:
                worker.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, signal.SIGKILL)


if __name__ == "__main__":
    main()
