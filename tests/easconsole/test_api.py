"""The API's general parts: personal tokens (shown once, stored hashed, expiring, revocable, audited),
session sign-in with CSRF, problem details, cursor pages, the served schema, connectors and the audit trail."""
import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from easconsole.models import ApiToken, AuditEvent, ExchangeConnector
from easconsole.services.tokens import api_token_create
from tests.factories import DeviceFactory, SiteFactory
from tests.personas import make_persona, make_user

pytestmark = pytest.mark.django_db
PROBLEM = "application/problem+json"


def bearer(token: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def create_on_profile(client, name="ServiceNow offboarding", days=30) -> str:
    """Create a token on the profile page, as a person does; returns the token the page shows once."""
    page = client.post(reverse("easconsole:profile"), {"name": name, "days": days})
    assert page.status_code == 200
    return page.context["new_token"]


def test_token_lifecycle_on_the_profile_page(client):
    operator = make_persona("operator")
    client.force_login(operator)
    plain = create_on_profile(client)
    token = ApiToken.objects.get(user=operator)
    assert plain.startswith("eas_") and plain not in token.digest and token.prefix == plain[:12]
    assert token.expires - timezone.now() > dt.timedelta(days=29)
    assert AuditEvent.objects.filter(username="operator", action="create API token", object_id=str(token.pk)).exists()
    # Shown once: the page shows it no more, only its prefix.
    again = client.get(reverse("easconsole:profile")).content.decode()
    assert plain not in again and token.prefix in again

    api = Client()
    answer = api.get(reverse("api:device-list"), **bearer(plain))
    assert answer.status_code == 200 and answer.json()["results"] == []
    token.refresh_from_db()
    assert token.last_used is not None

    revoked = client.post(reverse("easconsole:apitoken_revoke", args=[token.pk]))
    assert revoked.status_code == 302
    assert AuditEvent.objects.filter(username="operator", action="revoke API token", object_id=str(token.pk)).exists()
    refused = api.get(reverse("api:device-list"), **bearer(plain))
    assert refused.status_code == 401 and refused["Content-Type"] == PROBLEM
    assert refused.json()["detail"] == "The token is not valid, has expired or was revoked."
    assert refused["WWW-Authenticate"].startswith("Bearer")


def test_an_expired_token_is_refused(client):
    token, plain = api_token_create(user=make_persona("analyst"), name="cron", days=7)
    assert client.get(reverse("api:device-list"), **bearer(plain)).status_code == 200
    ApiToken.objects.filter(pk=token.pk).update(expires=timezone.now() - dt.timedelta(seconds=1))
    assert client.get(reverse("api:device-list"), **bearer(plain)).status_code == 401


@pytest.mark.parametrize("header", ["Bearer", "Bearer two words", "Bearer eas_unknown"])
def test_a_malformed_or_unknown_token_is_refused(client, header):
    answer = client.get(reverse("api:device-list"), HTTP_AUTHORIZATION=header)
    assert answer.status_code == 401 and answer["Content-Type"] == PROBLEM


def test_no_one_revokes_someone_elses_token(client):
    token, plain = api_token_create(user=make_user("alice", "Operations Administrator"), name="alice's", days=7)
    client.force_login(make_persona("full_admin"))
    assert client.post(reverse("easconsole:apitoken_revoke", args=[token.pk])).status_code == 404
    token.refresh_from_db()
    assert token.revoked is None and Client().get(reverse("api:device-list"), **bearer(plain)).status_code == 200


def test_a_bad_lifetime_loses_the_name_and_says_why(client):
    client.force_login(make_persona("operator"))
    page = client.post(reverse("easconsole:profile"), {"name": "script", "days": "5"})
    assert page.status_code == 200 and page.context["new_token"] is None
    assert "Select a valid choice" in page.content.decode() and 'value="script"' in page.content.decode()
    assert not ApiToken.objects.exists()


def test_a_token_acts_with_its_owners_permissions_only(client):
    _token, plain = api_token_create(user=make_persona("end_user"), name="mine", days=7)
    answer = client.get(reverse("api:device-list"), **bearer(plain))
    assert answer.status_code == 403 and answer["Content-Type"] == PROBLEM


def test_the_session_works_and_csrf_is_enforced():
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(make_persona("full_admin"))
    assert browser.get(reverse("api:device-list")).status_code == 200
    connector = ExchangeConnector.objects.create(name="Contoso", site=SiteFactory(code="P01"))
    refused = browser.post(reverse("api:discoveryrun-list"), {"connector": connector.pk, "kind": "full"}, content_type="application/json")
    assert refused.status_code == 403 and "CSRF" in refused.json()["detail"]


def test_errors_are_problem_details(client):
    client.force_login(make_persona("analyst"))
    missing = client.get(reverse("api:device-detail", args=[999999]))
    assert missing.status_code == 404 and missing["Content-Type"] == PROBLEM
    assert {k: missing.json()[k] for k in ("type", "title", "status")} == {"type": "about:blank", "title": "Not Found", "status": 404}
    invalid = client.get(reverse("api:device-list"), {"inactive_days": "many"})
    body = invalid.json()
    assert invalid.status_code == 400 and body["title"] == "Bad Request" and "inactive_days" in body["errors"]
    assert client.get("/api/no-such-thing/")["Content-Type"] == PROBLEM


def test_cursor_pages_give_every_device_once(client):
    names = {DeviceFactory().name for _ in range(7)}
    client.force_login(make_persona("analyst"))
    seen, url = [], reverse("api:device-list") + "?page_size=3"
    while url:
        page = client.get(url).json()
        seen += [device["name"] for device in page["results"]]
        url = page["next"]
    assert sorted(seen) == sorted(names)


def test_the_schema_is_served(client):
    client.force_login(make_persona("analyst"))
    schema = client.get(reverse("api:schema"), HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    assert schema["openapi"].startswith("3.") and "/api/devices/{id}/wipe/" in schema["paths"]
    assert schema["components"]["securitySchemes"]["personalToken"] == {
        "type": "http", "scheme": "bearer", "description": "A personal API token, created on your profile page."}


def test_connectors_are_those_of_the_sites_one_may_read(client):
    p01, p02 = SiteFactory(code="P01"), SiteFactory(code="P02")
    mine = ExchangeConnector.objects.create(name="Mine", site=p01)
    other = ExchangeConnector.objects.create(name="Other", site=p02)
    client.force_login(make_user("scoped", "Read-only Analyst", sites=[p01]))
    assert [c["name"] for c in client.get(reverse("api:connector-list")).json()["results"]] == ["Mine"]
    assert client.get(reverse("api:connector-detail", args=[mine.pk])).status_code == 200
    assert client.get(reverse("api:connector-detail", args=[other.pk])).status_code == 404


def test_the_audit_trail_is_read_with_its_filters(client):
    client.force_login(make_persona("analyst"))
    api_token_create(user=make_persona("operator"), name="script", days=7)
    events = client.get(reverse("api:auditevent-list"), {"action": "create API token"}).json()["results"]
    assert [(e["username"], e["action"]) for e in events] == [("operator", "create API token")]
