"""Stale-device cleanup in the browser: the operator sets the rule and previews, a Full Administrator
approves, a real worker removes the frozen list from the simulated organization."""
import pytest
from playwright.sync_api import expect

from devices.cleanup.models import CleanupRun
from easconsole.exchange.simulator.testing import ControlClient, running_simulator, wait_until
from tests.browser.conftest import sign_in
from tests.console import discovered, installed_connector
from tests.personas import PASSWORD, make_persona

pytestmark = [pytest.mark.browser, pytest.mark.simulator, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def exchange():
    with running_simulator(devices=30) as sim:
        yield sim


def test_operator_previews_and_a_full_administrator_approves(page, qcluster, exchange, screenshot):
    control = ControlClient.for_simulator(exchange)
    start = (control.calls() or [{"seq": 0}])[-1]["seq"]
    connector = installed_connector(exchange)
    discovered(connector)
    make_persona("operator"), make_persona("full_admin")
    shots = []

    sign_in(page, "operator", PASSWORD)
    page.goto(connector.get_absolute_url())
    expect(page.get_by_text("Stale-device cleanup").first).to_be_visible()
    page.get_by_test_id("cleanup-link").click()
    page.get_by_label("Enabled").check()
    page.get_by_label("Not synced for (days)").fill("20")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".invalid-feedback, .alert-danger").first).to_contain_text("30")  # never less than 30 days
    page.get_by_label("Not synced for (days)").fill("90")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("alert").first).to_contain_text("is saved")
    expect(page.get_by_test_id("monthly-cap")).to_contain_text("200")
    shots.append(screenshot(page, "cleanup-rule"))
    page.get_by_test_id("cleanup-runs").scroll_into_view_if_needed()
    shots.append(screenshot(page, "cleanup-rule-preview-button"))

    page.get_by_role("button", name="Preview (dry run)").click()
    expect(page.get_by_test_id("run-state")).to_have_text("Awaiting approval")
    run = CleanupRun.objects.get(connector=connector)
    frozen = set(run.candidates.values_list("device_identity", flat=True))
    assert frozen
    expect(page.get_by_test_id("listed")).to_have_text(str(len(frozen)))
    expect(page.get_by_test_id("approval-note")).to_contain_text("Awaiting approval by a Full Administrator")
    shots.append(screenshot(page, "cleanup-preview"))

    page.context.clear_cookies()
    sign_in(page, "full_admin", PASSWORD)
    page.goto(run.get_absolute_url())
    page.get_by_role("button", name="Approve and remove").click()
    expect(page.get_by_role("alert").first).to_contain_text("Approved")
    wait_until(lambda: CleanupRun.objects.get(pk=run.pk).state == CleanupRun.State.FINISHED, timeout=60, interval=0.3,
               message="the worker removed the frozen list")
    expect(page.get_by_test_id("run-state")).to_have_text("Finished")  # the page follows the run by itself
    expect(page.get_by_test_id("removed")).to_have_text(str(len(frozen)))
    expect(page.locator('[data-outcome="Removed"]')).to_have_count(len(frozen))
    removed = {c["parameters"]["Identity"] for c in control.calls(start) if c["cmdlet"] == "Remove-ActiveSyncDevice"}
    assert removed == frozen
    shots.append(screenshot(page, "cleanup-run-finished"))

    page.goto(connector.get_absolute_url())
    page.get_by_test_id("cleanup-link").scroll_into_view_if_needed()
    shots.append(screenshot(page, "cleanup-connector-section"))
    page.goto("/assets/reports/removed-stale-devices/")
    expect(page.get_by_test_id("result-count")).to_contain_text(f"{len(frozen)} item")
    shots.append(screenshot(page, "cleanup-report"))
    assert all(shot.stat().st_size for shot in shots)
