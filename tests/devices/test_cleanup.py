"""Stale-device cleanup against the simulated organization (pypsrp over loopback): the dry run is what
is removed, the monthly cap and the open-wipe guard hold, a device that synced since is kept."""
import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone

from devices.actions import services as actions
from devices.cleanup import selectors, services
from devices.cleanup.models import CleanupRule, CleanupRun
from devices.models import DeviceAction
from easconsole.exchange.simulator.testing import DEFAULT_ACCOUNT, running_simulator
from easconsole.models import AuditEvent
from tests.console import discovered, exchange_truth, installed_connector
from tests.personas import make_persona, make_user

pytestmark = [pytest.mark.django_db, pytest.mark.simulator]
DAYS = 90


@pytest.fixture(scope="module")
def exchange():
    with running_simulator(devices=60) as sim:
        yield sim


@pytest.fixture
def connector(exchange, control, settings):
    control.reset()  # every test starts from the generated organization
    settings.EASCONSOLE_CLEANUP_BATCH_SIZE = 3
    settings.EASCONSOLE_CLEANUP_BATCH_PAUSE_SECONDS = 0
    connector = installed_connector(exchange)
    discovered(connector)
    CleanupRule.objects.create(connector=connector, enabled=True, days_not_synced=DAYS)
    yield connector
    control.request("POST", "/throttle", {"account": DEFAULT_ACCOUNT[0], "max_sessions": None, "max_cmdlets": None})


@pytest.fixture
def people(db):
    return {"operator": make_persona("operator"), "admin": make_persona("full_admin"),
            "admin2": make_user("second-admin", "Full Administrator")}


def in_exchange(connector) -> set[str]:
    pairs, _mailboxes = exchange_truth(connector)
    return {device.identity for device, _statistics in pairs}


def stale_in_exchange(connector) -> set[str]:
    """What Exchange itself says has not synced for DAYS days (first sync if never)."""
    limit = timezone.now() - dt.timedelta(days=DAYS)
    pairs, _mailboxes = exchange_truth(connector)
    return {d.identity for d, s in pairs if (s.last_success_sync or s.first_sync_time) < limit
            and s.status not in selectors.WIPE_STATUSES}


def listed(run) -> set[str]:
    return set(run.candidates.values_list("device_identity", flat=True))


def run_to_end(run) -> CleanupRun:
    """What the worker and its schedule do: one step per batch until the run ends."""
    for _ in range(60):
        run.refresh_from_db()
        if run.state != CleanupRun.State.APPROVED:
            return run
        services.cleanup_step(run.pk)
    raise AssertionError("the run did not end")


def removes_sent(control) -> list[str]:
    return [c["parameters"]["Identity"] for c in control.calls(control.since)
            if c["cmdlet"] == "Remove-ActiveSyncDevice" and not c.get("throttled")]


def test_the_dry_run_is_exactly_what_is_removed_in_batches_each_audited(connector, people, control):
    before = in_exchange(connector)
    run = services.cleanup_preview(connector=connector, user=people["operator"])
    frozen = listed(run)
    assert len(frozen) >= 7 and frozen == stale_in_exchange(connector)  # more than two batches of 3
    assert in_exchange(connector) == before and removes_sent(control) == []  # a dry run removes nothing

    services.cleanup_approve(run=run, user=people["admin"])
    services.cleanup_step(run.pk)
    assert len(removes_sent(control)) == 3  # one batch
    run = run_to_end(run)

    assert run.state == CleanupRun.State.FINISHED
    assert set(removes_sent(control)) == frozen and len(removes_sent(control)) == len(frozen)
    assert in_exchange(connector) == before - frozen
    assert services.summary(run) == {"listed": len(frozen), "removed": len(frozen), "failed": 0, "skipped": 0, "waiting": 0}
    deletes = DeviceAction.objects.filter(kind=DeviceAction.Kind.DELETE)
    assert {a.device_identity for a in deletes} == frozen and {a.state for a in deletes} == {DeviceAction.State.DONE}
    assert {a.requested_by for a in deletes} == {people["admin"]}
    done = AuditEvent.objects.filter(action="delete done", user=people["admin"])
    assert done.count() == len(frozen)
    assert AuditEvent.objects.filter(action="approve stale-device cleanup", user=people["admin"]).exists()
    assert AuditEvent.objects.filter(action="preview stale-device cleanup", user=people["operator"]).exists()


