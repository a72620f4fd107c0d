"""Benchmark of the simulated Exchange organization (run by hand).

    python bench/simulator.py [--devices 100000] [--e2e-devices 50000]

Prints: time to generate the organization; server-side cost per serialised device (the engine's
Get-ActiveSyncDevice generator plus the CLIXML writer, target >= 5,000 devices/s); end-to-end
devices/s received by pypsrp with begin_invoke/poll_invoke; client and server peak RSS (the server
runs in a subprocess so each side is measured alone; server target < 150 MB).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

LIST_DEVICES = ("Get-ActiveSyncDevice", [("ResultSize", "Unlimited")])


def _peak_rss_mb() -> float:
    """Peak RSS of this process (VmHWM), in MB."""
    with open("/proc/self/status", encoding="ascii") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def phase_server_side(devices: int) -> dict[str, float]:
    from easconsole.exchange.simulator.clixml import ClixmlWriter
    from easconsole.exchange.simulator.testing import DEFAULT_ACCOUNT, make_organization
    from easconsole.exchange.simulator.types import CommandCall, Record

    started = time.perf_counter()
    org = make_organization(devices=devices)
    generated = time.perf_counter() - started

    session = org.open_session(DEFAULT_ACCOUNT[0], org.servers[0])
    writer = ClixmlWriter()
    count = 0
    size = 0
    serialise_only = 0.0
    started = time.perf_counter()
    for item in session.run([CommandCall(LIST_DEVICES[0], list(LIST_DEVICES[1]))]):
        if isinstance(item, Record):
            t0 = time.perf_counter()
            size += len(writer.record(item).encode("utf-8"))
            serialise_only += time.perf_counter() - t0
            count += 1
    total = time.perf_counter() - started
    session.close()
    return {
        "devices": count,
        "generate_seconds": generated,
        "server_devices_per_second": count / total if total else 0.0,
        "writer_devices_per_second": count / serialise_only if serialise_only else 0.0,
        "bytes_per_device": size / count if count else 0.0,
        "peak_rss_mb": _peak_rss_mb(),
    }


def phase_serve(devices: int) -> None:
    """Run a simulator until stdin closes; report its address first and its peak RSS last."""
    from easconsole.exchange.simulator.testing import DEFAULT_ACCOUNT, running_simulator

    with running_simulator(devices=devices, auth=("basic",)) as sim:
        first = next(iter(sim.listeners))
        print(json.dumps({"address": sim.server_address(first), "port": sim.port, "account": DEFAULT_ACCOUNT}),
              flush=True)
        sys.stdin.read()
    print(json.dumps({"peak_rss_mb": _peak_rss_mb()}), flush=True)


def client_e2e(devices: int) -> dict[str, float]:
    from pypsrp.powershell import PowerShell, PSInvocationState, RunspacePool
    from pypsrp.wsman import WSMan

    server = subprocess.Popen([sys.executable, __file__, "--phase", "serve", "--devices", str(devices)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        info = json.loads(server.stdout.readline())  # type: ignore[union-attr]
        username, password = info["account"]
        wsman = WSMan(info["address"], port=info["port"], path="PowerShell", ssl=False, auth="basic",
                      encryption="never", username=username, password=password)
        received = 0
        with RunspacePool(wsman, configuration_name="Microsoft.Exchange") as pool:
            ps = PowerShell(pool)
            ps.add_cmdlet(LIST_DEVICES[0])
            for name, value in LIST_DEVICES[1]:
                ps.add_parameter(name, value)
            started = time.perf_counter()
            ps.begin_invoke()
            while ps.state == PSInvocationState.RUNNING:
                ps.poll_invoke()
                received += len(ps.output)
                ps.output.clear()
            received += len(ps.output)
            elapsed = time.perf_counter() - started
        server.stdin.close()  # type: ignore[union-attr]
        server_rss = json.loads(server.stdout.readline())["peak_rss_mb"]  # type: ignore[union-attr]
    finally:
        server.wait(timeout=60)
    return {"devices": received, "seconds": elapsed, "devices_per_second": received / elapsed,
            "client_peak_rss_mb": _peak_rss_mb(), "server_peak_rss_mb": server_rss}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--devices", type=int, default=100_000, help="organization size for generation/server side")
    parser.add_argument("--e2e-devices", type=int, default=50_000, help="devices received end to end by pypsrp")
    parser.add_argument("--phase", choices=["server-side", "serve"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase == "server-side":
        print(json.dumps(phase_server_side(args.devices)))
        return
    if args.phase == "serve":
        phase_serve(args.devices)
        return

    output = subprocess.run([sys.executable, __file__, "--phase", "server-side", "--devices", str(args.devices)],
                            check=True, capture_output=True, text=True, cwd=ROOT).stdout
    side = json.loads(output.strip().splitlines()[-1])
    print(f"generate {args.devices:,} devices:         {side['generate_seconds']:.2f} s")
    print(f"server side (engine + CLIXML):      {side['server_devices_per_second']:,.0f} devices/s "
          f"(target >= 5,000; {side['bytes_per_device']:.0f} bytes/device)")
    print(f"CLIXML writer alone:                {side['writer_devices_per_second']:,.0f} devices/s")
    e2e = client_e2e(args.e2e_devices)
    print(f"end to end via pypsrp ({e2e['devices']:,}):    {e2e['devices_per_second']:,.0f} devices/s "
          f"({e2e['seconds']:.1f} s, begin_invoke/poll_invoke)")
    print(f"client peak RSS:                    {e2e['client_peak_rss_mb']:.0f} MB")
    print(f"server peak RSS ({args.e2e_devices:,} devices):  {e2e['server_peak_rss_mb']:.0f} MB (target < 150 MB)")


if __name__ == "__main__":
    main()
