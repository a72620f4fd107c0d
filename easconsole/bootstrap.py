"""Set everything up and run the demo or the test suite, from a clean clone, with the standard library only.

    python3 -m easconsole.bootstrap demo [--port 8000]     # the console in demo mode at http://127.0.0.1:8000
    python3 -m easconsole.bootstrap test [pytest args...]  # the whole test suite

Both create the virtual environment in .venv and install the pinned packages when the
requirements files changed. Kerberos needs MIT's libraries from Debian (krb5-user, and libkrb5-dev
to build the pinned gssapi and krb5): they are installed when missing and this machine lets us (root
with apt-get); where it does not, the Kerberos packages are left out and the console offers the
other authentication methods, naming what to install. ``test`` also installs Debian's chromium for
the browser tests, and the MIT KDC (krb5-kdc, krb5-admin-server) and libfaketime for the Kerberos
tests, when they are missing and the machine lets us.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
PYTHON = VENV / "bin" / "python"
CHROMIUM = Path("/usr/bin/chromium")
KERBEROS_PYTHON = ("gssapi", "krb5")  # built against MIT's libkrb5 (krb5-config from libkrb5-dev)
KERBEROS_DEBIAN = {"krb5-config": "libkrb5-dev", "kinit": "krb5-user", "cc": "gcc"}
KDC_DEBIAN = {"/usr/sbin/krb5kdc": "krb5-kdc", "/usr/sbin/kadmin.local": "krb5-admin-server",
              "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1": "libfaketime"}


def say(message: str) -> None:
    print(f"[easconsole] {message}", flush=True)


def run(*args, **kwargs) -> None:
    subprocess.run([str(a) for a in args], check=True, cwd=ROOT, **kwargs)


def ensure_venv(requirements: str) -> None:
    """Create .venv and install ``requirements`` unless the same file was installed already."""
    if sys.version_info < (3, 11):
        sys.exit("EAS Console needs Python 3.11 or newer.")
    if not PYTHON.exists():
        say("creating the virtual environment in .venv")
        run(sys.executable, "-m", "venv", VENV)
    digest = hashlib.sha256()
    for name in ("requirements.txt", requirements):
        digest.update((ROOT / name).read_bytes())
    stamp = VENV / f".installed-{requirements}"
    if stamp.exists() and stamp.read_text() == digest.hexdigest():
        return
    say(f"installing the pinned packages of {requirements}")
    pinned = ROOT / requirements
    if not shutil.which("krb5-config"):
        say("Kerberos is left out (MIT's libkrb5-dev is missing): the console offers NTLM, Negotiate and Basic; "
            "install Debian's krb5-user and libkrb5-dev, then run this again")
        pinned = without_kerberos(requirements)
    run(PYTHON, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", pinned)
    if pinned == ROOT / requirements:
        stamp.write_text(digest.hexdigest())


def without_kerberos(requirements: str) -> Path:
    """A copy of the requirements (and of requirements.txt it includes) without gssapi and krb5."""
    folder = VENV / "requirements-without-kerberos"
    folder.mkdir(exist_ok=True)
    for name in {"requirements.txt", requirements}:
        lines = (ROOT / name).read_text().splitlines()
        kept = [line for line in lines if line.split("==")[0].strip().lower() not in KERBEROS_PYTHON]
        (folder / name).write_text("\n".join(kept) + "\n")
    return folder / requirements


def apt_install(packages: list[str], why: str) -> bool:
    """Install Debian packages if we may (root with apt-get); False when we may not."""
    if not packages:
        return True
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        say(f"{' '.join(packages)} missing and cannot be installed here ({why}): install Debian's {' '.join(packages)}")
        return False
    say(f"installing Debian's {' '.join(packages)} ({why})")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    run("apt-get", "update", "-qq", env=env)
    run("apt-get", "install", "-y", "-qq", *packages, env=env)
    return True


def ensure_kerberos(*, kdc: bool = False) -> None:
    """MIT Kerberos's libraries (and, for the tests, its KDC and libfaketime) when missing and we may."""
    missing = [package for tool, package in KERBEROS_DEBIAN.items() if not shutil.which(tool)]
    if kdc:
        missing += [package for path, package in KDC_DEBIAN.items() if not Path(path).exists()]
    apt_install(missing, "Kerberos to Exchange" + (" and its tests' KDC" if kdc else ""))


