"""The default access level goes to Quarantine: preview with its count, confirmation, push by a real worker,
and the devices' access state after they sync. Simulator and qcluster are real."""
import pytest
from playwright.sync_api import expect

from devices import discovery
from devices.models import Device
from easconsole.exchange.simulator.testing import ControlClient, running_simulator, wait_until
from policies import selectors, services
from policies.models import PolicyPush
from tests.browser.conftest import sign_in
from tests.console import installed_connector, new_run
from tests.personas import PASSWORD, make_persona

pytestmark = [pytest.mark.browser, pytest.mark.simulator, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def exchange():
    with running_simulator(devices=40, seed=3) as sim:
        yield sim


def pushes_done(connector, count):
    return PolicyPush.objects.filter(connector=connector, state=PolicyPush.State.DONE).count() >= count


def quarantined(connector):
    return set(Device.objects.filter(connector=connector, access_state="Quarantined", missing_since__isnull=True)
               .values_list("pk", flat=True))


def test_default_access_level_quarantine_is_previewed_confirmed_and_reaches_the_devices(page, qcluster, exchange, screenshot):
    control = ControlClient.for_simulator(exchange)
    admin = make_persona("full_admin")
    connector = installed_connector(exchange)
    # What the wizard saved: Allow for devices no rule matches. Its push learns the rules made in Exchange.
    services.access_settings_save(connector=connector, user=admin, default_access_level="Allow", admin_mail_recipients=[],
                                  user_mail_insert="", rules=[])
    wait_until(lambda: pushes_done(connector, 1), timeout=60, interval=0.2, message="the first push ran")
    assert discovery.full_discovery(new_run(connector)).state == "succeeded"
    before = quarantined(connector)
    expected = sum(t.count for t in selectors.what_if(connector, rules=[], default_level="Quarantine")
                   if t.after == "Quarantined")
    assert expected > 5

    sign_in(page, "full_admin", PASSWORD)
    page.goto(f"/administration/exchange-connectors/{connector.pk}/access-rules/")
    page.locator("select[name=default_access_level]").select_option("Quarantine")
    page.get_by_role("button", name="Save").click()
    preview = page.get_by_test_id("access-preview")
    expect(preview).to_contain_text(f"{expected} devices would become Quarantined")
    page.set_viewport_size({"width": 1366, "height": 1800})
    screenshot(page, "policies-access-preview")
    page.set_viewport_size({"width": 1366, "height": 800})

    # The list of those devices.
    page.get_by_test_id("preview-list").click()
    expect(page.get_by_test_id("preview-total")).to_contain_text(f"{expected} devices would change access state.")
    screenshot(page, "policies-access-preview-devices")
    page.go_back()

    # Confirming needs the box ticked.
    page.get_by_role("button", name="Apply this change").click()
    expect(page.get_by_role("alert").filter(has_text="Tick the box to confirm")).to_be_visible()
    page.get_by_label(f"I understand that {expected} devices will be blocked or quarantined.").check()
    page.get_by_role("button", name="Apply this change").click()
    expect(page.get_by_text("Saved the access rules of Contoso.")).to_be_visible()
    wait_until(lambda: pushes_done(connector, 2), timeout=60, interval=0.2, message="the worker pushed the change")
    page.reload()
    expect(page.get_by_test_id("pushes")).to_contain_text("Set-ActiveSyncOrganizationSettings")
    expect(page.get_by_test_id("pushes").locator("tbody tr").first).to_contain_text("Done")
    screenshot(page, "policies-push-done")

    # The devices sync; the next discovery shows their new access state.
    control.sync_all()
    assert discovery.full_discovery(new_run(connector)).state == "succeeded"
    assert len(quarantined(connector) - before) == expected
    page.goto("/assets/devices/?access_state=Quarantined")
    expect(page.locator("main")).to_contain_text("Quarantined")
    assert page.locator("table.console-table tbody tr").count() == len(quarantined(connector))
    screenshot(page, "policies-devices-quarantined")
