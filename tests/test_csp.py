"""Every page of the console sends a Content-Security-Policy that allows no inline script, no eval and no inline style.

The browser tests (tests/browser/) fail on any violation Chromium reports, so the pages keep to it.
"""
import pytest
from django.urls import reverse

from tests.personas import make_persona
from tests.test_permission_matrix import MATRIX, objects  # noqa: F401 (the matrix's objects fixture)

pytestmark = pytest.mark.django_db


def directives(response) -> dict[str, list[str]]:
    header = response.headers.get("Content-Security-Policy")
    assert header, f"{response.request['PATH_INFO']} ({response.status_code}) sends no Content-Security-Policy"
    parts = (part.split() for part in header.split(";") if part.strip())
    return {name: values for name, *values in parts}


def test_the_policy():
    from django.test import Client

    policy = directives(Client().get(reverse("login")))
    assert policy["default-src"] == ["'self'"] and policy["script-src"] == ["'self'"] and policy["style-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"] and policy["base-uri"] == ["'none'"]
    assert policy["img-src"] == ["'self'", "data:"]  # Bootstrap draws select arrows and ticks as data: SVG images
    everything = " ".join(value for values in policy.values() for value in values)
    assert "'unsafe-inline'" not in everything and "'unsafe-eval'" not in everything and "*" not in everything


@pytest.mark.parametrize("persona", ["full_admin", "end_user", "anonymous"])
def test_every_page_sends_it(client, objects, persona):  # noqa: F811
    user = make_persona(persona)
    if user:
        client.force_login(user)
    seen = set()
    for name, expect in MATRIX.items():
        response = client.get(reverse(name, kwargs=expect.kwargs(objects)))
        assert directives(response)["script-src"] == ["'self'"], name
        seen.add(response.status_code)
    assert {200, 302}.issubset(seen)  # pages and redirects alike (and 403/404/405 refusals)
    if persona == "full_admin":
        export = client.get(reverse("easconsole:auditevent_list"), {"export": "csv"})
        assert export["Content-Type"].startswith("text/csv") and directives(export)["default-src"] == ["'self'"]
