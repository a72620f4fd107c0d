"""The Add Exchange Server wizard, end to end: a browser, the console, a real django-q2 worker, the simulator."""
import re

import pytest
from playwright.sync_api import expect

from easconsole.exchange.simulator.testing import DEFAULT_ACCOUNT, ControlClient, running_simulator
from easconsole.models import ExchangeConnector, StatusMessage
from tests.browser.conftest import sign_in
from tests.factories import SiteFactory
from tests.personas import PASSWORD, make_persona

pytestmark = [pytest.mark.browser, pytest.mark.simulator, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def exchange():
    with running_simulator(devices=20) as sim:
        yield sim


def test_full_administrator_adds_an_exchange_server(page, qcluster, exchange, screenshot):
    SiteFactory(code="P01", name="Primary site")
    make_persona("full_admin")
    sign_in(page, "full_admin", PASSWORD)
    page.goto("/administration/exchange-connectors/")
    page.get_by_role("link", name="Add Exchange Server").click()

    # General
    page.locator("#id_general-name").fill("Contoso Exchange")
    page.locator("#id_general-site").select_option(label="P01 - Primary site")
    page.locator("#id_general-servers").fill(f"HQ: {exchange.server_address('EXCAS01')}")
    page.get_by_role("button", name="Next").click()

    # Account: a bad password first, then the right one, tested before going on
    page.locator("#id_account-authentication").select_option("basic")
    page.locator("#id_account-username").fill(DEFAULT_ACCOUNT[0])
    page.locator("#id_account-password").fill("wrong-password")
    page.locator("#id_account-port").fill(str(exchange.port))
    page.get_by_role("button", name="Test connection").click()
    expect(page.get_by_test_id("connection-test")).to_contain_text("Connection test failed")
    page.locator("#id_account-password").fill(DEFAULT_ACCOUNT[1])
    page.get_by_role("button", name="Test connection").click()
    expect(page.get_by_test_id("connection-test")).to_contain_text("Connected to Contoso through EXCAS01")
    screenshot(page, "wizard-account-test-connection")
    page.get_by_role("button", name="Next").click()

    # Discovery, Settings, Access Rules: the defaults
    expect(page.locator(".wizard-steps .current")).to_have_text("Discovery")
    page.get_by_role("button", name="Next").click()
    expect(page.locator(".wizard-steps .current")).to_have_text("Settings")
    screenshot(page, "wizard-settings")
    page.get_by_role("button", name="Next").click()
    expect(page.locator(".wizard-steps .current")).to_have_text("Access Rules")
    page.get_by_role("button", name="Next").click()

    # Summary, then Progress and Completion driven by the worker
    expect(page.locator(".wizard-steps .current")).to_have_text("Summary")
    expect(page.get_by_test_id("connection-test")).to_contain_text("Connection test succeeded")
    screenshot(page, "wizard-summary")
    page.get_by_role("button", name="Finish").click()
    expect(page).to_have_url(re.compile(r"/exchange-connectors/\d+/progress/$"))
    expect(page.get_by_test_id("install-result")).to_contain_text("completed successfully", timeout=60_000)
    screenshot(page, "wizard-completion")

    connector = ExchangeConnector.objects.get(name="Contoso Exchange")
    assert connector.state == ExchangeConnector.State.INSTALLED and connector.organization_name == "Contoso"
    assert StatusMessage.objects.filter(connector=connector, message_id=1015).exists()

    page.goto("/monitoring/status-messages/")
    expect(page.get_by_role("cell", name="1015")).to_be_visible()
    page.goto("/monitoring/logs/?log=SiteComp.log")
    expect(page.get_by_text("Component SMS_EXCHANGE_CONNECTOR flagged for installation")).to_be_visible()
    expect(page.get_by_text(re.compile(r"STATMSG: ID=1015"))).to_be_visible()
    screenshot(page, "monitoring-sitecomp-log")
    page.goto("/monitoring/component-status/")
    expect(page.get_by_role("cell", name="Installed")).to_be_visible()


def test_a_wrong_password_is_not_saved_and_check_connection_now_shows_the_result(page, qcluster, exchange, screenshot):
    SiteFactory(code="P01", name="Primary site")
    make_persona("full_admin")
    sign_in(page, "full_admin", PASSWORD)
    page.goto("/administration/exchange-connectors/add/")
    page.locator("#id_general-name").fill("Contoso Exchange")
    page.locator("#id_general-site").select_option(label="P01 - Primary site")
    page.locator("#id_general-servers").fill(f"HQ: {exchange.server_address('EXCAS01')}")
    page.get_by_role("button", name="Next").click()
    page.locator("#id_account-authentication").select_option("basic")
    page.locator("#id_account-username").fill(DEFAULT_ACCOUNT[0])
    page.locator("#id_account-password").fill("wrong-password")
    page.locator("#id_account-port").fill(str(exchange.port))
    for _step in ("account", "discovery", "settings", "access"):
        page.get_by_role("button", name="Next").click()

    # Summary: the test failed, Basic over HTTP is flagged, and Finish does not save
    expect(page.locator(".wizard-steps .current")).to_have_text("Summary")
    expect(page.get_by_test_id("connection-test")).to_contain_text("Connection test failed")
    expect(page.get_by_test_id("connection-test")).to_contain_text("HTTP 401")
    expect(page.get_by_test_id("password-in-clear")).to_contain_text("The password crosses the network in clear.")
    expect(page.get_by_label("Save without a successful connection test")).not_to_be_checked()
    page.get_by_role("button", name="Finish").click()
    expect(page.get_by_test_id("finish-refused")).to_contain_text("The connector was not saved.")
    page.get_by_role("button", name="Finish").scroll_into_view_if_needed()  # the console scrolls inside its content pane
    screenshot(page, "wizard-summary-finish-refused")
    assert not ExchangeConnector.objects.exists()

    # Back to the account, the right password, and Finish saves and installs
    for _step in ("access", "settings", "discovery", "account"):
        page.get_by_role("button", name="Back").click()
    expect(page.locator(".wizard-steps .current")).to_have_text("Account")
    page.locator("#id_account-password").fill(DEFAULT_ACCOUNT[1])
    for _step in ("account", "discovery", "settings", "access"):
        page.get_by_role("button", name="Next").click()
    expect(page.get_by_test_id("connection-test")).to_contain_text("Connection test succeeded")
    page.get_by_role("button", name="Finish").click()
    expect(page.get_by_test_id("install-result")).to_contain_text("completed successfully", timeout=60_000)
    page.get_by_role("link", name="Close").click()

    # Check connection now, on the connector's page
    expect(page.get_by_test_id("connection-check")).to_contain_text("Not checked yet")
    page.get_by_role("button", name="Check connection now").click()
    expect(page.get_by_test_id("connection-check")).to_contain_text("Succeeded")
    expect(page.get_by_test_id("connection-check")).to_contain_text("Connected to Contoso through EXCAS01")
    expect(page.get_by_test_id("password-in-clear")).to_be_visible()
    screenshot(page, "connector-check-connection-now")

    # ... and from the list's ribbon, for the ticked connector, with the account now lacking cmdlets
    exchange_control = ControlClient.for_simulator(exchange)
    exchange_control.deny(DEFAULT_ACCOUNT[0], ["Clear-ActiveSyncDevice"])
    try:
        page.goto("/administration/exchange-connectors/")
        page.locator("input[name=connector]").first.check()
        page.get_by_role("button", name="Check connection now").click()
        expect(page.get_by_role("alert").filter(has_text="Contoso Exchange:")).to_contain_text("Clear-ActiveSyncDevice")
        expect(page).to_have_url(re.compile(r"/administration/exchange-connectors/$"))
        screenshot(page, "connector-list-check-connection-now")
        page.get_by_role("link", name="Contoso Exchange", exact=True).click()
        expect(page.get_by_test_id("connection-check")).to_contain_text("Failed")
        expect(page.get_by_test_id("connection-check")).to_contain_text("Clear-ActiveSyncDevice — granted by the role group Recipient Management")
        screenshot(page, "connector-check-connection-missing-cmdlet")
    finally:
        exchange_control.grant(DEFAULT_ACCOUNT[0], ["Clear-ActiveSyncDevice"])
        exchange_control.close()
