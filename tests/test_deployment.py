"""The production deployment as documented: the compose file and the systemd units run the commands
docs/deployment.md and the README name, and the units pass ``systemd-analyze verify`` where it exists."""
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "docs" / "deploy"
UNITS = DEPLOY / "systemd"


def documented() -> dict[str, list[str]]:
    """The commands of docs/deployment.md's table of processes, by process: [environment..., command...]."""
    table = (ROOT / "docs" / "deployment.md").read_text()
    return {name: shlex.split(command) for name, command in
            re.findall(r"^\| (web|worker|scheduler) \| `([^`]+)` \|", table, re.MULTILINE)}


def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def with_environment(command: list[str], environment: dict) -> list[str]:
    """A service's command preceded by the EASCONSOLE_SCHEDULER it sets, as the documentation writes it."""
    scheduler = environment.get("EASCONSOLE_SCHEDULER")
    return ([f"EASCONSOLE_SCHEDULER={scheduler}"] if scheduler is not None else []) + command


def unit(name: str) -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    for line in (UNITS / name).read_text().splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, value = line.split("=", 1)
            values.setdefault(key, []).append(value)
    return values


def test_the_documentation_names_web_worker_and_scheduler():
    assert documented() == {
        "web": ["gunicorn", "-c", "python:easconsole.gunicorn", "easconsole.wsgi"],
        "worker": ["EASCONSOLE_SCHEDULER=0", "python", "manage.py", "qcluster"],
        "scheduler": ["EASCONSOLE_SCHEDULER=1", "python", "manage.py", "qcluster"],
    }
    readme = (ROOT / "README.md").read_text()
    for command in documented().values():
        assert shlex.join(command) in readme


def test_the_compose_file_runs_the_documented_commands_with_postgresql_and_redis():
    services = compose()["services"]
    assert {"db", "redis", "web", "worker", "scheduler"} <= services.keys()
    assert services["db"]["image"].startswith("postgres:") and services["redis"]["image"].startswith("redis:")
    for name, command in documented().items():
        service = services[name]
        assert with_environment(service["command"], service["environment"]) == command, name
        assert service["environment"]["DATABASE_URL"].startswith("postgres://")
        assert service["environment"]["REDIS_URL"].startswith("redis://redis:")
        assert service["environment"]["EASCONSOLE_SECURE"] == "1"
    assert "replicas" not in services["scheduler"].get("deploy", {})  # exactly one: never scaled
    assert (ROOT / services["web"]["build"]["context"].replace("../..", ".") / services["web"]["build"]["dockerfile"]).exists()


@pytest.mark.parametrize(("name", "process"), [("easconsole-web.service", "web"), ("easconsole-worker@.service", "worker"),
                                               ("easconsole-scheduler.service", "scheduler")])
def test_the_systemd_units_run_the_documented_commands(name, process):
    values = unit(name)
    [start] = values["ExecStart"]
    program, *arguments = shlex.split(start)
    command = [Path(program).name, *arguments]
    environment = dict(item.split("=", 1) for line in values.get("Environment", []) for item in shlex.split(line))
    assert with_environment(command, environment) == documented()[process]
    assert values["User"] == ["easconsole"] and values["EnvironmentFile"] == ["/etc/easconsole/easconsole.env"]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed here")
def test_the_systemd_units_pass_systemd_analyze_verify(tmp_path):
    # The units name /opt/easconsole: verify checks that the programs exist, so point them at this checkout.
    venv = Path(sys.executable).parent.parent
    for path in UNITS.glob("*.service"):
        text = path.read_text().replace("/opt/easconsole/.venv", str(venv)).replace("/opt/easconsole", str(ROOT))
        (tmp_path / path.name).write_text(text)
    (tmp_path / "easconsole-worker@1.service").write_text((tmp_path / "easconsole-worker@.service").read_text())
    units = [str(tmp_path / n) for n in ("easconsole-web.service", "easconsole-worker@1.service", "easconsole-scheduler.service")]
    result = subprocess.run(["systemd-analyze", "verify", *units], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "Unknown" not in result.stderr and "ignoring" not in result.stderr.lower(), result.stderr


def test_the_gunicorn_configuration_sizes_workers_from_the_cpus_and_logs_access():
    result = subprocess.run([sys.executable, "-c", "import multiprocessing, easconsole.gunicorn as g;"
                             "print(g.workers == multiprocessing.cpu_count() * 4, g.threads, g.timeout, g.accesslog)"],
                            cwd=ROOT, capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"})
    assert result.stdout.split() == ["True", "1", "120", "-"], result.stderr


def test_the_gunicorn_processes_leave_the_preloaded_application_out_of_garbage_collection():
    result = subprocess.run([sys.executable, "-c", "import gc, easconsole.gunicorn as g; before = gc.get_freeze_count();"
                             "g.pre_fork(None, None); print(before, gc.get_freeze_count() > 1000)"],
                            cwd=ROOT, capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"})
    assert result.stdout.split() == ["0", "True"], result.stderr


def test_only_the_scheduler_process_runs_the_schedules(tmp_path):
    def scheduler(flag: str) -> str:
        result = subprocess.run([sys.executable, "manage.py", "shell", "-c", "from django_q.conf import Conf; print(Conf.SCHEDULER)"],
                                cwd=ROOT, capture_output=True, text=True,
                                env={"PATH": "/usr/bin:/bin", "EASCONSOLE_SCHEDULER": flag, "EASCONSOLE_VAR_DIR": str(tmp_path)})
        return result.stdout.strip().splitlines()[-1] if result.stdout.strip() else result.stderr

    assert scheduler("0") == "False"  # every worker
    assert scheduler("1") == "True"   # the one scheduler (and a lone qcluster, by default)


def test_the_documented_web_command_serves_the_console_its_static_files_and_healthz(tmp_path):
    import socket
    import time

    import requests

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "EASCONSOLE_VAR_DIR": str(tmp_path),
           "GUNICORN_BIND": f"127.0.0.1:{port}", "GUNICORN_WORKERS": "2"}
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput"], cwd=ROOT, env=env, check=True, capture_output=True)
    server = subprocess.Popen(documented()["web"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        base, deadline = f"http://127.0.0.1:{port}", time.monotonic() + 60
        while True:  # wait for gunicorn to listen (a poll with a deadline)
            try:
                login = requests.get(f"{base}/accounts/login/", timeout=5)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline and server.poll() is None, "gunicorn did not start"
                time.sleep(0.2)
        assert login.status_code == 200
        assert requests.get(f"{base}/static/css/console.css", timeout=5).status_code == 200  # WhiteNoise
        health = requests.get(f"{base}/healthz", timeout=5)
        assert health.status_code == 503 and health.json()["database"]["ok"]  # no worker runs here
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0]
    assert '"GET /accounts/login/ HTTP/1.1" 200' in output  # the access log
