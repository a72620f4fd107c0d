"""The REST API's browsable docs (/api/docs/): Swagger UI from the console's own static files, under its strict
Content-Security-Policy, with "Try it out" answered through the session."""
import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import sign_in
from tests.browser.test_accessibility import AXE, SERIOUS
from tests.personas import PASSWORD, make_persona

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_analyst_browses_the_operations_and_tries_one(page, screenshot):
    errors = []  # besides the CSP violations the fixture fails on: any script error or failed load of the page
    page.on("console", lambda message: errors.append(f"{message.text} ({message.location['url']})")
            if message.type == "error" and not message.location["url"].endswith("/favicon.ico") else None)  # the console has none
    page.on("pageerror", lambda error: errors.append(str(error)))
    make_persona("analyst")
    sign_in(page, "analyst", PASSWORD)
    page.goto("/api/docs/")
    expect(page.get_by_role("heading", name="EAS Console API")).to_be_visible()
    docs = page.get_by_test_id("api-docs")
    for method, path in (("POST", "/api/offboardings/"), ("GET", "/api/cleanup-runs/{id}/"), ("POST", "/api/devices/{id}/wipe/")):
        expect(docs.locator(f".opblock-{method.lower()}", has=page.locator(f"[data-path='{path}']"))).to_be_visible()
    screenshot(page, "api-docs")

    devices = docs.locator(".opblock-get", has=page.locator("[data-path='/api/devices/']"))
    devices.locator(".opblock-summary-control").click()
    devices.get_by_role("button", name="Try it out").click()
    devices.get_by_role("button", name="Execute").click()
    answer = devices.locator(".live-responses-table tbody .response-col_status")
    expect(answer).to_have_text(re.compile("200"))
    answer.scroll_into_view_if_needed()
    screenshot(page, "api-docs-tried")
    page.get_by_role("button", name="Dark mode").click()
    screenshot(page, "api-docs-dark")
    assert not errors, errors


def test_signing_in_is_asked_first(page):
    page.goto("/api/docs/")
    expect(page.get_by_label("User name")).to_be_visible()


def test_the_docs_pass_axe_with_an_operation_open(browser, console_server):
    """tests/browser/test_accessibility.py leaves /api/ out; this page is checked here once Swagger UI has drawn it."""
    context = browser.new_context(base_url=console_server.url, viewport={"width": 1366, "height": 800}, bypass_csp=True,
                                  color_scheme="dark")
    page = context.new_page()
    make_persona("operator")
    sign_in(page, "operator", PASSWORD)
    page.goto("/api/docs/")
    offboarding = page.locator(".opblock-post", has=page.locator("[data-path='/api/offboardings/']"))
    offboarding.locator(".opblock-summary-control").click()
    expect(offboarding.get_by_role("button", name="Try it out")).to_be_visible()
    page.add_script_tag(path=str(AXE))
    found = page.evaluate(SERIOUS)
    context.close()
    assert not found, "\n".join(found)
