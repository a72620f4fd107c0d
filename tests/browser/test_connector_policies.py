"""The Settings and Access Rules tabs in a browser: an administrator changes them, an auditor reads them."""
import pytest
from playwright.sync_api import expect

from easconsole.models import ExchangeConnector
from policies.models import AccessRule, ConnectorPolicy
from tests.browser.conftest import sign_in
from tests.factories import SiteFactory
from tests.personas import PASSWORD, make_persona

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def connector(console_server):
    return ExchangeConnector.objects.create(name="Contoso Exchange", site=SiteFactory(code="P01"))


def test_full_administrator_configures_settings_and_rules(page, screenshot, connector):
    make_persona("full_admin")
    sign_in(page, "full_admin", PASSWORD)
    page.goto(f"/administration/exchange-connectors/{connector.pk}/settings/")
    expect(page.get_by_role("heading", name="Properties: Contoso Exchange — Settings")).to_be_visible()
    page.get_by_label("Minimum password length (characters)").fill("20")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Minimum password length must be between 1 and 16.")).to_be_visible()
    page.get_by_label("Minimum password length (characters)").fill("8")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("set “Require password settings on mobile devices” to Required")).to_be_visible()
    page.get_by_label("Require password settings on mobile devices").select_option(label="Required")
    page.get_by_label("Bluetooth").select_option(label="Hands-free only")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Saved the settings of Contoso Exchange.")).to_be_visible()
    assert ConnectorPolicy.objects.get().settings == {"DevicePasswordEnabled": True, "MinDevicePasswordLength": 8,
                                                      "AllowBluetooth": "HandsfreeOnly"}
    page.set_viewport_size({"width": 1366, "height": 3600})  # the content pane scrolls: show all of it
    screenshot(page, "policies-settings-full-admin")
    page.set_viewport_size({"width": 1366, "height": 800})

    page.get_by_role("link", name="Access Rules").click()
    page.get_by_label("Default access level").select_option("Quarantine")
    page.get_by_label("Administrators who receive quarantine email").fill("helpdesk@contoso.com")
    rows = page.locator("#access-rule-rows tr")
    rows.nth(0).get_by_label("Query string").fill("ContosoPhone")
    rows.nth(0).get_by_label("Characteristic").select_option("DeviceModel")
    rows.nth(0).get_by_label("Access level").select_option("Block")
    page.get_by_role("button", name="Add rule").click()
    rows.nth(1).get_by_label("Query string").fill("iPhone")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Saved the access rules of Contoso Exchange.")).to_be_visible()
    assert sorted(f"{r} {r.access_level}" for r in AccessRule.objects.all()) == [
        "ContosoPhone (DeviceModel) Block", "iPhone (DeviceType) Allow"]
    page.set_viewport_size({"width": 1366, "height": 1500})
    screenshot(page, "policies-access-rules-full-admin")


def test_auditor_reads_the_settings(page, screenshot, connector):
    make_persona("analyst")
    sign_in(page, "analyst", PASSWORD)
    page.goto(f"/administration/exchange-connectors/{connector.pk}/settings/")
    expect(page.get_by_test_id("read-only")).to_be_visible()
    expect(page.get_by_label("Camera")).to_be_disabled()
    expect(page.get_by_role("button", name="Save")).to_have_count(0)
    page.set_viewport_size({"width": 1366, "height": 3600})
    screenshot(page, "policies-settings-read-only")
