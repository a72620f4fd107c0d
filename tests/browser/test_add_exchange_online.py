"""Adding an Exchange Online connector in a browser: the application's page, its sign-in tested against
the simulated tenant, and the installation by a real django-q2 worker."""
import re

import pytest
from playwright.sync_api import expect

from easconsole.exchange.simulator.online import SimulatedTenant
from easconsole.exchange.simulator.testing import running_simulator
from easconsole.models import ExchangeConnector
from tests.browser.conftest import sign_in
from tests.factories import SiteFactory
from tests.personas import PASSWORD, make_persona

pytestmark = [pytest.mark.browser, pytest.mark.simulator, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def tenant():
    with running_simulator(devices=20) as sim, SimulatedTenant(sim.org) as running:
        yield running


def test_full_administrator_adds_an_exchange_online_connector(page, qcluster, tenant, screenshot):
    SiteFactory(code="P01", name="Primary site")
    make_persona("full_admin")
    sign_in(page, "full_admin", PASSWORD)
    page.get_by_role("link", name="Administration", exact=True).click()  # administrators land on the dashboard
    page.get_by_role("link", name="Add Exchange Server").click()

    page.locator("#id_general-name").fill("Contoso Online")
    page.get_by_role("radio", name="Exchange Online").check()
    page.locator("#id_general-site").select_option(label="P01 - Primary site")
    page.locator("#id_general-online_tenant").fill("contoso onmicrosoft")
    page.get_by_role("button", name="Next").click()
    expect(page.locator("#id_general-online_tenant")).to_have_class(re.compile("is-invalid"))
    page.locator("#id_general-online_tenant").fill(tenant.domain)
    page.get_by_role("button", name="Next").click()

    # Account: only the application's fields
    expect(page.get_by_label("Application (client) ID")).to_be_visible()
    expect(page.locator("#id_account-authentication")).to_have_count(0)
    page.get_by_label("Application (client) ID").fill(tenant.app_id)
    page.locator("#id_account-password").fill(tenant.app_credential.split("-----BEGIN PRIVATE KEY-----")[0])
    page.locator("#id_account-online_endpoint").fill(tenant.url)
    page.locator("#id_account-online_authority").fill(tenant.url)
    with open(tenant.ca_file) as handle:
        page.locator("#id_account-ca_bundle").fill(handle.read())
    page.get_by_role("button", name="Test connection").click()
    expect(page.get_by_text("The certificate has no private key")).to_be_visible()
    screenshot(page, "wizard-online-account-no-key")
    page.locator("#id_account-password").fill(tenant.app_credential)
    page.get_by_role("button", name="Test connection").click()
    expect(page.get_by_test_id("connection-test")).to_contain_text("Signed in to Exchange Online (Contoso)")
    screenshot(page, "wizard-online-account")
    for _step in ("Discovery", "Settings", "Access Rules"):
        page.get_by_role("button", name="Next").click()
    page.get_by_role("button", name="Next").click()
    expect(page.locator(".wizard-steps .current")).to_have_text("Summary")
    expect(page.get_by_test_id("connection-test")).to_contain_text("Connection test succeeded")
    page.get_by_role("button", name="Finish").click()
    expect(page.get_by_test_id("install-result")).to_contain_text("completed successfully", timeout=60_000)

    connector = ExchangeConnector.objects.get(name="Contoso Online")
    assert connector.is_online and str(connector.organization_guid) == tenant.tenant_id
    page.goto(connector.get_absolute_url())
    expect(page.get_by_text(tenant.app_id)).to_be_visible()
    screenshot(page, "connector-online-details")
