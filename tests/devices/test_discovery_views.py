"""Monitoring ▸ Discovery and the connector's discovery actions, as each persona sees them."""
import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from devices.models import DiscoveryRun
from easconsole.models import ExchangeConnector, Site
from tests.factories import SiteFactory
from tests.personas import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def connector(db):
    return ExchangeConnector.objects.create(name="Contoso", site=SiteFactory(code="P01"),
                                            state=ExchangeConnector.State.INSTALLED)


def running_run(connector, **fields):
    now = timezone.now()
    return DiscoveryRun.objects.create(connector=connector, kind="full", state="running", phase="Reading devices and statistics",
                                       started=now - dt.timedelta(seconds=10), heartbeat=now, devices_seen=2500, **fields)


def test_full_administrator_runs_a_discovery_from_the_connector(persona_client, connector, django_capture_on_commit_callbacks):
    client = persona_client("full_admin")
    detail = client.get(connector.get_absolute_url()).content.decode()
    full_url = reverse("devices:connector_discover", args=[connector.pk, "full"])
    assert full_url in detail and reverse("devices:connector_discover", args=[connector.pk, "delta"]) in detail
    assert "Last discovery" in detail
    confirm = client.get(full_url).content.decode()
    assert "A full discovery reads every mobile device of Contoso" in confirm
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(full_url)
    run = DiscoveryRun.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("devices:discoveryrun_detail", args=[run.pk])
    assert run.state == "queued" and len(callbacks) == 1
    # A second request while it is queued is refused, with the reason.
    response = client.post(reverse("devices:connector_discover", args=[connector.pk, "delta"]), follow=True)
    assert "already queued" in response.content.decode() and DiscoveryRun.objects.count() == 1
    assert client.get(reverse("devices:connector_discover", args=[connector.pk, "partial"])).status_code == 404


def test_readers_see_runs_and_progress_but_no_actions(persona_client, connector):
    run = running_run(connector)
    client = persona_client("analyst")
    listing = client.get(reverse("devices:discoveryrun_list")).content.decode()
    assert "Reading devices and statistics" in listing and "2500" in listing
    assert 'hx-trigger="every 3s"' in listing  # the list follows running discoveries
    page = client.get(reverse("devices:discoveryrun_detail", args=[run.pk])).content.decode()
    assert 'hx-trigger="every 2s"' in page and "2500" in page and "devices/s" in page
    partial = client.get(reverse("devices:discoveryrun_detail", args=[run.pk]), HTTP_HX_REQUEST="true").content.decode()
    assert partial.lstrip().startswith("<div id=\"discovery-progress\"")
    detail = client.get(connector.get_absolute_url()).content.decode()
    assert "Run full discovery now" not in detail and "Running now" in detail


def test_a_failed_run_says_why_and_stops_refreshing(persona_client, connector):
    run = DiscoveryRun.objects.create(connector=connector, kind="delta", state="failed", error="Running Get-ActiveSyncDevice failed: gone.",
                                      finished=timezone.now())
    page = persona_client("operator").get(reverse("devices:discoveryrun_detail", args=[run.pk])).content.decode()
    assert "Running Get-ActiveSyncDevice failed: gone." in page and "The inventory was left as it was" in page
    assert 'hx-trigger="every' not in page  # nothing polls (the header's search has a trigger of its own)


def test_runs_of_other_sites_are_not_shown(client, connector):
    other = ExchangeConnector.objects.create(name="Fabrikam", site=SiteFactory(code="P02"))
    mine, theirs = running_run(connector), running_run(other)
    user = make_user("p01-reader", "Read-only Analyst", sites=[Site.objects.get(code="P01")], collections=[])
    client.force_login(user)
    listing = client.get(reverse("devices:discoveryrun_list")).content.decode()
    assert "Contoso" in listing and "Fabrikam" not in listing
    assert client.get(reverse("devices:discoveryrun_detail", args=[theirs.pk])).status_code == 404
    assert client.get(reverse("devices:discoveryrun_detail", args=[mine.pk])).status_code == 200


def test_a_running_discovery_shows_progress_against_the_last_run_and_a_title_without_its_state(persona_client, connector):
    DiscoveryRun.objects.create(connector=connector, kind="full", state="succeeded", devices_seen=10_000,
                                finished=timezone.now() - dt.timedelta(days=1))
    run = running_run(connector)  # 2500 read in 10 s: 250 devices/s
    client = persona_client("operator")
    page = client.get(reverse("devices:discoveryrun_detail", args=[run.pk])).content.decode()
    assert "<title>Full discovery of Contoso · EAS Console</title>" in page  # the badge says Running; the title does not contradict it
    assert "2500 of about 10000 devices (25%)" in page and "about 30 seconds left" in page
    assert 'max="10000" value="2500"' in page
    first = DiscoveryRun.objects.create(connector=connector, kind="delta", state="running", started=timezone.now())
    page = client.get(reverse("devices:discoveryrun_detail", args=[first.pk])).content.decode()
    assert "of about" not in page  # no earlier delta discovery: nothing to compare with
