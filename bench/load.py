"""Load test of the production stack: 20 signed-in operators at once, on PostgreSQL, 100,000 devices.

Run by hand (it is not a test), from the project folder, with PostgreSQL on loopback::

    .venv/bin/python bench/load.py [--server gunicorn|runserver] [--operators 20] [--seconds 20]
        [--max-requests 3000] [--devices 100000] [--database-url postgres://postgres@127.0.0.1:5432/easconsole_load]

It migrates the database and seeds the devices once (bench/device_list.py's seed; the database is
kept for the next run), starts the web server on 127.0.0.1 only (gunicorn with easconsole/gunicorn.py, or
Django's runserver as the demo does), signs the operators in through the sign-in page, and drives
them for a bounded time and number of requests in two phases: a mix of the pages operators use
(device list, filtered list, device page, search), then the device list alone. It prints
requests/s, p50 and p95 per page, errors, and where the CPUs went per request: the web server's
processes (user + system time from /proc, the target), PostgreSQL's processes (the postmaster and
its backends, from /proc the same way: the backends of the benchmark's database, and the whole server,
where other work on the machine counts too)
and this load generator's own 20 clients (its process time).
Targets on a 2-core machine: 0 errors, device list p95 < 500 ms, CPU per device-list request < 40 ms.
"""
from __future__ import annotations

import argparse
import os
import random
import re
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

PAGES = {
    "device list": ("/assets/devices/", {}),
    "filtered list": ("/assets/devices/", {"os_family": "ios", "access_state": "Allowed"}),
    "device page": ("/assets/devices/{pk}/", {}),
    "search": ("/assets/devices/", {"q": "garcia"}),
}
PASSWORD = "Bench-Password-1"
TICKS = os.sysconf("SC_CLK_TCK")


def create_database(database_url: str) -> None:
    """Create the benchmark's database when it does not exist yet (its name comes from the command line)."""
    import psycopg
    from psycopg import sql

    server, name = database_url.rsplit("/", 1)
    with psycopg.connect(f"{server}/postgres", autocommit=True) as connection:
        if not connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def prepare(database_url: str, devices: int) -> list[int]:
    """Migrate and seed the database (once); returns some device ids for the device pages."""
    create_database(database_url)
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "easconsole.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    import device_list
    from devices.models import Device

    call_command("migrate", verbosity=0)
    if not Device.objects.exists():
        device_list.seed(devices)
    device_list.operator("operator")
    with connection.cursor() as cursor:
        # Fresh statistics and visibility map, as autovacuum keeps them in a running database (a server with
        # autovacuum off, as on test machines, would otherwise count the devices from the table: 13 ms, not 4).
        cursor.execute("VACUUM ANALYZE")
    return list(Device.objects.filter(missing_since__isnull=True).order_by("?").values_list("pk", flat=True)[:500])


