"""The API of Assets and Compliance: what each persona may read and request, on the same collections as the
console; idempotent wipe requests sent once to the simulated Exchange; discovery runs and the reports' figures."""
import datetime as dt
import uuid

import pytest
from django.urls import reverse
from django.utils import timezone

from devices.actions import services
from devices.models import CollectionMember, DeviceAction
from easconsole.exchange.simulator.testing import running_simulator
from easconsole.models import AuditEvent, ExchangeConnector
from easconsole.services.tokens import api_token_create
from tests.console import discovered, installed_connector
from tests.factories import CollectionFactory, DeviceFactory, SiteFactory
from tests.personas import make_persona, make_user

pytestmark = pytest.mark.django_db
Kind, State = DeviceAction.Kind, DeviceAction.State


def as_(client, user):
    """The client signed with ``user``'s personal token, as a script would be."""
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {api_token_create(user=user, name='script', days=7)[1]}"
    return client


def wipe_url(device, kind=Kind.WIPE):
    return reverse(f"api:device-{kind.replace('_', '-')}", args=[device.pk])


@pytest.fixture
def installed_device(db):
    """A device of an installed connector (no Exchange reached: the requests are only queued)."""
    connector = ExchangeConnector.objects.create(name="Contoso", site=SiteFactory(code="P01"))
    ExchangeConnector.objects.filter(pk=connector.pk).update(state="installed", installed_at="2026-01-01T00:00:00Z")
    return DeviceFactory(user="ceo", connector=ExchangeConnector.objects.get(pk=connector.pk))


@pytest.mark.parametrize("persona", ["analyst", "operator", "full_admin"])
def test_console_readers_read_devices_actions_and_collections(client, installed_device, persona):
    as_(client, make_persona(persona))
    assert [d["name"] for d in client.get(reverse("api:device-list")).json()["results"]] == ["ceo_iPhone"]
    assert client.get(reverse("api:device-detail", args=[installed_device.pk])).json()["mailbox"] == "ceo"
    assert client.get(reverse("api:deviceaction-list")).status_code == 200
    assert "All Mobile Devices" in [c["name"] for c in client.get(reverse("api:collection-list")).json()["results"]]


def test_an_end_user_reads_nothing(client, installed_device):
    as_(client, make_persona("end_user"))
    for name in ("api:device-list", "api:deviceaction-list", "api:collection-list", "api:report-inventory"):
        assert client.get(reverse(name)).status_code == 403, name
    assert client.post(wipe_url(installed_device), content_type="application/json").status_code == 403
    assert not DeviceAction.objects.exists()


def test_an_analyst_may_not_wipe_and_the_refusal_is_audited(client, installed_device):
    as_(client, make_persona("analyst"))
    answer = client.post(wipe_url(installed_device), {}, content_type="application/json")
    assert answer.status_code == 403 and answer["Content-Type"] == "application/problem+json"
    assert not DeviceAction.objects.exists()
    assert AuditEvent.objects.filter(username="analyst", action="request wipe", outcome="denied").exists()


@pytest.mark.parametrize("kind", [Kind.WIPE, Kind.BLOCK, Kind.ALLOW, Kind.DELETE])
def test_an_operator_requests_actions(client, installed_device, kind):
    as_(client, make_persona("operator"))
    answer = client.post(wipe_url(installed_device, kind), {}, content_type="application/json")
    assert answer.status_code == 201, answer.json()
    action = DeviceAction.objects.get()
    assert answer.json()["id"] == action.pk and action.kind == kind and action.requested_by_name == "operator"
    assert [step["state"] for step in answer.json()["history"]] == ["requested"]
    assert AuditEvent.objects.filter(username="operator", action=f"request {kind}", outcome="success").exists()


def test_a_wipe_request_keeps_its_ticket_number_in_the_action_and_the_audit_trail(client, installed_device):
    as_(client, make_persona("operator"))
    answer = client.post(wipe_url(installed_device), {"reason": "INC0042 lost on a train"}, content_type="application/json")
    assert answer.status_code == 201 and answer.json()["reason"] == "INC0042 lost on a train"
    assert DeviceAction.objects.get().reason == "INC0042 lost on a train"
    event = AuditEvent.objects.get(username="operator", action="request wipe")
    assert event.changes["reason"] == "INC0042 lost on a train"
    too_long = client.post(wipe_url(installed_device, Kind.BLOCK), {"reason": "x" * 201}, content_type="application/json")
    assert too_long.status_code == 400 and DeviceAction.objects.count() == 1