def ensure_chromium() -> None:
    """Install Debian's chromium for the browser tests if it is missing and we may."""
    if CHROMIUM.exists():
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        say("chromium is missing and cannot be installed here: the browser tests will fail; install Debian's chromium package")
        return
    say("installing Debian's chromium for the browser tests")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    run("apt-get", "update", "-qq", env=env)
    run("apt-get", "install", "-y", "-qq", "chromium", env=env)


def manage(*args, env=None) -> None:
    run(PYTHON, "manage.py", *args, env=env)


def test(args: list[str]) -> int:
    ensure_kerberos(kdc=True)
    ensure_venv("requirements-test.txt")
    ensure_chromium()
    say("running the test suite" + (f" against {os.environ['DATABASE_URL'].split('@')[-1]}" if os.environ.get("DATABASE_URL") else " on SQLite"))
    return subprocess.run([str(PYTHON), "-m", "pytest", *args], cwd=ROOT).returncode


def wait_for_port(host: str, port: int, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit("the simulated Exchange organization did not start (see above)")
        try:
            socket.create_connection((host, port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    sys.exit(f"the simulated Exchange organization did not listen on {host}:{port} within {timeout:.0f} s")


def demo(args: list[str]) -> int:
    port = args[args.index("--port") + 1] if "--port" in args else "8000"
    exchange_port = int(os.environ.get("EASCONSOLE_DEMO_EXCHANGE_PORT", "5985"))
    ensure_kerberos()
    ensure_venv("requirements.txt")
    env = {**os.environ, "EASCONSOLE_DEMO": "1"}
    manage("migrate", "--noinput", "-v", "0", env=env)
    state = ROOT / "var" / "demo-exchange.json"
    processes = [subprocess.Popen(
        [str(PYTHON), "manage.py", "exchange_simulator", "--port", str(exchange_port), "--control-port", str(exchange_port + 1),
         "--devices", "300", "--state-file", str(state)], cwd=ROOT, env=env)]
    # A second organization served as an Exchange Online tenant (REST and sign-in on HTTPS, port + 2);
    # its application's ID and certificate are kept in var/demo-online for seed_demo's connector.
    online_dir = ROOT / "var" / "demo-online"
    processes.append(subprocess.Popen(
        [str(PYTHON), "manage.py", "exchange_simulator", "--port", str(exchange_port), "--control-port", str(exchange_port + 3),
         "--devices", "120", "--seed", "2", "--org-name", "Fabrikam", "--domain", "fabrikam.com", "--bind-base", "127.0.0.21",
         "--state-file", str(ROOT / "var" / "demo-online-exchange.json"), "--online", "--online-port", str(exchange_port + 2),
         "--tls-dir", str(online_dir)], cwd=ROOT, env=env))
    wait_for_port("127.0.0.11", exchange_port, processes[0])
    wait_for_port("127.0.0.1", exchange_port + 2, processes[1])
    manage("seed_demo", "--exchange-port", str(exchange_port), "--online-port", str(exchange_port + 2),
           "--online-dir", str(online_dir), env=env)
    processes.append(subprocess.Popen([str(PYTHON), "manage.py", "qcluster"], cwd=ROOT, env=env))
    processes.append(subprocess.Popen([str(PYTHON), "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"], cwd=ROOT, env=env))
    say(f"the console runs at http://127.0.0.1:{port}/ with a django-q2 worker and the simulated Exchange "
        f"organization (servers on 127.0.0.11-15, port {exchange_port}) and a simulated Exchange Online tenant "
        f"(https://127.0.0.1:{exchange_port + 2}) beside it; Ctrl-C stops them all")

    def stop(*_):
        for process in processes:
            if process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + 10
        for process in processes:
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()

    signal.signal(signal.SIGTERM, lambda *_: (stop(), sys.exit(0)))
    try:
        while all(p.poll() is None for p in processes):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    stop()
    return 0


def main(argv: list[str]) -> int:
    commands = {"demo": demo, "test": test}
    if not argv or argv[0] not in commands:
        print(__doc__)
        return 2
    return commands[argv[0]](argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