def test_the_monthly_cap_limits_the_preview_across_runs_and_holds_at_removal(connector, people, settings):
    stale = stale_in_exchange(connector)
    settings.EASCONSOLE_CLEANUP_MONTHLY_CAP = 4
    first = services.cleanup_preview(connector=connector, user=people["operator"])
    assert first.stale_found == len(stale) > 4 and first.candidates.count() == 4 and first.cap_remaining == 4
    services.cleanup_approve(run=first, user=people["admin"])
    assert run_to_end(first).state == CleanupRun.State.FINISHED and services.summary(first)["removed"] == 4

    second = services.cleanup_preview(connector=connector, user=people["operator"])
    assert second.candidates.count() == 0 and second.cap_remaining == 0  # the month's cap is spent
    with pytest.raises(services.CleanupRefused):
        services.cleanup_approve(run=second, user=people["admin"])

    # The cap is checked again at each removal: lowered after an approval, it still holds.
    settings.EASCONSOLE_CLEANUP_MONTHLY_CAP = 8
    third = services.cleanup_preview(connector=connector, user=people["operator"])
    assert third.candidates.count() == 4
    services.cleanup_approve(run=third, user=people["admin"])
    settings.EASCONSOLE_CLEANUP_MONTHLY_CAP = 6
    run_to_end(third)
    assert selectors.removals_this_month() == 6 and services.summary(third)["removed"] == 2
    skipped = third.candidates.filter(outcome="skipped")
    assert skipped.count() == 2 and all("monthly cap of 6" in c.reason for c in skipped)


def wipe(device, user):
    action = actions.action_request(device=device, kind=DeviceAction.Kind.WIPE, user=user)
    actions.action_execute(action.pk)
    action.refresh_from_db()
    assert action.state == DeviceAction.State.SENT
    return action


def test_a_device_with_an_open_wipe_is_never_listed_nor_removed(connector, people, control):
    stale = list(selectors.stale_devices(connector, DAYS))
    before_preview, after_preview = stale[0], stale[1]
    wipe(before_preview, people["operator"])
    run = services.cleanup_preview(connector=connector, user=people["operator"])
    assert before_preview.identity not in listed(run) and after_preview.identity in listed(run)

    late = wipe(after_preview, people["operator"])  # requested between the preview and its approval
    services.cleanup_approve(run=run, user=people["admin"])
    run_to_end(run)
    candidate = run.candidates.get(device=after_preview)
    assert candidate.outcome == "skipped" and "A wipe of this device is open" in candidate.reason
    assert after_preview.identity not in removes_sent(control) and before_preview.identity not in removes_sent(control)
    assert {after_preview.identity, before_preview.identity} <= in_exchange(connector)
    late.refresh_from_db()
    assert late.state in DeviceAction.OPEN  # the wipe goes on
    assert services.summary(run)["removed"] == len(listed(run)) - 1


def test_a_device_that_synced_since_the_preview_is_skipped(connector, people, control):
    run = services.cleanup_preview(connector=connector, user=people["operator"])
    back = run.candidates.first()
    control.sync_device(back.device_identity)  # it turns up again
    services.cleanup_approve(run=run, user=people["admin"])
    run_to_end(run)
    back.refresh_from_db()
    assert back.outcome == "skipped" and "after the preview" in back.reason
    assert back.device_identity in in_exchange(connector) and back.device_identity not in removes_sent(control)
    assert services.summary(run)["removed"] == run.candidates.count() - 1


def test_throttling_holds_the_batches_back_as_long_as_exchange_asks(connector, people, control):
    run = services.cleanup_preview(connector=connector, user=people["operator"])
    services.cleanup_approve(run=run, user=people["admin"])
    control.throttle(DEFAULT_ACCOUNT[0], max_cmdlets=0, period_seconds=120)
    services.cleanup_step(run.pk)
    run.refresh_from_db()
    assert run.state == CleanupRun.State.APPROVED and "throttled" in run.error
    assert run.next_step - timezone.now() > dt.timedelta(seconds=100)  # the back-off Exchange named
    assert services.cleanup_step(run.pk) is None  # a step arriving early does nothing
    assert removes_sent(control) == []

    control.request("POST", "/throttle", {"account": DEFAULT_ACCOUNT[0], "max_cmdlets": None})
    CleanupRun.objects.filter(pk=run.pk).update(next_step=timezone.now())  # the time comes
    assert run_to_end(run).state == CleanupRun.State.FINISHED
    assert set(removes_sent(control)) == listed(run)


