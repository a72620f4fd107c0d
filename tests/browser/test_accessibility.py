"""axe-core over every page of the permission matrix, for every persona that may open it: no critical or
serious violation (WCAG 2 A/AA rules). axe-core is vendored from the npm registry (vendor/axe-core/)."""
from pathlib import Path

import pytest
from django.urls import reverse

from tests.browser.conftest import sign_in
from tests.permission_matrix import OK
from tests.personas import PASSWORD, make_persona
from tests.test_permission_matrix import MATRIX, objects  # noqa: F401  (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
SERIOUS = """async () => (await axe.run(document, {resultTypes: ["violations"]})).violations
  .filter((v) => v.impact === "critical" || v.impact === "serious")
  .map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(", ")}`)"""


def violations(page, url: str) -> list[str]:
    page.goto(url)
    page.add_script_tag(path=str(AXE))
    return [f"{url}: {v}" for v in page.evaluate(SERIOUS)]


# Every persona in light mode; dark mode over the full administrator's pages (every console page), to keep the suite fast.
CASES = [("full_admin", False), ("operator", False), ("analyst", False), ("end_user", False), ("full_admin", True)]


@pytest.mark.parametrize(("persona", "dark"), CASES, ids=[f"{p}-{'dark' if d else 'light'}" for p, d in CASES])
def test_every_page_passes_axe(browser, console_server, objects, persona, dark):  # noqa: F811
    # axe is injected as a script of the test's own: this context alone lets it past the Content-Security-Policy.
    context = browser.new_context(base_url=console_server.url, viewport={"width": 1366, "height": 800}, bypass_csp=True,
                                  color_scheme="dark" if dark else "light")
    page = context.new_page()
    make_persona(persona)
    sign_in(page, persona, PASSWORD)
    found = []
    # The REST API answers JSON, not pages (its schema is fuzzed in tests/easconsole/test_api_schema.py).
    pages = [reverse(name, kwargs=expect.kwargs(objects)) for name, expect in MATRIX.items()
             if expect.get[persona] == OK and not name.startswith("api:")]
    assert pages
    for url in pages:
        found += violations(page, url)
    context.close()
    assert not found, "\n".join(found)
