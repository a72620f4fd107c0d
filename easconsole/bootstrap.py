"""Set everything up and run the demo or the test suite, from a clean clone, with the standard library only.

    python3 -m easconsole.bootstrap demo [--port 8000]     # the console in demo mode at http://127.0.0.1:8000
    python3 -m easconsole.bootstrap test [pytest args...]  # the whole test suite

Both create the virtual environment in .venv and install the pinned packages when the
requirements files changed. ``test`` also installs Debian's chromium for the browser tests when it
is missing and this machine lets us install it.
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
    if ensure_debian_packages(LDAP_BUILD_PACKAGES, "sign-in with the directory shows as unavailable until they are installed"):
        run(PYTHON, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", ROOT / requirements)
        stamp.write_text(digest.hexdigest())
    else:  # no stamp: the next run installs python-ldap once the libraries are there
        run(PYTHON, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", without_ldap(requirements))


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


# --- directory sign-in: python-ldap builds against these; the tests run a real slapd (docs/users.md)
LDAP_BUILD_PACKAGES = ("libldap2-dev", "libsasl2-dev")
LDAP_TEST_PACKAGES = ("slapd", "ldap-utils")


def ensure_debian_packages(packages: tuple[str, ...], purpose: str) -> bool:
    """Install Debian's ``packages`` when missing and we may; False (and why) when they stay missing."""
    if not shutil.which("dpkg"):
        say(f"not a Debian system: without {' '.join(packages)}, {purpose}")
        return False
    missing = [p for p in packages if subprocess.run(["dpkg", "-s", p], capture_output=True).returncode != 0]
    if not missing:
        return True
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        say(f"{' '.join(missing)} missing and cannot be installed here: {purpose}")
        return False
    say(f"installing Debian's {' '.join(missing)}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    run("apt-get", "update", "-qq", env=env)
    run("apt-get", "install", "-y", "-qq", *missing, env=env)
    return True


def without_ldap(requirements: str) -> str:
    """A copy of ``requirements`` (and requirements.txt) without python-ldap and django-auth-ldap."""
    lines = []
    for name in ("requirements.txt", requirements):
        lines += [line for line in (ROOT / name).read_text().splitlines()
                  if not line.startswith(("-r ", "python-ldap", "django-auth-ldap"))]
    (VENV / "requirements-without-ldap.txt").write_text("\n".join(lines) + "\n")
    return str(VENV / "requirements-without-ldap.txt")
# --- end directory sign-in


def manage(*args, env=None) -> None:
    run(PYTHON, "manage.py", *args, env=env)


def test(args: list[str]) -> int:
    ensure_venv("requirements-test.txt")
    ensure_chromium()
    ensure_debian_packages(LDAP_TEST_PACKAGES, "the directory sign-in tests need slapd and will fail")
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
    wait_for_port("127.0.0.11", exchange_port, processes[0])
    manage("seed_demo", "--exchange-port", str(exchange_port), env=env)
    processes.append(subprocess.Popen([str(PYTHON), "manage.py", "qcluster"], cwd=ROOT, env=env))
    processes.append(subprocess.Popen([str(PYTHON), "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"], cwd=ROOT, env=env))
    say(f"the console runs at http://127.0.0.1:{port}/ with a django-q2 worker and the simulated Exchange "
        f"organization (servers on 127.0.0.11-15, port {exchange_port}) beside it; Ctrl-C stops them all")

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
