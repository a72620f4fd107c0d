"""Benchmark of discovery (run by hand; prints figures, asserts nothing).

    python bench/discovery.py [--sizes 10000 50000] [--changed 0.01] [--online] [--no-before] [--before-tree DIR]
                              [--readers 1 2 3] [--full-only]

For each organization size: the simulator runs in its own process (its memory measured apart);
the bare time pypsrp needs to receive Get-ActiveSyncDevice for the organization; a full discovery
run by a child process (the "worker": Django, a fresh SQLite database, the product's own
`full_discovery`) with its time, devices/s and peak RSS; then 1% of the devices are changed through
the control API and a delta discovery runs in another child. Unless --no-before, the full discovery
also runs with pypsrp's generic CLIXML decoder (as before issue 19), printed beside the fast one.
With --full-only, only the full discovery runs (its time and the worker's memory at sizes where
the bare receive would take long). With --before-tree, the full discovery also runs with the code of another checkout (an earlier
commit, say `git archive <commit> | tar -x -C DIR`, with the same virtual environment) against the
same simulator, printed beside this one's. Each discovery's CPU seconds (the worker's and the
simulator's) are printed too: on a shared machine they say more than the wall clock. With --readers
1 2 3, a full discovery first runs with each number of readers (EASCONSOLE_DISCOVERY_READERS: 3, the default, reads
the devices and the statistics each in a reader process; 2 only the statistics), each on a fresh database;
the worker's CPU includes its readers'.
Targets (issue 19): full discovery at >= 3x the bare receive's rate and >= 3,000 devices/s on an idle
machine; worker peak <= 300 MB at 100,000 devices, flat in the size; delta 1% of 50,000 <= 5 s.

With --online the simulator also serves the organization as an Exchange Online tenant, and a full
discovery over the REST transport (MSAL sign-in, InvokeCommand pages, statistics per mailbox) runs
in a third child: its devices/s is printed beside the PSRP figure, with its peak RSS (to compare
across sizes: it should not grow with the organization).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def peak_rss_mb() -> float:
    """Peak RSS of this process (VmHWM), in MB."""
    with open("/proc/self/status", encoding="ascii") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


# ---- the simulator, in its own process ------------------------------------------------------------
def phase_serve(devices: int, online: bool = False) -> None:
    import contextlib

    from easconsole.exchange.simulator.online import SimulatedTenant
    from easconsole.exchange.simulator.testing import DEFAULT_ACCOUNT, running_simulator

    started = time.perf_counter()
    with running_simulator(devices=devices, auth=("basic",)) as sim, \
            (SimulatedTenant(sim.org) if online else contextlib.nullcontext()) as tenant:
        described = {"address": sim.server_address("EXCAS01"), "port": sim.port, "account": DEFAULT_ACCOUNT,
                     "control_url": sim.control_url, "control_token": sim.control_token,
                     "generate_seconds": time.perf_counter() - started}
        if tenant is not None:
            with open(tenant.ca_file) as handle:
                described["online"] = {"url": tenant.url, "tenant": tenant.domain, "app_id": tenant.app_id,
                                       "credential": tenant.app_credential, "ca_bundle": handle.read()}
        print(json.dumps(described), flush=True)
        sys.stdin.read()
    print(json.dumps({"peak_rss_mb": peak_rss_mb()}), flush=True)


# ---- the bare pypsrp receive -----------------------------------------------------------------------
def bare_receive(server: dict, every: int) -> dict:
    from pypsrp.powershell import PowerShell, PSInvocationState, RunspacePool
    from pypsrp.wsman import WSMan

    wsman = WSMan(server["address"], port=server["port"], path="PowerShell", ssl=False, auth="basic",
                  encryption="never", username=server["account"][0], password=server["account"][1],
                  operation_timeout=20, read_timeout=30)
    count = 0
    sample: list[str] = []  # every `every`-th identity, to change them afterwards

    def take(objects: list) -> int:
        for index, obj in enumerate(objects, start=count):
            if index % every == 0:
                sample.append(str(obj.adapted_properties.get("Identity")))
        return len(objects)

    started = time.perf_counter()
    with RunspacePool(wsman, configuration_name="Microsoft.Exchange") as pool:
        ps = PowerShell(pool)
        ps.add_cmdlet("Get-ActiveSyncDevice").add_parameter("ResultSize", "Unlimited")
        ps.begin_invoke()
        while ps.state == PSInvocationState.RUNNING:
            ps.poll_invoke()
            count += take(list(ps.output))
            ps.output.clear()
        count += take(list(ps.output))
    seconds = time.perf_counter() - started
    return {"devices": count, "seconds": seconds, "sample": sample}


# ---- the worker: a child process running the product's discovery -------------------------------------
def phase_discover(kind: str, server: dict) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "easconsole.settings")
    import django

    django.setup()
    from django.core.management import call_command

    if os.environ.get("BENCH_DECODER") == "pypsrp":  # "before": the bulk reads decoded by pypsrp
        from easconsole.exchange import clixml_decoder

        clixml_decoder.ENABLED = False

    call_command("migrate", verbosity=0)
    from devices import discovery
    from devices.models import Device, DiscoveryRun
    from easconsole.models import ConnectorServer, ExchangeConnector, Site

    connector = ExchangeConnector.objects.filter(name="Bench").first()
    if connector is None and server.get("use_online"):
        site, _ = Site.objects.get_or_create(code="B01", defaults={"name": "Bench"})
        online = server["online"]
        connector = ExchangeConnector(name="Bench", site=site, environment=ExchangeConnector.Environment.ONLINE,
                                      online_tenant=online["tenant"], username=online["app_id"],
                                      online_endpoint=online["url"], online_authority=online["url"],
                                      ca_bundle=online["ca_bundle"], state=ExchangeConnector.State.INSTALLED)
        connector.set_password(online["credential"])
        connector.save()
    if connector is None:
        site, _ = Site.objects.get_or_create(code="B01", defaults={"name": "Bench"})
        connector = ExchangeConnector(name="Bench", site=site, authentication="basic", username=server["account"][0],
                                      port=server["port"], state=ExchangeConnector.State.INSTALLED)
        connector.set_password(server["account"][1])
        connector.save()
        ConnectorServer.objects.create(connector=connector, ad_site="HQ", server=server["address"])
    run = DiscoveryRun.objects.create(connector=connector, kind=kind)
    started = time.perf_counter()
    run = (discovery.full_discovery if kind == "full" else discovery.delta_discovery)(run)
    seconds = time.perf_counter() - started
    from easconsole import logs

    finished = [line.message for line in logs.tail("EasDisc.log", limit=5) if "read in" in line.message]
    split = finished[-1].rsplit("; ", 1)[-1] if finished else ""
    readers = resource.getrusage(resource.RUSAGE_CHILDREN)  # the reader processes it started (joined)
    print(json.dumps({"split": split, "reader_cpu": readers.ru_utime + readers.ru_stime,
                      "reader_peak_rss_mb": readers.ru_maxrss / 1024, "state": run.state, "error": run.error, "seconds": seconds, "seen": run.devices_seen,
                      "added": run.devices_added, "changed": run.devices_changed, "missing": run.devices_missing,
                      "ignored": run.devices_ignored, "inventory": Device.objects.count(),
                      "peak_rss_mb": peak_rss_mb()}), flush=True)


def cpu_seconds(pid: int) -> float:
    """User and system CPU seconds a process has used so far."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def worker(kind: str, server: dict, var_dir: str, decoder: str = "fast", tree: str = ROOT,
           readers: int | None = None) -> dict:
    env = {**os.environ, "EASCONSOLE_VAR_DIR": var_dir, "LOG_LEVEL": "WARNING", "BENCH_DECODER": decoder}
    if readers is not None:
        env["EASCONSOLE_DISCOVERY_READERS"] = str(readers)
        env["EASCONSOLE_DISCOVERY_PARALLEL_FROM"] = "0"  # a fresh database has no earlier run to size the organization
    env.pop("DATABASE_URL", None)
    children, simulator = resource.getrusage(resource.RUSAGE_CHILDREN), cpu_seconds(server["pid"])
    done = subprocess.run([sys.executable, os.path.join(tree, "bench", "discovery.py"), "--phase", "discover",
                           "--kind", kind, "--server", json.dumps(server)],
                          cwd=tree, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"the {kind} discovery process failed:\n{done.stderr[-3000:]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    figures["cpu"] = (after.ru_utime + after.ru_stime) - (children.ru_utime + children.ru_stime)
    figures["simulator_cpu"] = cpu_seconds(server["pid"]) - simulator
    return figures


def described(figures: dict) -> str:
    return (f"{figures['seconds']:.1f} s, {figures['seen'] / figures['seconds']:.0f} devices/s, worker CPU "
            f"{figures['cpu']:.1f} s (Django set-up included; its reader processes {figures.get('reader_cpu', 0):.1f} s), "
            f"simulator CPU {figures['simulator_cpu']:.1f} s, "
            f"worker peak RSS {figures['peak_rss_mb']:.0f} MB (its largest reader "
            f"{figures.get('reader_peak_rss_mb', 0):.0f} MB); {figures['split']}")


def change_devices(server: dict, identities: list[str]) -> int:
    """Change these devices (their model) through the control API, as users' devices would."""
    from easconsole.exchange.simulator.testing import ControlClient

    control = ControlClient(server["control_url"], server["control_token"])
    for identity in identities:
        control.change_device(identity, model="Bench Changed Model")
    control.close()
    return len(identities)


def compare_readers(server: dict, readers: list[int]) -> None:
    """A full discovery with each number of readers (EASCONSOLE_DISCOVERY_READERS), each on a fresh
    database, against the same simulator, one after the other."""
    for count in readers:
        with tempfile.TemporaryDirectory(prefix="bench-discovery-readers-") as var_dir:
            figures = worker("full", server, var_dir, readers=count)
        if figures["state"] != "succeeded":
            raise SystemExit(f"full discovery with {count} readers failed: {figures['error']}")
        print(f"full discovery, {count} reader(s): {described(figures)} (load average {os.getloadavg()[0]:.2f})",
              flush=True)


def measure(devices: int, changed: float, online: bool = False, before: bool = True,
            before_tree: str | None = None, full_only: bool = False, readers: list[int] | None = None) -> None:
    print(f"\n== {devices:,} devices ==", flush=True)
    serve = subprocess.Popen([sys.executable, __file__, "--phase", "serve", "--devices", str(devices),
                              *(["--online"] if online else [])],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    server = {**json.loads(serve.stdout.readline()), "pid": serve.pid}
    print(f"simulator generated the organization in {server['generate_seconds']:.1f} s", flush=True)
    if readers:
        compare_readers(server, readers)
    if full_only:  # the worker's memory at sizes where the bare receive would take long
        with tempfile.TemporaryDirectory(prefix="bench-discovery-") as var_dir:
            full = worker("full", server, var_dir)
        print(f"full discovery: {full['state']}, {full['seen']:,} read; {described(full)}", flush=True)
        stop_serving(serve)
        return
    with tempfile.TemporaryDirectory(prefix="bench-discovery-") as var_dir, \
            tempfile.TemporaryDirectory(prefix="bench-discovery-tree-") as tree_dir:
        bare = bare_receive(server, every=max(1, round(1 / changed)))
        print(f"bare pypsrp receive of Get-ActiveSyncDevice: {bare['devices']:,} objects in {bare['seconds']:.1f} s "
              f"({bare['devices'] / bare['seconds']:.0f}/s)", flush=True)
        if before:
            with tempfile.TemporaryDirectory(prefix="bench-discovery-before-") as before_dir:
                old = worker("full", server, before_dir, decoder="pypsrp")
            if old["state"] != "succeeded":
                raise SystemExit(f"full discovery (pypsrp's decoder) failed: {old['error']}")
        if before_tree:  # its own inventory (tree_dir), kept for its delta below
            earlier = worker("full", server, tree_dir, tree=before_tree)
            if earlier["state"] != "succeeded":
                raise SystemExit(f"full discovery ({before_tree}) failed: {earlier['error']}")
        full = worker("full", server, var_dir)
        if full["state"] != "succeeded":
            raise SystemExit(f"full discovery failed: {full['error']}")
        if before_tree:
            print(f"full discovery, code of {before_tree}: {described(earlier)}; rate "
                  f"{bare['seconds'] / earlier['seconds']:.2f}x the bare receive's", flush=True)
            print(f"full discovery, this code: {described(full)}; rate {bare['seconds'] / full['seconds']:.2f}x "
                  f"the bare receive's", flush=True)
        if before:
            print(f"full discovery, before (pypsrp's decoder): {old['seconds']:.1f} s, "
                  f"{old['seen'] / old['seconds']:.0f} devices/s, {old['seconds'] / bare['seconds']:.2f}x the bare receive "
                  f"time, worker peak RSS {old['peak_rss_mb']:.0f} MB; {old['split']}", flush=True)
            print(f"full discovery, after (fast decoder):     {full['seconds']:.1f} s, "
                  f"{full['seen'] / full['seconds']:.0f} devices/s, {full['seconds'] / bare['seconds']:.2f}x the bare receive "
                  f"time, worker peak RSS {full['peak_rss_mb']:.0f} MB; rate {bare['seconds'] / full['seconds']:.2f}x "
                  f"the bare receive's (before {bare['seconds'] / old['seconds']:.2f}x)", flush=True)
        print(f"full discovery: {full['seconds']:.1f} s, {full['seen'] / full['seconds']:.0f} devices/s "
              f"({full['seen']:,} read, {full['added']:,} added, {full['ignored']:,} ignored as inactive); "
              f"ratio to the bare receive {full['seconds'] / bare['seconds']:.2f}; worker peak RSS {full['peak_rss_mb']:.0f} MB; "
              f"worker CPU {full['cpu']:.1f} s, simulator CPU {full['simulator_cpu']:.1f} s; {full['split']}",
              flush=True)
        if online:
            with tempfile.TemporaryDirectory(prefix="bench-discovery-online-") as online_dir:
                rest = worker("full", {**server, "use_online": True}, online_dir)
            if rest["state"] != "succeeded":
                raise SystemExit(f"full discovery over REST failed: {rest['error']}")
            print(f"full discovery over Exchange Online REST: {rest['seconds']:.1f} s, "
                  f"{rest['seen'] / rest['seconds']:.0f} devices/s (PSRP: {full['seen'] / full['seconds']:.0f} devices/s); "
                  f"{rest['seen']:,} read; worker peak RSS {rest['peak_rss_mb']:.0f} MB (PSRP: {full['peak_rss_mb']:.0f} MB)",
                  flush=True)
        count = change_devices(server, bare["sample"])
        if before_tree:
            earlier = worker("delta", server, tree_dir, tree=before_tree)
            print(f"delta discovery, code of {before_tree}: {earlier['seconds']:.1f} s ({earlier['seen']:,} read "
                  f"in full), worker CPU {earlier['cpu']:.1f} s; {earlier['split']}", flush=True)
        delta = worker("delta", server, var_dir)
        if delta["state"] != "succeeded":
            raise SystemExit(f"delta discovery failed: {delta['error']}")
        print(f"delta discovery after {count:,} devices changed ({changed:.0%}): "
              f"{delta['seconds']:.1f} s ({delta['seen']:,} read in full, {delta['changed']:,} changed); "
              f"worker CPU {delta['cpu']:.1f} s, simulator CPU {delta['simulator_cpu']:.1f} s; "
              f"worker peak RSS {delta['peak_rss_mb']:.0f} MB; {delta['split']}",
              flush=True)
    stop_serving(serve)


def stop_serving(serve: subprocess.Popen) -> None:
    serve.stdin.close()
    tail = serve.stdout.read().strip().splitlines()
    serve.wait(timeout=60)
    if tail:
        print(f"simulator peak RSS {json.loads(tail[-1])['peak_rss_mb']:.0f} MB", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 50_000])
    parser.add_argument("--changed", type=float, default=0.01)
    parser.add_argument("--online", action="store_true", help="also a full discovery over Exchange Online's REST")
    parser.add_argument("--no-before", action="store_true", help="skip the full discovery with pypsrp's decoder")
    parser.add_argument("--before-tree", help="also run the discoveries with the code of this checkout")
    parser.add_argument("--full-only", action="store_true", help="only the full discovery (its time and memory)")
    parser.add_argument("--readers", type=int, nargs="+",
                        help="first a full discovery with each of these numbers of readers (e.g. 1 2)")
    parser.add_argument("--phase", choices=["serve", "discover"], help=argparse.SUPPRESS)
    parser.add_argument("--devices", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--kind", default="full", help=argparse.SUPPRESS)
    parser.add_argument("--server", default="{}", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase == "serve":
        phase_serve(args.devices, args.online)
    elif args.phase == "discover":
        phase_discover(args.kind, json.loads(args.server))
    else:
        print(f"discovery benchmark on {os.cpu_count()} CPU(s), load average {os.getloadavg()[0]:.2f}", flush=True)
        for size in args.sizes:
            measure(size, args.changed, args.online, before=not args.no_before, before_tree=args.before_tree,
                    full_only=args.full_only, readers=args.readers)
            print(f"load average {os.getloadavg()[0]:.2f}", flush=True)


if __name__ == "__main__":
    main()
