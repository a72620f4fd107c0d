"""Signing in with the directory: a real OpenLDAP (slapd) on loopback with Active Directory-like users."""
import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from easconsole.models import AuditEvent, DirectorySecret
from tests.signin.directory import BIND_PASSWORD, PASSWORD, write_certificates

pytestmark = pytest.mark.django_db
User = get_user_model()


def sign_in(username, password=PASSWORD, client=None):
    client = client or Client()
    response = client.post(reverse("login"), {"username": username, "password": password})
    return client, response


def test_a_directory_user_signs_in_and_gets_an_account_named_by_their_upn(ldap_console):
    assert not User.objects.filter(username__icontains="jdoe").exists()
    client, response = sign_in("jdoe")
    assert response.status_code == 302
    account = User.objects.get(pk=client.session["_auth_user_id"])
    assert (account.username, account.email, account.get_full_name()) == ("jdoe@contoso.com", "jdoe@contoso.com", "John Doe")
    assert not account.has_usable_password()  # the password stays in the directory
    assert AuditEvent.objects.filter(action="sign in", username="jdoe@contoso.com", outcome="success").exists()
    _, again = sign_in("JDoe@Contoso.com")  # the UPN, in any case: the same account
    assert again.status_code == 302 and User.objects.filter(username__icontains="jdoe").count() == 1


def test_the_bind_password_is_stored_encrypted(ldap_console):
    stored = DirectorySecret.objects.get().secret_encrypted
    assert stored and BIND_PASSWORD not in stored


def test_a_wrong_password_is_refused_and_counts_toward_the_lockout(ldap_console, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        _, response = sign_in("jdoe", "wrong-password")
        assert response.status_code == 200 and "Please enter a correct username and password" in response.text
    _, last = sign_in("jdoe", "wrong-password")
    assert last.status_code == 429  # the failure that reaches the limit locks the name out
    _, locked = sign_in("jdoe")  # the right password, too late
    assert locked.status_code == 429
    assert not User.objects.filter(username="jdoe@contoso.com").exists()
    assert AuditEvent.objects.filter(action="sign in", outcome="denied", username="jdoe").exists()


def test_an_account_disabled_in_the_directory_is_refused(ldap_console):
    client, response = sign_in("asmith")
    assert response.status_code == 200 and "_auth_user_id" not in client.session
    assert not User.objects.filter(username="asmith@contoso.com").exists()


def test_an_account_disabled_in_the_console_is_refused_even_with_the_directory_password(ldap_console):
    sign_in("jdoe")
    User.objects.filter(username="jdoe@contoso.com").update(is_active=False)
    client, response = sign_in("jdoe")
    assert response.status_code == 200 and "_auth_user_id" not in client.session


def test_directory_down_says_so_and_local_accounts_still_sign_in(ldap_console, settings):
    from tests.signin.conftest import configure_console
    from tests.signin.directory import free_port

    configure_console(settings, {**ldap_console.environment(), "EASCONSOLE_LDAP_URI": f"ldap://127.0.0.1:{free_port()}"})
    _, response = sign_in("jdoe")
    assert response.status_code == 200
    assert "The directory cannot be reached right now" in response.text and "Local accounts still can." in response.text
    assert BIND_PASSWORD not in response.text
    failure = AuditEvent.objects.get(action="sign in", outcome="failure")
    assert (failure.username, failure.message) == ("jdoe", "The directory could not be reached.")
    local = User.objects.create_user("break-glass", password="Local-Pass-42x")
    client, signed_in = sign_in("break-glass", "Local-Pass-42x")
    assert signed_in.status_code == 302 and client.session["_auth_user_id"] == str(local.pk)


def test_the_sign_in_page_shows_the_enabled_methods(ldap_console, settings):
    page = Client().get(reverse("login")).text
    assert "Your directory account (jdoe or jdoe@contoso.com)" in page and "Sign in with Microsoft Entra ID" not in page
    settings.EASCONSOLE_LDAP = None
    assert "Your directory account" not in Client().get(reverse("login")).text


def test_without_python_ldap_the_page_names_the_packages_and_local_accounts_work(settings, monkeypatch, db):
    from easconsole.signin import config
    from tests.signin.conftest import configure_console

    monkeypatch.setattr(config, "ldap_available", lambda: False)  # as on a server where python-ldap could not be built
    configure_console(settings, {"EASCONSOLE_LDAP_URI": "ldaps://dc1.contoso.com"})
    assert not any("ldap" in backend.lower() for backend in settings.AUTHENTICATION_BACKENDS)
    page = Client().get(reverse("login")).text
    assert "Sign-in with the directory is configured but cannot run on this server" in page
    assert "libldap2-dev and libsasl2-dev" in page
    User.objects.create_user("local-admin", password="Local-Pass-42x")
    client, response = sign_in("local-admin", "Local-Pass-42x")
    assert response.status_code == 302


@pytest.mark.parametrize("transport", ["ldaps", "starttls"])
def test_sign_in_over_tls_checks_the_directory_certificate(ldap_console, settings, transport):
    from tests.signin.conftest import configure_console

    tls = {"EASCONSOLE_LDAP_URI": ldap_console.ldaps_uri} if transport == "ldaps" else {"EASCONSOLE_LDAP_START_TLS": "1"}
    configure_console(settings, {**ldap_console.environment(), **tls, "EASCONSOLE_LDAP_CA_FILE": ldap_console.ca_file})
    client, response = sign_in("jdoe")
    assert response.status_code == 302 and client.session["_auth_user_id"]
    other = ldap_console.folder / "other-ca"  # another organization's CA: the directory's certificate is not trusted
    if not other.exists():
        other.mkdir()
        write_certificates(other)
    configure_console(settings, {**ldap_console.environment(), **tls, "EASCONSOLE_LDAP_CA_FILE": str(other / "ca.pem")})
    client, response = sign_in("jdoe")
    assert response.status_code == 200 and "_auth_user_id" not in client.session
    assert "The directory cannot be reached right now" in response.text


def test_a_missing_ca_file_is_a_clear_configuration_error(directory, tmp_path):
    from django.core.exceptions import ImproperlyConfigured

    from easconsole.signin.config import directory_settings

    with pytest.raises(ImproperlyConfigured, match="EASCONSOLE_LDAP_CA_FILE"):
        directory_settings({**directory.environment(), "EASCONSOLE_LDAP_CA_FILE": str(tmp_path / "nowhere.pem")})


def test_the_settings_put_the_directory_after_local_accounts_and_axes(monkeypatch, tmp_path, directory):
    import importlib.util
    from pathlib import Path

    monkeypatch.setenv("EASCONSOLE_VAR_DIR", str(tmp_path))
    for name, value in directory.environment().items():
        monkeypatch.setenv(name, value)
    spec = importlib.util.spec_from_file_location("settings_under_test", Path(__file__).resolve().parents[2] / "easconsole" / "settings.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.AUTHENTICATION_BACKENDS == ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend",
                                              "easconsole.signin.ldap.DirectoryBackend", "guardian.backends.ObjectPermissionBackend"]
    assert module.AUTH_LDAP_SERVER_URI == directory.uri and module.AUTH_LDAP_MIRROR_GROUPS