def test_http_delete_on_a_device_requests_nothing(client, installed_device):
    """Deleting a device is ``POST devices/{id}/delete/`` only, as documented."""
    as_(client, make_persona("operator"))
    answer = client.delete(reverse("api:device-detail", args=[installed_device.pk]))
    assert answer.status_code == 405 and "DELETE" not in answer["Allow"]
    assert not DeviceAction.objects.exists()


def test_an_action_not_possible_now_is_a_conflict_with_the_reason(client, installed_device):
    as_(client, make_persona("operator"))
    answer = client.post(wipe_url(installed_device, Kind.CANCEL_WIPE), {}, content_type="application/json")
    assert answer.status_code == 409 and answer.json()["detail"] == "There is no pending wipe to cancel."
    client.post(wipe_url(installed_device), {}, content_type="application/json")
    refused = client.post(wipe_url(installed_device, Kind.DELETE), {}, content_type="application/json")
    assert refused.status_code == 409 and "Confirm" in refused.json()["detail"]
    confirmed = client.post(wipe_url(installed_device, Kind.DELETE), {"confirm_wipe_loss": True}, content_type="application/json")
    assert confirmed.status_code == 201 and confirmed.json()["kind"] == "delete"


def test_an_operator_of_one_collection_reaches_only_its_devices(client, installed_device):
    other = DeviceFactory(user="intern", connector=installed_device.connector)
    executives = CollectionFactory(name="Executives")
    CollectionMember.objects.create(collection=executives, device=installed_device, direct=True)
    as_(client, make_user("scoped", "Operations Administrator", collections=[executives]))
    assert [d["name"] for d in client.get(reverse("api:device-list")).json()["results"]] == ["ceo_iPhone"]
    assert client.get(reverse("api:device-detail", args=[other.pk])).status_code == 404
    assert client.post(wipe_url(other), {}, content_type="application/json").status_code == 404
    assert [c["name"] for c in client.get(reverse("api:collection-list")).json()["results"]] == ["Executives"]
    assert client.post(wipe_url(installed_device), {}, content_type="application/json").status_code == 201
    assert DeviceAction.objects.get().device == installed_device


def test_the_device_list_takes_the_consoles_filters(client, installed_device):
    DeviceFactory(user="droid", device_type="Android", device_os="Android 14.0.0", connector=installed_device.connector)
    as_(client, make_persona("analyst"))
    listed = client.get(reverse("api:device-list"), {"os_family": "android"}).json()["results"]
    assert [d["name"] for d in listed] == ["droid_Android"]
    assert [d["name"] for d in client.get(reverse("api:device-list"), {"q": "ceo"}).json()["results"]] == ["ceo_iPhone"]


def test_the_same_key_with_another_request_is_refused(client, installed_device):
    as_(client, make_persona("operator"))
    key = {"HTTP_IDEMPOTENCY_KEY": str(uuid.uuid4())}
    assert client.post(wipe_url(installed_device), {}, content_type="application/json", **key).status_code == 201
    other = client.post(wipe_url(installed_device, Kind.BLOCK), {}, content_type="application/json", **key)
    assert other.status_code == 422 and "Idempotency-Key" in other.json()["detail"]
    assert list(DeviceAction.objects.values_list("kind", flat=True)) == ["wipe"]


def test_a_key_is_kept_24_hours(client, installed_device):
    from easconsole.models import IdempotentRequest

    as_(client, make_persona("operator"))
    key = {"HTTP_IDEMPOTENCY_KEY": "ticket-1"}
    assert client.post(wipe_url(installed_device, Kind.BLOCK), {}, content_type="application/json", **key).status_code == 201
    IdempotentRequest.objects.update(created=timezone.now() - dt.timedelta(hours=25))
    assert client.post(wipe_url(installed_device, Kind.ALLOW), {}, content_type="application/json", **key).status_code == 201
    assert IdempotentRequest.objects.count() == 1 and DeviceAction.objects.count() == 2


def test_a_refused_request_keeps_nothing_for_its_key(client, installed_device):
    as_(client, make_persona("operator"))
    key = {"HTTP_IDEMPOTENCY_KEY": "offboarding-4711"}
    assert client.post(wipe_url(installed_device, Kind.CANCEL_WIPE), {}, content_type="application/json", **key).status_code == 409
    assert client.post(wipe_url(installed_device, Kind.CANCEL_WIPE), {}, content_type="application/json", **key).status_code == 409


