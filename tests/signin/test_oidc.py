"""Signing in with Entra ID (OpenID Connect) against a provider the test runs on loopback: discovery, JWKS,
authorize and token; app roles and groups mapped to console roles the same way as directory groups."""
import pytest
import requests
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from easconsole import services
from easconsole.models import AuditEvent, RoleAssignment
from easconsole.signin import oidc
from tests.signin.conftest import configure_console
from tests.signin.oidc_provider import running_provider

pytestmark = pytest.mark.django_db
User = get_user_model()
PERSON = {"preferred_username": "JDoe@Contoso.com", "email": "john.doe@contoso.com", "given_name": "John", "family_name": "Doe",
          "name": "John Doe"}


@pytest.fixture(scope="module")
def provider():
    with running_provider() as running:
        yield running


@pytest.fixture
def entra(settings, provider):
    configure_console(settings, provider.environment())
    oidc._documents.clear()
    provider.audience = provider.environment()["EASCONSOLE_OIDC_CLIENT_ID"]
    return provider


def sign_in_with_entra(provider, person: dict, client: Client | None = None):
    """What the browser does: the console's button, the provider's authorize page, back to the console."""
    client = client or Client()
    provider.person = person
    start = client.get(reverse("oidc_authentication_init"))
    assert start.status_code == 302 and start["Location"].startswith(f"{provider.issuer}/authorize?")
    back = requests.get(start["Location"], allow_redirects=False, timeout=5)  # the provider, over loopback
    assert back.status_code == 302
    callback = back.headers["Location"].removeprefix("http://testserver")
    return client, client.get(callback)


def test_the_sign_in_page_offers_entra_id(entra):
    page = Client().get(reverse("login")).text
    assert "Sign in with Microsoft Entra ID" in page and reverse("oidc_authentication_init") in page


def test_a_person_signs_in_with_entra_id_and_gets_an_account_named_by_their_upn(entra):
    client, response = sign_in_with_entra(entra, PERSON)
    assert response.status_code == 302 and response["Location"] == "/"
    account = User.objects.get(pk=client.session["_auth_user_id"])
    assert (account.username, account.email, account.get_full_name()) == ("jdoe@contoso.com", "john.doe@contoso.com", "John Doe")
    assert not account.has_usable_password()
    assert client.get("/")["Location"] == reverse("catalog:my_devices")  # no role: an end user
    assert AuditEvent.objects.filter(action="sign in", username="jdoe@contoso.com").exists()


def test_an_app_role_maps_to_a_console_role_and_leaving_it_removes_it(entra):
    group = Group.objects.create(name="EAS-Operators")
    services.role_assignment_save(assignment=RoleAssignment(group=group, role=services.role_by_name("Operations Administrator")),
                                  user=None)
    client, _ = sign_in_with_entra(entra, {**PERSON, "roles": ["EAS-Operators"]})
    assert client.get("/")["Location"] == reverse("devices:dashboard")
    client, _ = sign_in_with_entra(entra, {**PERSON, "roles": []})  # removed from the app role in Entra ID
    assert client.get("/")["Location"] == reverse("catalog:my_devices")
    assert not group.user_set.exists()


def test_a_token_for_another_application_is_refused(entra):
    entra.audience = "someone-elses-app"
    client, response = sign_in_with_entra(entra, PERSON)
    assert response.status_code == 302 and response["Location"] == "/accounts/login/?entra=failed"
    assert "_auth_user_id" not in client.session and not User.objects.filter(username="jdoe@contoso.com").exists()
    page = client.get(response["Location"]).text
    assert "Sign-in with Microsoft Entra ID did not succeed" in page


def test_without_configuration_the_entra_id_pages_do_not_exist(settings):
    settings.EASCONSOLE_OIDC = None
    assert Client().get(reverse("oidc_authentication_init")).status_code == 404
