"""Asking for a discovery, its schedules, the tasks, the command, and a real django-q2 worker running one."""
import io

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import CommandError, call_command
from django.urls import reverse
from django_q.models import Schedule

from devices import discovery, tasks
from devices.discovery.services import schedule_name
from devices.models import Device, DiscoveryRun
from easconsole import tasks as easconsole_tasks
from easconsole.exchange.simulator.testing import DEFAULT_ACCOUNT, running_simulator, wait_until
from easconsole.models import AuditEvent, ExchangeConnector
from easconsole.services import connectors
from tests.console import installed_connector, new_run
from tests.factories import SiteFactory
from tests.personas import make_persona

pytestmark = [pytest.mark.django_db, pytest.mark.simulator]


@pytest.fixture(scope="module")
def exchange():
    with running_simulator(devices=30, seed=7) as sim:
        yield sim


def test_installing_a_connector_schedules_its_discoveries_and_deleting_it_stops_them(exchange):
    connector = ExchangeConnector(name="Contoso", site=SiteFactory(code="P01"), authentication="basic",
                                  username=DEFAULT_ACCOUNT[0], port=exchange.port, delta_interval_minutes=120,
                                  full_discovery_days=2)
    servers = [("HQ", exchange.server_address("EXCAS01"))]
    connectors.connector_save(connector=connector, servers=servers, user=None, password=DEFAULT_ACCOUNT[1])
    assert not Schedule.objects.filter(name__startswith=f"connector-{connector.pk}-discovery").exists()
    assert easconsole_tasks.install_connector(connector.pk) == "Installed Contoso."
    full = Schedule.objects.get(name=schedule_name(connector.pk, "full"))
    delta = Schedule.objects.get(name=schedule_name(connector.pk, "delta"))
    assert (full.func, full.args, full.minutes) == ("devices.tasks.scheduled_discovery", repr((connector.pk, "full")), 2880)
    assert (full.next_run.hour, full.next_run.minute) == (2, 0)
    assert (delta.func, delta.minutes) == ("devices.tasks.scheduled_discovery", 120)
    assert Schedule.objects.filter(name__in=["discovery-fail-stale-runs", "discovery-purge-missing-devices",
                                             "devices-fleet-snapshot"]).count() == 3

    connector.refresh_from_db()
    connector.delta_interval_minutes = 30
    connectors.connector_save(connector=connector, servers=servers, user=None)
    assert Schedule.objects.get(name=schedule_name(connector.pk, "delta")).minutes == 30
    connectors.connector_delete(connector=connector, user=None)
    assert not Schedule.objects.filter(name__startswith=f"connector-{connector.pk}-").exists()


def test_a_request_is_queued_audited_and_a_second_one_refused(exchange, django_capture_on_commit_callbacks):
    connector = installed_connector(exchange, install=False)
    admin = make_persona("full_admin")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        run = discovery.discovery_request(connector=connector, kind="full", user=admin, address="10.0.0.9")
    assert run.state == DiscoveryRun.State.QUEUED and run.requested_by == admin and len(callbacks) == 1
    event = AuditEvent.objects.get(action="request full discovery")
    assert (event.username, event.address, event.object_repr) == ("full_admin", "10.0.0.9", "Contoso")
    with pytest.raises(ValidationError, match="already queued"):
        discovery.discovery_request(connector=connector, kind="delta", user=admin)
    with pytest.raises(PermissionDenied):
        discovery.discovery_request(connector=connector, kind="full", user=make_persona("analyst"))

    assert tasks.run_discovery(run.pk).startswith("Full discovery of Contoso: 30 read, 30 added")
    assert Device.objects.filter(connector=connector).count() == 30


def test_nothing_is_discovered_before_the_connector_is_installed(exchange):
    connector = installed_connector(exchange, install=False)
    ExchangeConnector.objects.filter(pk=connector.pk).update(state=ExchangeConnector.State.FAILED)
    connector.refresh_from_db()
    with pytest.raises(ValidationError, match="not installed"):
        discovery.discovery_request(connector=connector, kind="full", user=make_persona("full_admin"))
    assert "not installed" in tasks.scheduled_discovery(connector.pk, "full")


