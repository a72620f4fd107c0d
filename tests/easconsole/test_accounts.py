"""Administration ▸ Security ▸ Accounts: a Full Administrator creates, disables and resets local accounts
in the console, with the e-mail/UPN that matches a mailbox; every change is audited, no password ever is."""
import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from easconsole.models import AuditEvent
from tests.personas import PASSWORD, make_persona

pytestmark = pytest.mark.django_db
NEW_PASSWORD = "Correct-Horse-42"


@pytest.fixture
def admin_client():
    admin = Client()
    admin.force_login(make_persona("full_admin"))
    return admin


def create(client, **fields):
    data = {"username": "jdoe@contoso.com", "first_name": "John", "last_name": "Doe", "email": "jdoe@contoso.com",
            "is_active": "on", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD, **fields}
    return client.post(reverse("easconsole:consoleaccount_add"), data)


def test_an_administrator_creates_an_end_user_who_then_signs_in_to_the_catalog(admin_client, client):
    response = create(admin_client)
    account = get_user_model().objects.get(username="jdoe@contoso.com")
    assert response.status_code == 302 and response["Location"] == reverse("easconsole:consoleaccount_detail", args=[account.pk])
    assert account.email == "jdoe@contoso.com" and account.is_active and account.check_password(NEW_PASSWORD)
    event = AuditEvent.objects.get(action="create", object_type="account")
    assert event.username == "full_admin" and NEW_PASSWORD not in str(event.changes) and "password" not in event.changes
    signed_in = client.post(reverse("login"), {"username": "jdoe@contoso.com", "password": NEW_PASSWORD}, follow=True)
    assert signed_in.redirect_chain[-1][0] == reverse("catalog:my_devices")


def test_bad_input_is_refused_with_reasons_and_nothing_is_created(admin_client):
    make_persona("operator")
    response = create(admin_client, username="OPERATOR", password2="something-else", email="not-an-address")
    assert response.status_code == 200
    for reason in ("An account of that name exists already.", "The two passwords differ.", "Enter a valid email address."):
        assert reason in response.text
    assert response.context["form"].data["first_name"] == "John"  # what was typed is kept
    assert set(get_user_model().objects.values_list("username", flat=True)) == {"full_admin", "operator"}


def test_a_weak_password_is_refused(admin_client):
    response = create(admin_client, password1="password", password2="password")
    assert response.status_code == 200 and "This password is too common." in response.text
    assert not get_user_model().objects.filter(username="jdoe@contoso.com").exists()


def test_disabling_an_account_stops_its_sign_in_and_is_audited(admin_client, client):
    user = make_persona("end_user")
    response = admin_client.post(reverse("easconsole:consoleaccount_edit", args=[user.pk]),
                                 {"first_name": "End", "last_name": "User", "email": "eu@contoso.com"})
    assert response.status_code == 302
    user.refresh_from_db()
    assert not user.is_active and user.email == "eu@contoso.com" and user.username == "end_user"
    event = AuditEvent.objects.get(action="modify", object_type="account")
    assert event.changes["is_active"] == ["True", ""] and event.changes["email"][1] == "eu@contoso.com"
    refused = client.post(reverse("login"), {"username": "end_user", "password": PASSWORD})
    assert refused.status_code == 200 and "_auth_user_id" not in client.session


def test_an_administrator_cannot_disable_their_own_account(admin_client):
    me = get_user_model().objects.get(username="full_admin")
    response = admin_client.post(reverse("easconsole:consoleaccount_edit", args=[me.pk]), {"email": ""})
    assert response.status_code == 200 and "You cannot disable the account you are signed in with." in response.text
    me.refresh_from_db()
    assert me.is_active


def test_a_reset_password_works_at_once_and_the_old_one_no_longer(admin_client, client):
    user = make_persona("end_user")
    response = admin_client.post(reverse("easconsole:consoleaccount_password", args=[user.pk]),
                                 {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert response.status_code == 302
    assert AuditEvent.objects.filter(action="reset password", object_repr="end_user", username="full_admin").exists()
    old = client.post(reverse("login"), {"username": "end_user", "password": PASSWORD})
    assert old.status_code == 200 and "_auth_user_id" not in client.session
    new = client.post(reverse("login"), {"username": "end_user", "password": NEW_PASSWORD})
    assert new.status_code == 302 and client.session["_auth_user_id"] == str(user.pk)


def test_the_list_finds_accounts_by_mail_address(admin_client):
    create(admin_client)
    response = admin_client.get(reverse("easconsole:consoleaccount_list"), {"q": "jdoe@contoso"})
    assert response.status_code == 200
    assert "jdoe@contoso.com" in response.text and "someone-else" not in response.text
