"""The REST API's browsable docs (/api/docs/): Swagger UI from the console's own static files, under its strict
Content-Security-Policy, with "Try it out" answered through the session."""
import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import sign_in
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
