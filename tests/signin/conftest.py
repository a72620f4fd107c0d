"""Fixtures of the sign-in tests: a real slapd per test module, and the console configured for it."""
import io

import pytest
from django.core.management import call_command

from easconsole.signin.config import directory_settings
from tests.signin.directory import BIND_PASSWORD, running_directory


@pytest.fixture(scope="module")
def directory(tmp_path_factory):
    with running_directory(tmp_path_factory.mktemp("slapd")) as running:
        yield running


def configure_console(settings, environment: dict) -> None:
    """The settings easconsole/settings.py derives from ``environment``, applied to this test."""
    for name, value in directory_settings(environment).items():
        setattr(settings, name, value)
    backends = [b for b in settings.AUTHENTICATION_BACKENDS if not b.startswith("easconsole.signin.")]
    settings.AUTHENTICATION_BACKENDS = backends[:-1] + settings.EASCONSOLE_SIGN_IN_BACKENDS + backends[-1:]


@pytest.fixture
def ldap_console(settings, directory, db, monkeypatch):
    """The console signing people in with the directory, its bind password stored as an administrator would."""
    configure_console(settings, directory.environment())
    monkeypatch.setattr("sys.stdin", io.StringIO(BIND_PASSWORD + "\n"))
    call_command("set_directory_password", "--stdin", stdout=io.StringIO())
    return directory