def test_only_another_full_administrator_approves(connector, people):
    run = services.cleanup_preview(connector=connector, user=people["admin"])
    with pytest.raises(PermissionDenied):
        services.cleanup_approve(run=run, user=people["operator"])
    assert AuditEvent.objects.filter(action="approve stale-device cleanup", outcome="denied", user=people["operator"]).exists()
    with pytest.raises(services.CleanupRefused, match="another Full Administrator"):
        services.cleanup_approve(run=run, user=people["admin"])
    services.cleanup_approve(run=run, user=people["admin2"])
    run.refresh_from_db()
    assert run.state == CleanupRun.State.APPROVED and run.approved_by == people["admin2"]
    with pytest.raises(PermissionDenied):
        services.cleanup_preview(connector=connector, user=make_persona("analyst"))


def test_pages_rule_preview_approve_report(connector, people, client, control):
    client.force_login(people["operator"])
    url = reverse("devices:cleanup_rule", args=[connector.pk])
    response = client.post(url, {"enabled": "on", "days_not_synced": "7"})
    assert response.status_code == 400 and "greater than or equal to 30" in response.content.decode()
    assert CleanupRule.objects.get(connector=connector).days_not_synced == DAYS  # nothing lost
    assert client.post(url, {"enabled": "on", "days_not_synced": "120"}).status_code == 302
    assert AuditEvent.objects.filter(action="edit stale-device cleanup rule", user=people["operator"]).exists()

    response = client.post(reverse("devices:cleanup_preview", args=[connector.pk]))
    run = CleanupRun.objects.get(connector=connector)
    assert response["Location"] == run.get_absolute_url() and run.days_not_synced == 120
    page = client.get(run.get_absolute_url()).content.decode()
    assert "Awaiting approval by a Full Administrator" in page
    assert all(c.device_name in page for c in run.candidates.all())
    assert client.post(reverse("devices:cleanuprun_approve", args=[run.pk])).status_code == 403

    client.force_login(people["admin"])
    client.post(reverse("devices:cleanuprun_approve", args=[run.pk]))
    run_to_end(run)
    report = client.get(reverse("devices:report_removed_stale"), {"export": "csv"})
    rows = report.content.decode().splitlines()
    assert len(rows) == 1 + len(listed(run)) and "Removed" in rows[0]
    today = timezone.localdate().isoformat()
    assert client.get(reverse("devices:report_removed_stale"), {"removed_after": today}).context["table"].paginator.count == len(listed(run))
    assert "Stale-device cleanup" in client.get(connector.get_absolute_url()).content.decode()


def test_the_schedule_takes_up_runs_whose_next_batch_is_due(connector, people):
    run = services.cleanup_preview(connector=connector, user=people["operator"])
    assert services.queue_due_runs() == 0  # not approved: nothing to take up
    services.cleanup_approve(run=run, user=people["admin"])
    CleanupRun.objects.filter(pk=run.pk).update(next_step=timezone.now() + dt.timedelta(seconds=30))  # a pause
    assert services.queue_due_runs() == 0
    CleanupRun.objects.filter(pk=run.pk).update(next_step=timezone.now())  # due (or a dead step's lease ran out)
    assert services.queue_due_runs() == 1


def test_the_preview_page_says_when_the_cap_left_stale_devices_out(connector, people, client, settings):
    settings.EASCONSOLE_CLEANUP_MONTHLY_CAP = 2
    client.force_login(people["operator"])
    client.post(reverse("devices:cleanup_preview", args=[connector.pk]))
    run = CleanupRun.objects.get(connector=connector)
    page = client.get(run.get_absolute_url()).content.decode()
    assert run.candidates.count() == 2 and 'data-testid="cap-note"' in page
    assert f"{run.stale_found} devices were stale, but the monthly cap of 2 left 2 removals" in page
    rule_page = client.get(reverse("devices:cleanup_rule", args=[connector.pk])).content.decode()
    assert "<strong>2</strong> left" in rule_page  # nothing approved yet: the whole cap is left
