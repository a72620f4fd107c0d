"""Signing in through a front server doing Windows authentication: EASCONSOLE_REMOTE_USER=1 (docs/users.md)."""
import importlib.util
from pathlib import Path

import pytest
from django.urls import reverse

from easconsole.models import AuditEvent
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
SETTINGS_FILE = Path(__file__).resolve().parents[2] / "easconsole" / "settings.py"
MIDDLEWARE = "django.contrib.auth.middleware.PersistentRemoteUserMiddleware"
BACKEND = "devices.affinity.accounts.RemoteUserBackend"


def settings_module(monkeypatch, tmp_path, flag: str | None):
    """easconsole/settings.py evaluated afresh with or without the flag."""
    monkeypatch.setenv("EASCONSOLE_VAR_DIR", str(tmp_path))
    if flag is None:
        monkeypatch.delenv("EASCONSOLE_REMOTE_USER", raising=False)
    else:
        monkeypatch.setenv("EASCONSOLE_REMOTE_USER", flag)
    spec = importlib.util.spec_from_file_location("settings_under_test", SETTINGS_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def remote_user(settings, monkeypatch, tmp_path):
    """The console as configured with EASCONSOLE_REMOTE_USER=1."""
    module = settings_module(monkeypatch, tmp_path, "1")
    settings.MIDDLEWARE = module.MIDDLEWARE
    settings.AUTHENTICATION_BACKENDS = module.AUTHENTICATION_BACKENDS


def test_the_setting_is_off_by_default_and_adds_the_middleware_and_backend(monkeypatch, tmp_path):
    off = settings_module(monkeypatch, tmp_path, None)
    assert MIDDLEWARE not in off.MIDDLEWARE and BACKEND not in off.AUTHENTICATION_BACKENDS
    on = settings_module(monkeypatch, tmp_path, "1")
    assert on.MIDDLEWARE.index(MIDDLEWARE) == on.MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1
    assert on.AUTHENTICATION_BACKENDS[1] == BACKEND and "guardian.backends.ObjectPermissionBackend" in on.AUTHENTICATION_BACKENDS


def test_without_the_setting_remote_user_is_ignored(client):
    UserFactory(username="CONTOSO\\jdoe")
    response = client.get(reverse("home"), REMOTE_USER="CONTOSO\\jdoe")
    assert response["Location"] == reverse("login")


def test_remote_user_signs_in_to_its_account_whatever_the_case(remote_user, client):
    account = UserFactory(username="CONTOSO\\JDoe")
    response = client.get(reverse("home"), REMOTE_USER="contoso\\jdoe", REMOTE_ADDR="10.2.3.4")
    assert response.status_code == 302 and response["Location"] == reverse("catalog:my_devices")  # no role: an end user
    assert int(client.session["_auth_user_id"]) == account.pk
    assert client.get(reverse("catalog:my_devices")).status_code == 200  # the session keeps them signed in
    event = AuditEvent.objects.get(action="sign in")
    assert (event.username, event.address) == ("CONTOSO\\JDoe", "10.2.3.4")


def test_a_first_sign_in_creates_an_end_user_account_named_domain_user(remote_user, client):
    client.get(reverse("home"), REMOTE_USER="CONTOSO\\newhire")
    from django.contrib.auth import get_user_model

    account = get_user_model().objects.get(username="CONTOSO\\newhire")
    assert not account.has_usable_password()
    assert client.get(reverse("devices:device_list")).status_code == 403  # the console is for administrators


def test_a_disabled_account_is_not_signed_in(remote_user, client):
    UserFactory(username="CONTOSO\\left", is_active=False)
    response = client.get(reverse("home"), REMOTE_USER="CONTOSO\\left")
    assert response["Location"] == reverse("login")