def test_the_task_rechecks_the_requesters_permission(exchange):
    connector = installed_connector(exchange, install=False)
    run = DiscoveryRun.objects.create(connector=connector, kind="full", requested_by=make_persona("analyst"))
    assert "refused" in tasks.run_discovery(run.pk)
    run.refresh_from_db()
    assert run.state == DiscoveryRun.State.FAILED and "may no longer" in run.error
    assert not Device.objects.exists()


def test_the_schedule_skips_while_a_discovery_runs(exchange):
    connector = installed_connector(exchange, install=False)
    running = new_run(connector)
    discovery.runs.claim(running)
    assert tasks.scheduled_discovery(connector.pk, "delta").startswith("Skipped")
    discovery.runs.fail(running, "stopped by the test")
    # No earlier successful discovery: the scheduled delta reads everything.
    assert tasks.scheduled_discovery(connector.pk, "delta").startswith("Full discovery of Contoso: 30 read")


def test_the_discover_command_runs_and_prints_its_figures(exchange):
    connector = installed_connector(exchange, install=False)
    out = io.StringIO()
    call_command("discover", "contoso", "--full", stdout=out)
    text = out.getvalue()
    assert "Full discovery of Contoso" in text and "Reading devices and statistics" in text
    assert "devices/s): 30 read, 30 added, 0 changed, 0 no longer in Exchange, 0 ignored" in text
    out = io.StringIO()
    call_command("discover", str(connector.pk), "--delta", stdout=out)
    assert "Delta discovery of Contoso" in out.getvalue() and "0 added" in out.getvalue()
    with pytest.raises(CommandError, match="No Exchange Server connector"):
        call_command("discover", "Fabrikam", "--full", stdout=io.StringIO())
    exchange.stop_server("EXCAS01")
    try:
        with pytest.raises(CommandError, match="Discovery failed"):
            call_command("discover", "Contoso", "--full", stdout=io.StringIO())
    finally:
        exchange.start_server("EXCAS01")


@pytest.mark.timeout(120)
def test_a_requested_discovery_runs_on_a_real_worker(exchange, qcluster, client):
    connector = installed_connector(exchange, install=False)
    ExchangeConnector.objects.filter(pk=connector.pk).update(known_servers=[])
    client.force_login(make_persona("full_admin"))
    response = client.post(reverse("devices:connector_discover", args=[connector.pk, "full"]))
    run = DiscoveryRun.objects.get(connector=connector)
    assert response.status_code == 302 and response["Location"] == reverse("devices:discoveryrun_detail", args=[run.pk])

    def finished():
        run.refresh_from_db()
        return run.state in (DiscoveryRun.State.SUCCEEDED, DiscoveryRun.State.FAILED)

    wait_until(finished, timeout=90, interval=0.2, message="the worker did not finish the discovery")
    assert run.state == DiscoveryRun.State.SUCCEEDED, run.error
    assert Device.objects.filter(connector=connector).count() == run.devices_seen == 30
    page = client.get(reverse("devices:discoveryrun_detail", args=[run.pk]))
    assert b"Succeeded" in page.content and b"30" in page.content


def test_a_full_discovery_takes_the_days_fleet_snapshot_and_a_delta_does_not(exchange):
    from devices.models import FleetSnapshot

    connector = installed_connector(exchange)
    run = discovery.full_discovery(new_run(connector))
    assert run.state == DiscoveryRun.State.SUCCEEDED, run.error
    snapshot = FleetSnapshot.objects.get()
    assert snapshot.total == Device.objects.count() > 0
    assert sum(snapshot.sync_ages) == snapshot.total == sum(snapshot.access_states.values())
    FleetSnapshot.objects.all().delete()
    assert discovery.delta_discovery(new_run(connector, "delta")).state == DiscoveryRun.State.SUCCEEDED
    assert not FleetSnapshot.objects.exists()
    assert discovery.full_discovery(new_run(connector)).state == DiscoveryRun.State.SUCCEEDED
    assert FleetSnapshot.objects.count() == 1
