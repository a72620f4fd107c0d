"""The browser harness: Playwright's Python package driving Debian's chromium against a live server.

Screenshots go to test-artifacts/screenshots/. Chromium is never downloaded: the README's test
command installs Debian's package, and a missing browser fails these tests instead of skipping them.
"""
import os
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("EASCONSOLE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Debian's chromium is needed at {CHROMIUM}: run the README's test command, which installs it.")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in the test thread; the ORM calls the tests make
    # there are synchronous and safe.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()
    del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]


def csp_watched(context):
    """A new page of the context, and the Content-Security-Policy violations any page of the context reports.

    Chromium reports each script, style or image the policy refused on the page's console
    ("Refused to ... because it violates the following Content Security Policy directive").
    """
    violations = []
    context.on("console", lambda message: violations.append(f"{message.page.url if message.page else '?'}: {message.text}")
               if "Content Security Policy" in message.text else None)
    return context.new_page(), violations


def no_csp_violation(violations) -> None:
    assert not violations, "The browser refused content under the Content-Security-Policy:\n" + "\n".join(violations)


@pytest.fixture
def page(browser, console_server):
    context = browser.new_context(base_url=console_server.url, viewport={"width": 1366, "height": 800})
    context.set_default_timeout(10_000)
    page, violations = csp_watched(context)
    yield page
    context.close()
    no_csp_violation(violations)


@pytest.fixture
def phone(browser, console_server):
    """A page in a phone-sized window."""
    context = browser.new_context(base_url=console_server.url, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    context.set_default_timeout(10_000)
    page, violations = csp_watched(context)
    yield page
    context.close()
    no_csp_violation(violations)


@pytest.fixture
def screenshot():
    """``screenshot(page, "name")`` saves a full-page PNG and returns its path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        assert path.stat().st_size > 0
        return path

    return take


def sign_in(page, username: str, password: str) -> None:
    page.goto("/")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
