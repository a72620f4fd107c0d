"""Sign-in lockout through the real sign-in form: a user name from an address after 5 failures, the address after 20."""
import datetime as dt

import pytest
from axes.models import AccessAttempt
from django.urls import reverse
from django.utils import timezone

from easconsole.models import AuditEvent
from tests.personas import PASSWORD, make_persona

pytestmark = pytest.mark.django_db
LOGIN = reverse("login")
SPRAYER = "203.0.113.7"


def sign_in(client, username, password, address=SPRAYER):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=address)


def ends_shown(response) -> str:
    """The "HH:MM" the lockout page gives as the end of the lockout."""
    text = response.content.decode()
    return text.split("You can sign in again at ", 1)[1][:5]


def test_five_failures_lock_that_user_name_from_that_address_only(client, settings):
    make_persona("operator")
    make_persona("analyst")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert sign_in(client, "operator", "nope").status_code == 200
    assert sign_in(client, "operator", "nope").status_code == 429  # the fifth failure locks
    locked = sign_in(client, "operator", PASSWORD)
    assert locked.status_code == 429
    said = locked.content.decode()
    assert f"There were 5 failed sign-ins for operator from your address ({SPRAYER}) within 15 minutes" in said
    assert "signing in as operator from this address is blocked" in said
    last = AccessAttempt.objects.get(username="operator").attempt_time
    assert ends_shown(locked) == timezone.localtime(last + dt.timedelta(minutes=15)).strftime("%H:%M")

    # Another user name from the same address, and the same user name from another address, still sign in.
    assert sign_in(client, "analyst", PASSWORD).status_code == 302
    client.logout()
    assert sign_in(client, "operator", PASSWORD, address="198.51.100.20").status_code == 302


def test_password_spraying_from_one_address_locks_the_address_for_every_user_name(client, settings):
    make_persona("analyst")
    assert settings.EASCONSOLE_ADDRESS_FAILURE_LIMIT == 20
    for n in range(19):  # one try for each of 19 user names: no user name reaches its own limit
        assert sign_in(client, f"user{n:02d}", "Winter2026!").status_code == 200
    assert sign_in(client, "analyst", PASSWORD).status_code == 302  # under the address's limit: still accepted
    client.logout()
    assert sign_in(client, "user19", "Winter2026!").status_code == 429  # the 20th failure from this address locks it

    refused = sign_in(client, "analyst", PASSWORD)  # the right password, a user name never tried: refused all the same
    assert refused.status_code == 429
    said = refused.content.decode()
    assert f"There were 20 or more failed sign-ins from your address ({SPRAYER}) within 15 minutes" in said
    assert "blocked for every user name" in said
    first = AccessAttempt.objects.filter(ip_address=SPRAYER).order_by("attempt_time").first().attempt_time
    assert ends_shown(refused) == timezone.localtime(first + dt.timedelta(minutes=15)).strftime("%H:%M")
    assert AuditEvent.objects.filter(action="sign in", outcome="denied", username="analyst", address=SPRAYER).exists()
    assert AuditEvent.objects.filter(action="sign in", outcome="success", username="analyst", address=SPRAYER).count() == 1  # before

    # Tries during the lockout are refused without extending it; another address is not affected.
    assert sign_in(client, "analyst", PASSWORD).status_code == 429
    assert AccessAttempt.objects.filter(ip_address=SPRAYER).order_by("attempt_time").first().attempt_time == first
    assert sign_in(client, "analyst", PASSWORD, address="198.51.100.20").status_code == 302


def test_the_address_lock_ends_when_its_failures_leave_the_window(client):
    make_persona("analyst")
    for n in range(20):
        sign_in(client, f"user{n:02d}", "Winter2026!")
    assert sign_in(client, "analyst", PASSWORD).status_code == 429
    # Fifteen minutes later for the first five user names tried: 15 failures are left in the window.
    oldest = AccessAttempt.objects.filter(ip_address=SPRAYER).order_by("attempt_time").values_list("pk", flat=True)[:5]
    AccessAttempt.objects.filter(pk__in=list(oldest)).update(attempt_time=timezone.now() - dt.timedelta(minutes=16))
    assert sign_in(client, "analyst", PASSWORD).status_code == 302
