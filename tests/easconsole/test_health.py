"""/healthz for load balancers and monitors, and /metrics for Prometheus: no sign-in, nothing secret."""
import datetime as dt
import re

import pytest
import requests
from django.utils import timezone
from django_q.tasks import async_task

from devices.models import DeviceAction, DiscoveryRun
from easconsole.exchange import errors as exchange_errors
from easconsole.exchange.simulator.testing import running_simulator, wait_until
from easconsole.models import ExchangeConnector
from easconsole.services.connectors import connector_gateway
from tests.console import installed_connector
from tests.factories import DeviceFactory, SiteFactory


def test_without_a_worker_healthz_fails_on_the_worker_and_says_the_database_and_broker_answer(client, db):
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "failing"
    assert body["database"]["ok"] and body["broker"] == {"ok": True, "kind": "orm"}
    assert body["worker"] == {"ok": False, "last_task_age_seconds": None, "limit_seconds": 180}


@pytest.mark.django_db(transaction=True)
def test_healthz_is_ok_once_a_real_worker_ran_a_task(console_server, qcluster):
    async_task("easconsole.health.heartbeat")
    answer = wait_until(lambda: (r := requests.get(f"{console_server.url}/healthz", timeout=10)).status_code == 200 and r,
                        timeout=60, interval=0.5, message="a worker ran the heartbeat")
    body = answer.json()
    assert body["status"] == "ok"
    assert 0 <= body["worker"]["last_task_age_seconds"] <= 60
    assert "Set-Cookie" not in answer.headers  # no session is opened for a probe


def test_healthz_gives_the_age_of_each_installed_connectors_last_successful_discovery(client, db):
    site = SiteFactory(code="P01")
    discovered = ExchangeConnector.objects.create(name="Contoso", site=site, state=ExchangeConnector.State.INSTALLED)
    never = ExchangeConnector.objects.create(name="Fabrikam", site=site, state=ExchangeConnector.State.INSTALLED)
    ExchangeConnector.objects.create(name="Not installed", site=site)
    finished = timezone.now() - dt.timedelta(minutes=10)
    DiscoveryRun.objects.create(connector=discovered, kind="full", state=DiscoveryRun.State.SUCCEEDED,
                                started=finished - dt.timedelta(minutes=2), finished=finished)
    DiscoveryRun.objects.create(connector=discovered, kind="delta", state=DiscoveryRun.State.FAILED, finished=timezone.now())

    discovery = client.get("/healthz").json()["discovery"]
    assert set(discovery) == {str(discovered.pk), str(never.pk)}  # by id: no connector names without a sign-in
    assert 595 <= discovery[str(discovered.pk)]["last_success_age_seconds"] <= 660
    assert discovery[str(never.pk)]["last_success_age_seconds"] is None


def test_metrics_answer_only_when_the_setting_turns_them_on(client, db, settings):
    assert client.get("/metrics").status_code == 404
    settings.EASCONSOLE_METRICS = True
    assert client.get("/metrics").status_code == 200


def metric(text: str, name: str, **labels) -> float:
    wanted = ",".join(f'{key}="{value}"' for key, value in labels.items())
    found = re.search(rf"^{name}\{{{re.escape(wanted)}\}} (\S+)$", text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


def test_metrics_count_open_actions_by_state_and_discovery_durations(client, db, settings):
    settings.EASCONSOLE_METRICS = True
    connector = ExchangeConnector.objects.create(name="Contoso", site=SiteFactory(code="P01"))
    for state in (DeviceAction.State.REQUESTED, DeviceAction.State.PENDING, DeviceAction.State.PENDING, DeviceAction.State.ACKNOWLEDGED):
        device = DeviceFactory()
        DeviceAction.objects.create(device=device, device_name=device.name, device_identity=device.identity,
                                    kind=DeviceAction.Kind.WIPE, state=state)
    finished = timezone.now()
    DiscoveryRun.objects.create(connector=connector, kind="full", state=DiscoveryRun.State.SUCCEEDED,
                                started=finished - dt.timedelta(seconds=90), finished=finished)

    text = client.get("/metrics").content.decode()
    assert metric(text, "easconsole_device_actions_open", kind="wipe", state="requested") == 1
    assert metric(text, "easconsole_device_actions_open", kind="wipe", state="pending") == 2
    assert 'state="acknowledged"' not in text  # finished actions are not open
    labels = {"connector": connector.pk, "kind": "full", "state": "succeeded"}
    assert metric(text, "easconsole_discovery_duration_seconds_count", **labels) == 1
    assert metric(text, "easconsole_discovery_duration_seconds_sum", **labels) == pytest.approx(90)


@pytest.mark.simulator
def test_metrics_count_exchange_errors_by_kind(client, db, settings):
    settings.EASCONSOLE_METRICS = True
    with running_simulator(devices=3) as exchange:
        connector = installed_connector(exchange)
        before = metric(client.get("/metrics").content.decode(), "easconsole_exchange_errors_total", kind="unreachable")
        for server in exchange.org.servers:
            exchange.stop_server(server.name)
        with pytest.raises(exchange_errors.ExchangeConnectionError):
            with connector_gateway(connector) as gateway:
                gateway.organization()
    after = metric(client.get("/metrics").content.decode(), "easconsole_exchange_errors_total", kind="unreachable")
    assert after == before + 1
