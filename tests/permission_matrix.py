"""The permission-matrix test base: every URL of the project, for every persona, declared.

A declaration maps a URL name to how to build its URL and what each persona must get. The test
walks every URL pattern of the project and fails when a named URL has no declaration, or a
declaration lacks a persona, so a view cannot be added without saying who may use it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from django.urls import URLPattern, URLResolver, get_resolver

from tests.personas import PERSONAS

# What a persona gets.
OK = 200
LOGIN = "login"  # redirected to the sign-in page
FORBIDDEN = 403
NOT_FOUND = 404
NOT_ALLOWED = 405
REDIRECT = 302  # redirected elsewhere (a landing page)
UNAUTHORIZED = 401  # the API: no token, no session


@dataclass(frozen=True)
class Expect:
    """How to reach one URL and what each persona gets on GET (and on POST when ``post`` is set).

    Args:
        kwargs: builds the URL's kwargs from the objects of the matrix fixture.
        get: the outcome per persona on GET.
        post: the outcome per persona on an empty POST, for views that change things; personas
            refused on GET must be refused the same way on POST.
    """

    get: dict[str, object]
    kwargs: Callable[[dict], dict] = field(default=lambda objects: {})
    post: dict[str, object] | None = None


def everyone(outcome, **overrides) -> dict[str, object]:
    return {persona: overrides.get(persona, outcome) for persona in PERSONAS}


def console_read(**overrides) -> dict[str, object]:
    """A console page every administrator and analyst may read."""
    return {"anonymous": LOGIN, "end_user": FORBIDDEN, "analyst": OK, "operator": OK, "full_admin": OK, **overrides}


def api_read(**overrides) -> dict[str, object]:
    """An API resource every administrator and analyst may read (the API answers 401 rather than a sign-in page)."""
    return console_read(anonymous=UNAUTHORIZED, **overrides)


def full_admin_only(**overrides) -> dict[str, object]:
    return {"anonymous": LOGIN, "end_user": FORBIDDEN, "analyst": FORBIDDEN, "operator": FORBIDDEN, "full_admin": OK, **overrides}


def url_names(patterns=None, namespace: str = "") -> list[str]:
    """Every named URL pattern of the project, with its namespace (unnamed ones as '<unnamed …>')."""
    names = []
    for pattern in patterns if patterns is not None else get_resolver().url_patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            names += url_names(pattern.url_patterns, inner)
        elif isinstance(pattern, URLPattern):
            names.append(f"{namespace}{pattern.name}" if pattern.name else f"<unnamed {pattern.pattern}>")
    return names


def missing_declarations(matrix: dict[str, Expect]) -> list[str]:
    """URL names without a declaration, declarations of no URL, and declarations lacking a persona."""
    problems = [f"{name}: no expectation declared" for name in url_names() if name not in matrix]
    problems += [f"{name}: declared but no such URL" for name in matrix if name not in url_names()]
    for name, expect in matrix.items():
        for table in filter(None, (expect.get, expect.post)):
            problems += [f"{name}: no expectation for {persona}" for persona in PERSONAS if persona not in table]
    return problems
