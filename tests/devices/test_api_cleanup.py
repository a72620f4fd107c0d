"""Stale-device cleanup runs through the API, read only: each run's frozen candidates and their outcomes, on the
connectors of the sites one may read (as the run's page)."""
import pytest
from django.urls import reverse

from devices.cleanup.models import CleanupCandidate, CleanupRun
from devices.models import DeviceAction
from easconsole.models import ExchangeConnector
from tests.devices.test_api import as_
from tests.factories import DeviceFactory, SiteFactory
from tests.personas import make_persona, make_user

pytestmark = pytest.mark.django_db
LIST = reverse("api:cleanuprun-list")


def a_run(site_code: str) -> CleanupRun:
    """An approved run of a connector on the site: one device removed, one skipped."""
    connector = ExchangeConnector.objects.create(name=f"Exchange {site_code}", site=SiteFactory(code=site_code))
    run = CleanupRun.objects.create(connector=connector, state=CleanupRun.State.FINISHED, days_not_synced=90, stale_found=2,
                                    not_synced_since="2026-09-01T00:00:00Z", previewed_by_name="operator",
                                    approved_by_name="admin", approved="2026-12-01T10:00:00Z")
    old, back = DeviceFactory(user="leaver", connector=connector), DeviceFactory(user="traveller", connector=connector)
    delete = DeviceAction.objects.create(device=old, device_name=old.name, device_identity=old.identity, kind="delete",
                                         state="done", requested_by_name="admin", finished_at="2026-12-01T10:01:00Z")
    for device, outcome, action in ((old, "requested", delete), (back, "skipped", None)):
        CleanupCandidate.objects.create(run=run, device=device, device_name=device.name, device_identity=device.identity,
                                        exchange_device_id=device.device_id, user=device.mailbox, outcome=outcome, action=action,
                                        reason="It synced since the preview." if action is None else "",
                                        handled="2026-12-01T10:01:00Z")
    return run


@pytest.mark.parametrize("persona", ["analyst", "operator", "full_admin"])
def test_console_readers_read_runs_with_their_candidates_and_outcomes(client, persona):
    run = a_run("P01")
    as_(client, make_persona(persona))
    [listed] = client.get(LIST).json()["results"]
    assert listed["id"] == run.pk and listed["state"] == "finished" and "candidates" not in listed
    detail = client.get(reverse("api:cleanuprun-detail", args=[run.pk])).json()
    assert detail["summary"] == {"listed": 2, "removed": 1, "failed": 0, "skipped": 1, "waiting": 0}
    outcomes = {c["device_name"]: (c["result"], c["explanation"]) for c in detail["candidates"]}
    assert outcomes == {"leaver_iPhone": ("Removed", ""), "traveller_iPhone": ("Skipped", "It synced since the preview.")}
    assert {c["action_state"] for c in detail["candidates"]} == {"done", None}


def test_an_end_user_reads_no_run(client):
    run = a_run("P01")
    as_(client, make_persona("end_user"))
    assert client.get(LIST).status_code == 403
    assert client.get(reverse("api:cleanuprun-detail", args=[run.pk])).status_code == 403


def test_a_reader_of_one_site_sees_only_its_runs(client):
    mine, theirs = a_run("P01"), a_run("P02")
    as_(client, make_user("scoped", "Read-only Analyst", sites=[mine.connector.site]))
    assert [r["id"] for r in client.get(LIST).json()["results"]] == [mine.pk]
    assert client.get(reverse("api:cleanuprun-detail", args=[theirs.pk])).status_code == 404


def test_runs_are_read_only(client):
    run = a_run("P01")
    as_(client, make_persona("full_admin"))
    assert client.post(LIST, {}, content_type="application/json").status_code == 405
    assert client.post(reverse("api:cleanuprun-detail", args=[run.pk]), {}, content_type="application/json").status_code == 405
    assert CleanupRun.objects.get().state == "finished"