def start_server(kind: str, port: int, env: dict) -> subprocess.Popen:
    if kind == "gunicorn":
        command = [str(Path(sys.executable).parent / "gunicorn"), "-c", "python:easconsole.gunicorn", "easconsole.wsgi"]
        env = {**env, "GUNICORN_BIND": f"127.0.0.1:{port}", "GUNICORN_ACCESS_LOG": os.devnull}
    else:
        command = [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"]
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/accounts/login/", timeout=5).status_code == 200:
                return server
        except requests.ConnectionError:
            time.sleep(0.3)
    server.kill()
    raise SystemExit(f"the {kind} server did not answer within 60 s: {server.stderr.read().decode()[-2000:]}")


def cpu_seconds(pid: int) -> float:
    """User + system time of a process and all its live descendants (gunicorn's workers)."""
    total, pending = 0.0, [pid]
    while pending:
        current = pending.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += sum(int(f) for f in fields[11:15]) / TICKS  # its own time and its reaped children's
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += [int(child) for child in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


def postgres_pid(database_url: str) -> int:
    """The postmaster of the server behind the database URL (on loopback): the parent of one of its backends."""
    import psycopg

    with psycopg.connect(database_url) as connection:
        backend = connection.execute("SELECT pg_backend_pid()").fetchone()[0]
    return int(Path(f"/proc/{backend}/stat").read_text().rsplit(")", 1)[1].split()[1])


def backend_cpu(database_url: str) -> dict[int, float]:
    """User + system time of each PostgreSQL backend connected to the benchmark's database, by process id."""
    import psycopg

    with psycopg.connect(database_url) as connection:
        pids = [row[0] for row in connection.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")]
    return {pid: cpu_seconds(pid) for pid in pids}


def signed_in(base: str) -> requests.Session:
    session = requests.Session()
    page = session.get(f"{base}/accounts/login/", timeout=30)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    answer = session.post(f"{base}/accounts/login/", data={"username": "operator", "password": PASSWORD,
                                                          "csrfmiddlewaretoken": token},
                          headers={"Referer": f"{base}/accounts/login/"}, timeout=30, allow_redirects=False)
    assert answer.status_code == 302, f"sign-in failed: {answer.status_code}"
    return session


def drive(base: str, sessions: list, pages: list[str], device_ids: list[int], seconds: float, cap: int) -> tuple:
    """Every session asks for pages back to back until the time or the request budget runs out."""
    results: list[tuple[str, float, bool]] = []
    errors: list[str] = []
    lock, deadline = threading.Lock(), time.monotonic() + seconds

    def operator(session, rng):
        while time.monotonic() < deadline:
            with lock:
                if len(results) >= cap:
                    return
            label = rng.choice(pages)
            path, params = PAGES[label]
            started = time.perf_counter()
            url = base + path.format(pk=rng.choice(device_ids))
            try:
                response = session.get(url, params=params, timeout=60)
                ok = response.status_code == 200
                error = "" if ok else f"HTTP {response.status_code}"
            except requests.RequestException as failure:
                ok, error = False, type(failure).__name__
            with lock:
                results.append((label, (time.perf_counter() - started) * 1000, ok))
                if error:
                    errors.append(f"{label} {url}: {error}")

    threads = [threading.Thread(target=operator, args=(s, random.Random(n))) for n, s in enumerate(sessions)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for error in errors[:5]:
        print(f"  error: {error}")
    return results, time.monotonic() - started


def report(title: str, results: list, elapsed: float, cpu: dict[str, float], postgresql_all: float) -> None:
    errors = sum(1 for _, _, ok in results if not ok)
    per_request = {name: seconds * 1000 / max(len(results), 1) for name, seconds in cpu.items()}
    print(f"\n{title}: {len(results)} requests in {elapsed:.1f} s = {len(results) / elapsed:.1f} requests/s, "
          f"{errors} errors, server CPU {per_request['server']:.1f} ms per request")
    print(f"  CPU per request: server {per_request['server']:.1f} ms, PostgreSQL {per_request['postgresql']:.1f} ms, "
          f"load generator {per_request['clients']:.1f} ms; in all {sum(per_request.values()):.1f} ms "
          f"= {sum(cpu.values()) / elapsed:.2f} of the {os.cpu_count()} CPUs (PostgreSQL, all its databases: "
          f"{postgresql_all * 1000 / max(len(results), 1):.1f} ms per request)")
    print(f"  {'page':16} {'requests':>8} {'p50':>9} {'p95':>9}")
    for label in PAGES:
        times = sorted(ms for name, ms, _ in results if name == label)
        if times:
            p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
            print(f"  {label:16} {len(times):8d} {statistics.median(times):6.0f} ms {p95:6.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", choices=["gunicorn", "runserver"], default="gunicorn")
    parser.add_argument("--operators", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=20, help="of each of the two phases")
    parser.add_argument("--max-requests", type=int, default=3000, help="of each of the two phases")
    parser.add_argument("--devices", type=int, default=100_000)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/easconsole_load")
    args = parser.parse_args()
    if not re.match(r"postgres(ql)?://[^/]*@?(127\.0\.0\.1|localhost)[:/]", args.database_url):
        raise SystemExit("the load test runs on loopback only: give a PostgreSQL database on 127.0.0.1")
    var = tempfile.mkdtemp(prefix="easconsole-load-")
    os.environ["EASCONSOLE_VAR_DIR"] = var
    started = time.perf_counter()
    device_ids = prepare(args.database_url, args.devices)
    print(f"database ready in {time.perf_counter() - started:.0f} s ({args.database_url}); server: {args.server}, "
          f"{os.cpu_count()} CPUs, {args.operators} operators")
    env = {**os.environ, "SECRET_KEY": secrets.token_urlsafe(50), "ALLOWED_HOSTS": "127.0.0.1",
           "DATABASE_URL": args.database_url, "EASCONSOLE_VAR_DIR": var, "LOG_LEVEL": "WARNING",
           "AXES_FAILURE_LIMIT": "100"}
    server = start_server(args.server, args.port, env)
    base = f"http://127.0.0.1:{args.port}"
    postgres = postgres_pid(args.database_url)
    try:
        sessions = [signed_in(base) for _ in range(args.operators)]
        for title, pages in (("mixed pages", list(PAGES)), ("device list only", ["device list"])):
            drive(base, sessions[:2], pages, device_ids, 2, 20)  # warm every process up
            before = cpu_seconds(server.pid), cpu_seconds(postgres), time.process_time(), backend_cpu(args.database_url)
            results, elapsed = drive(base, sessions, pages, device_ids, args.seconds, args.max_requests)
            after = cpu_seconds(server.pid), cpu_seconds(postgres), time.process_time(), backend_cpu(args.database_url)
            # The benchmark's own backends (one that ended during the phase is missed: gunicorn keeps its connections).
            backends = sum(seconds - before[3].get(pid, 0.0) for pid, seconds in after[3].items())
            report(title, results, elapsed, {"server": after[0] - before[0], "postgresql": backends,
                                             "clients": after[2] - before[2]}, after[1] - before[1])
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
