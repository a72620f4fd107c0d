"""Set everything up and run the demo or the test suite, from a clean clone, with the standard library only.

    python3 -m easconsole.bootstrap demo [--port 8000]     # the console in demo mode at http://127.0.0.1:8000
    python3 -m easconsole.bootstrap test [pytest args...]  # the whole test suite

Both create the virtual environment in .venv and install the pinned packages when the
requirements files changed. Two features need Python packages built against Debian's libraries:
Kerberos to Exchange (gssapi and krb5, against MIT's libkrb5-dev) and sign-in with the directory
(python-ldap, against libldap2-dev and libsasl2-dev). Those libraries are installed when missing and
this machine lets us (root with apt-get); where it does not, that feature's Python packages are left
out, the console shows the feature as unavailable and names what to install. ``test`` also installs
what the tests run against: Debian's chromium, MIT's KDC and libfaketime, and slapd.
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
# feature -> (Debian packages its Python packages build against, those Python packages)
OPTIONAL = {
    "Kerberos to Exchange": (("gcc", "libkrb5-dev", "krb5-user"), ("gssapi", "krb5")),
    "sign-in with the directory": (("gcc", "libldap2-dev", "libsasl2-dev"), ("python-ldap", "django-auth-ldap")),
}
# What the tests run against: a browser, a KDC (with libfaketime for clock skew), a directory server.
TEST_PACKAGES = ("chromium", "krb5-kdc", "krb5-admin-server", "libfaketime", "slapd", "ldap-utils")


def say(message: str) -> None:
    print(f"[easconsole] {message}", flush=True)


def run(*args, **kwargs) -> None:
    subprocess.run([str(a) for a in args], check=True, cwd=ROOT, **kwargs)


def missing_debian(packages: tuple[str, ...]) -> list[str]:
    """The packages dpkg does not have installed (all of them on a system without dpkg)."""
    if not shutil.which("dpkg"):
        return list(packages)
    return [p for p in packages if subprocess.run(["dpkg", "-s", p], capture_output=True).returncode != 0]


def apt_install(packages: tuple[str, ...], why: str) -> bool:
    """Install the Debian packages that are missing, if we may (root with apt-get); False when some stay missing."""
    missing = missing_debian(packages)
    if not missing:
        return True
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        say(f"{' '.join(missing)} missing and cannot be installed here ({why}): install Debian's {' '.join(missing)}")
        return False
    say(f"installing Debian's {' '.join(missing)} ({why})")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    run("apt-get", "update", "-qq", env=env)
    run("apt-get", "install", "-y", "-qq", *missing, env=env)
    return True


def left_out() -> list[str]:
    """The Python packages of the optional features whose Debian libraries are missing and stay missing."""
    names = []
    for feature, (debian, python) in OPTIONAL.items():
        if not apt_install(debian, feature):
            say(f"{feature} is left out: the console shows it as unavailable until the packages above are installed")
            names += python
    return names


def without(requirements: str, names: list[str]) -> Path:
    """A copy of ``requirements`` (and of requirements.txt, which it includes) without the named packages."""
    folder = VENV / "requirements-partial"
    folder.mkdir(exist_ok=True)
    for name in {"requirements.txt", requirements}:
        lines = (ROOT / name).read_text().splitlines()
        kept = [line for line in lines if line.split("==")[0].strip().lower() not in names]
        (folder / name).write_text("\n".join(kept) + "\n")
    return folder / requirements


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
    names = left_out()
    run(PYTHON, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r",
        without(requirements, names) if names else ROOT / requirements)
    if not names:  # without a stamp, the next run installs what was left out once the libraries are there
        stamp.write_text(digest.hexdigest())


def manage(*args, env=None) -> None:
    run(PYTHON, "manage.py", *args, env=env)


def test(args: list[str]) -> int:
    apt_install(TEST_PACKAGES, "what the browser, Kerberos and directory tests run against; without them they fail")
    ensure_venv("requirements-test.txt")
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
