"""Reports in a browser: an auditor (Read-only Analyst) lands in Reports and opens each device report;
screenshots of each page, and of the inactive devices report as printed."""
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from devices.services import refresh_memberships
from easconsole.models import ExchangeConnector
from policies.models import AccessRule, ConnectorPolicy
from tests.browser.conftest import sign_in
from tests.factories import DeviceFactory, SiteFactory
from tests.personas import PASSWORD, make_persona

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def fleet(console_server):
    now = timezone.now()
    site = SiteFactory(code="P01")
    contoso = ExchangeConnector.objects.create(name="Contoso Exchange", site=site)
    fabrikam = ExchangeConnector.objects.create(name="Fabrikam Exchange", site=site)
    ConnectorPolicy.objects.create(connector=contoso, default_access_level="Quarantine", admin_mail_recipients=["it@contoso.com"],
                                   settings={"DevicePasswordEnabled": True, "MinDevicePasswordLength": 6, "AllowCamera": False,
                                             "MaxEmailAgeFilter": "TwoWeeks"})
    AccessRule.objects.create(connector=contoso, characteristic="DeviceType", query_string="PalmPre", access_level="Block")
    AccessRule.objects.create(connector=contoso, characteristic="DeviceModel", query_string="iPhone15C2", access_level="Allow")
    kinds = [("iPhone", "iOS 17.5.1 21F90", "Allowed", "AppliedInFull"), ("iPad", "iOS 16.7.8 20H343", "Allowed", "PartiallyApplied"),
             ("SAMSUNGSMG998B", "Android 14.0.0", "Quarantined", "NotApplied"),
             ("WindowsMail", "Windows 10.0.22631", "Blocked", "AppliedInFull"),
             ("Outlook", "Outlook for iOS and Android 1.0", "Allowed", "ExternallyManaged")]
    for n in range(30):
        device_type, os, access, status = kinds[n % 5 if n % 3 else 0]
        DeviceFactory(user=f"user{n:02d}", device_type=device_type, device_os=os, access_state=access,
                      policy_application_status=status, connector=contoso if n % 4 else fabrikam,
                      last_success_sync=now - timedelta(days=[1, 40, 70, 120, 400, 2][n % 6]))
    refresh_memberships()


def test_an_auditor_opens_every_device_report(page, screenshot, fleet):
    make_persona("analyst")
    sign_in(page, "analyst", PASSWORD)
    page.locator('[data-workspace="reports"]').click()
    expect(page.get_by_role("heading", name="Reports", exact=True)).to_be_visible()
    screenshot(page, "reports-overview")

    page.get_by_role("link", name="Devices by OS, type and access state").click()
    expect(page.get_by_role("heading", name="Devices by operating system, type and access state")).to_be_visible()
    expect(page.get_by_test_id("os-ios")).to_have_text("18")
    screenshot(page, "report-inventory")

    page.get_by_role("link", name="Inactive mobile devices").click()
    expect(page.get_by_test_id("result-count")).to_contain_text("20 devices have not synced for more than 30 days")
    page.get_by_label("Not synced for more than (days)").fill("100")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_test_id("result-count")).to_contain_text("10 devices")
    screenshot(page, "report-inactive")
    page.emulate_media(media="print")
    expect(page.locator(".console-nav")).to_be_hidden()
    expect(page.locator(".console-filter")).to_be_hidden()
    screenshot(page, "report-inactive-print")
    page.emulate_media(media="screen")

    page.get_by_role("link", name="Compliance with the connector's settings").click()
    expect(page.get_by_text("Devices that did not apply the settings in full")).to_be_visible()
    screenshot(page, "report-compliance")

    page.get_by_role("link", name="Settings summary").click()
    expect(page.get_by_test_id("default-access").first).to_have_text("Quarantine")
    screenshot(page, "report-settings")
    page.emulate_media(media="print")
    screenshot(page, "report-settings-print")
