"""`manage.py exchange_simulator --online`: the tenant it prints is one a connector can sign in to, and
with --tls-dir its application (ID and certificate) survives a restart."""
import io
import threading

import pytest

from easconsole.exchange.gateway import gateway_for
from easconsole.exchange.simulator.testing import wait_until
from easconsole.exchange.values import ConnectionSettings
from easconsole.management.commands.exchange_simulator import Command

pytestmark = pytest.mark.simulator


def run_once(tmp_path) -> tuple[str, dict]:
    out = io.StringIO()
    command = Command(stdout=out)
    options = vars(command.create_parser("manage.py", "exchange_simulator").parse_args(
        ["--devices", "5", "--online", "--tls-dir", str(tmp_path), "--bind-base", "127.0.0.41"]))
    thread = threading.Thread(target=lambda: command.execute(**options), daemon=True)
    thread.start()
    try:
        wait_until(lambda: "PRIVATE KEY" in out.getvalue(), timeout=20)
        text = out.getvalue()
        printed = dict(line.strip().split(": ", 1) for line in text.splitlines()
                       if line.startswith("  ") and ": " in line and line.strip().split(": ")[0] in
                       ("Tenant ID", "Application ID", "REST endpoint and sign-in authority", "CA certificate"))
        credential = "\n".join(line.strip() for line in text.splitlines() if line.startswith("    ")) + "\n"
        settings = ConnectionSettings(sites={}, online=True, tenant=printed["Tenant ID"], username=printed["Application ID"],
                                      password=credential, endpoint=printed["REST endpoint and sign-in authority"],
                                      authority=printed["REST endpoint and sign-in authority"],
                                      ca_bundle=printed["CA certificate"])
        with gateway_for(settings) as gateway:
            assert len(list(gateway.devices())) == 5
        return printed["Application ID"], printed
    finally:
        command.stop_event.set()
        thread.join(10)


def test_online_prints_what_a_connector_needs_and_keeps_the_application(tmp_path):
    first, _ = run_once(tmp_path)
    again, _ = run_once(tmp_path)
    assert first == again and (tmp_path / "online-app.pem").stat().st_mode & 0o777 == 0o600