def test_discovery_runs_are_requested_by_full_administrators(client, installed_device):
    connector = installed_device.connector
    as_(client, make_persona("operator"))
    body = {"connector": connector.pk, "kind": "full"}
    assert client.post(reverse("api:discoveryrun-list"), body, content_type="application/json").status_code == 403
    as_(client, make_persona("full_admin"))
    answer = client.post(reverse("api:discoveryrun-list"), body, content_type="application/json")
    assert answer.status_code == 201 and answer.json()["state"] == "queued"
    assert AuditEvent.objects.filter(username="full_admin", action="request full discovery").exists()
    busy = client.post(reverse("api:discoveryrun-list"), body, content_type="application/json")
    assert busy.status_code == 409 and "already queued" in busy.json()["detail"]
    assert client.get(reverse("api:discoveryrun-detail", args=[answer.json()["id"]])).json()["kind"] == "full"
    unknown = client.post(reverse("api:discoveryrun-list"), {"connector": 999999, "kind": "full"}, content_type="application/json")
    assert unknown.status_code == 404


def test_the_reports_figures_count_the_devices_one_may_read(client, installed_device):
    DeviceFactory(user="droid", device_type="Android", device_os="Android 14.0.0", access_state="Blocked",
                  connector=installed_device.connector)
    as_(client, make_persona("analyst"))
    inventory = client.get(reverse("api:report-inventory")).json()
    assert inventory["devices"] == 2
    assert sorted((c["value"], c["devices"]) for c in inventory["operating_systems"]) == [("Android", 1), ("iOS", 1)]
    inactive = client.get(reverse("api:report-inactive"), {"days": 30}).json()
    assert inactive["days"] == 30 and inactive["devices"] == sum(b["devices"] for b in inactive["by_age"])
    [compliance] = client.get(reverse("api:report-compliance")).json()
    assert compliance["connector"] == installed_device.connector_id
    assert sum(c["devices"] for c in compliance["policy_application_status"]) == 2
    assert client.get(reverse("api:report-inactive"), {"days": "-1"}).status_code == 400


# --- through the simulated organization: a wipe requested twice with one key reaches Exchange once.
@pytest.fixture(scope="module")
def exchange():
    with running_simulator(devices=12) as sim:
        yield sim


@pytest.mark.simulator
def test_a_retried_wipe_request_wipes_once(client, exchange, control, django_capture_on_commit_callbacks):
    device = next(d for d in discovered(installed_connector(exchange)) if d.status == "DeviceOk")
    as_(client, make_persona("operator"))
    key = {"HTTP_IDEMPOTENCY_KEY": str(uuid.uuid4())}
    with django_capture_on_commit_callbacks(execute=True):
        first = client.post(wipe_url(device), {}, content_type="application/json", **key)
    with django_capture_on_commit_callbacks(execute=True) as retried_callbacks:
        retry = client.post(wipe_url(device), {}, content_type="application/json", **key)
    assert first.status_code == retry.status_code == 201
    assert retry.json() == first.json() and retry["Idempotent-Replayed"] == "true" and not retried_callbacks
    action = DeviceAction.objects.get()
    services.action_execute(action.pk)  # what the worker does with the queued request
    wipes = [c for c in control.calls(control.since) if c["cmdlet"] == "Clear-ActiveSyncDevice"]
    assert len(wipes) == 1 and wipes[0]["parameters"]["Identity"] == device.identity
    state = client.get(reverse("api:deviceaction-detail", args=[action.pk])).json()
    assert state["state"] == State.SENT and [s["state"] for s in state["history"]] == ["requested", "sent"]
    history = client.get(reverse("api:deviceaction-list"), {"device": device.pk}).json()["results"]
    assert [a["id"] for a in history] == [action.pk]
    # Without a key, a second wipe of the same device is still the one request (the console's own rule).
    again = client.post(wipe_url(device), {}, content_type="application/json")
    assert again.status_code == 200 and again.json()["id"] == action.pk
    assert DeviceAction.objects.count() == 1


def test_the_device_list_costs_the_same_queries_for_3_or_30_devices(client, installed_device):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    as_(client, make_persona("analyst"))
    client.get(reverse("api:device-list"))  # the token's first use is written once

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("api:device-list")).status_code == 200
        return len(captured)

    few = queries()
    for _ in range(29):
        DeviceFactory(connector=installed_device.connector)
    assert queries() == few


def test_generating_the_schema_leaves_the_filters_of_the_console_and_the_api_working(client, installed_device):
    from drf_spectacular.generators import SchemaGenerator

    executives = CollectionFactory(name="Executives")
    CollectionMember.objects.create(collection=executives, device=installed_device, direct=True)
    DeviceFactory(user="intern", connector=installed_device.connector)
    SchemaGenerator().get_schema(request=None, public=True)  # what GET /api/schema/ does
    client.force_login(make_persona("analyst"))
    assert '<option value="iPhone">' in client.get(reverse("devices:device_list")).content.decode()
    listed = client.get(reverse("api:device-list"), {"collection": executives.pk, "device_type": "iPhone"}).json()["results"]
    assert [d["name"] for d in listed] == ["ceo_iPhone"]
