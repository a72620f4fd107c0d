"""Signing in: each persona lands where it belongs; failures are throttled and audited."""
import pytest
from django.urls import reverse

from easconsole.models import AuditEvent
from tests.personas import PASSWORD, make_persona

pytestmark = pytest.mark.django_db

# Administrators and auditors land on the dashboard (the fleet at a glance), end users in the catalog.
LANDING = {"full_admin": "/assets/dashboard/", "operator": "/assets/dashboard/", "analyst": "/assets/dashboard/", "end_user": "/catalog/"}


@pytest.mark.parametrize("persona", LANDING)
def test_each_persona_lands_where_it_belongs(client, persona):
    user = make_persona(persona)
    response = client.post(reverse("login"), {"username": user.username, "password": PASSWORD}, follow=True)
    assert response.redirect_chain[-1][0] == LANDING[persona]
    assert response.status_code == 200
    event = AuditEvent.objects.get(action="sign in")
    assert event.username == user.username and event.outcome == "success" and event.address == "127.0.0.1"


def test_wrong_password_says_so_and_is_audited(client):
    make_persona("operator")
    response = client.post(reverse("login"), {"username": "operator", "password": "nope"})
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.text
    event = AuditEvent.objects.get(action="sign in")
    assert (event.username, event.outcome) == ("operator", "failure")


def test_repeated_failures_lock_the_account_out(client, settings):
    make_persona("operator")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("login"), {"username": "operator", "password": "nope"})
    response = client.post(reverse("login"), {"username": "operator", "password": PASSWORD})
    assert response.status_code == 429
    assert "Too many failed sign-ins" in response.text
    assert AuditEvent.objects.filter(action="sign in", outcome="denied", username="operator").exists()
    assert not AuditEvent.objects.filter(action="sign in", outcome="success").exists()


def test_sign_out_needs_a_post_and_ends_the_session(client):
    client.force_login(make_persona("analyst"))
    assert client.get(reverse("logout")).status_code == 405
    response = client.post(reverse("logout"))
    assert response.status_code == 302 and response["Location"] == reverse("login")
    assert client.get(reverse("easconsole:report_index"))["Location"].startswith(reverse("login"))
    assert AuditEvent.objects.filter(action="sign out", username="analyst").exists()


def test_session_and_csrf_cookies_are_protected(client, settings):
    assert settings.SESSION_COOKIE_HTTPONLY and settings.CSRF_COOKIE_HTTPONLY
    assert settings.SESSION_COOKIE_SAMESITE == "Lax" and settings.X_FRAME_OPTIONS == "DENY"
    response = client.get(reverse("login"))
    assert response["X-Frame-Options"] == "DENY"
    assert response.cookies["csrftoken"]["samesite"] == "Lax"
