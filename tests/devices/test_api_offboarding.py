"""Offboarding through the API: who may read and start one (as on the console's pages, audited the same way),
idempotent starts, and one leaver offboarded through the simulated organization to acknowledgement."""
import uuid

import pytest
from django.urls import reverse

from devices.actions import services as actions
from devices.models import CollectionMember, DeviceAction, Offboarding
from devices.offboarding import services
from easconsole.exchange.simulator.testing import running_simulator
from easconsole.models import AuditEvent
from tests.console import discovered, installed_connector
from tests.devices.test_api import as_, installed_device  # noqa: F401 (a fixture)
from tests.devices.test_offboarding import calls, leaver
from tests.factories import CollectionFactory, DeviceFactory
from tests.personas import make_persona, make_user

pytestmark = pytest.mark.django_db
State, Kind, Block = DeviceAction.State, DeviceAction.Kind, Offboarding.Block
LIST = reverse("api:offboarding-list")


def start(client, body, **headers):
    return client.post(LIST, body, content_type="application/json", **headers)


@pytest.fixture
def leaver_devices(installed_device):
    """The leaver "ceo" on Exchange 2019: an iPhone (account-only wipe) and an old Android that can only be reset."""
    connector = installed_device.connector
    connector.known_servers = [{"name": "EX01", "version": "Version 15.2 (Build 1544.4)"}]
    connector.save(update_fields=["known_servers"])
    android = DeviceFactory(user="ceo", connector=installed_device.connector, device_type="Android",
                            device_active_sync_version="14.1")
    return [installed_device, android]


@pytest.mark.parametrize("persona", ["operator", "full_admin"])
def test_an_administrator_starts_an_offboarding_and_follows_it(client, leaver_devices, persona):
    iphone, android = leaver_devices
    as_(client, make_persona(persona))
    answer = start(client, {"connector": iphone.connector_id, "mailbox": "CEO", "full_wipe_device_ids": []})
    assert answer.status_code == 201, answer.json()
    body = answer.json()
    assert body["mailbox"] == "ceo" and body["block_state"] == Block.WAITING and body["requested_by_name"] == persona
    outcome = {row["device"]: row for row in body["devices"]}
    assert outcome[iphone.pk]["wipe_kind"] == Kind.ACCOUNT_WIPE and outcome[android.pk]["wipe_kind"] == Kind.WIPE
    assert {row["wipe_state"] for row in body["devices"]} == {State.REQUESTED}
    assert outcome[iphone.pk]["snapshot"]["device_imei"] == iphone.device_imei
    evidence = AuditEvent.objects.get(action="offboard", username=persona, outcome="success")
    assert {d["device_id"] for d in evidence.changes["devices"]} == {iphone.device_id, android.device_id}
    assert client.get(reverse("api:offboarding-detail", args=[body["id"]])).json() == body
    assert [o["id"] for o in client.get(LIST).json()["results"]] == [body["id"]]


def test_a_chosen_full_wipe_resets_the_device(client, leaver_devices):
    iphone, _android = leaver_devices
    as_(client, make_persona("operator"))
    body = start(client, {"connector": iphone.connector_id, "mailbox": "ceo", "full_wipe_device_ids": [iphone.pk]}).json()
    assert {row["device"]: row["wipe_kind"] for row in body["devices"]}[iphone.pk] == Kind.WIPE


def test_a_retried_start_with_its_key_starts_once(client, leaver_devices):
    as_(client, make_persona("operator"))
    key = {"HTTP_IDEMPOTENCY_KEY": str(uuid.uuid4())}
    body = {"connector": leaver_devices[0].connector_id, "mailbox": "ceo"}
    first, retry = start(client, body, **key), start(client, body, **key)
    assert first.status_code == retry.status_code == 201 and retry.json() == first.json()
    assert retry["Idempotent-Replayed"] == "true"
    assert Offboarding.objects.count() == 1 and DeviceAction.objects.count() == 2
    other = start(client, {**body, "full_wipe_device_ids": [leaver_devices[0].pk]}, **key)
    assert other.status_code == 422 and Offboarding.objects.count() == 1


def test_bad_input_is_refused_with_the_reason_and_starts_nothing(client, leaver_devices):
    intern = DeviceFactory(user="intern", connector=leaver_devices[0].connector)
    as_(client, make_persona("operator"))
    connector = leaver_devices[0].connector_id
    stranger = start(client, {"connector": connector, "mailbox": "ceo", "full_wipe_device_ids": [intern.pk]})
    assert stranger.status_code == 400 and stranger["Content-Type"] == "application/problem+json"
    assert stranger.json()["errors"] == {"full_wipe_device_ids": [f"Device {intern.pk} is not one of this mailbox's devices: "
                                                                  "nothing was started."]}
    assert start(client, {"connector": connector, "mailbox": "nobody"}).status_code == 404
    assert start(client, {"connector": connector + 1, "mailbox": "ceo"}).status_code == 404
    missing = start(client, {"connector": connector})
    assert missing.status_code == 400 and "mailbox" in missing.json()["errors"]
    assert not Offboarding.objects.exists() and not DeviceAction.objects.exists()


def test_an_analyst_reads_the_offboardings_but_may_not_start_one(client, leaver_devices):
    offboarding = services.start_offboarding(user=make_persona("operator"), connector_id=leaver_devices[0].connector_id,
                                             mailbox="ceo")
    as_(client, make_persona("analyst"))
    assert [o["id"] for o in client.get(LIST).json()["results"]] == [offboarding.pk]
    assert len(client.get(reverse("api:offboarding-detail", args=[offboarding.pk])).json()["devices"]) == 2
    refused = start(client, {"connector": leaver_devices[0].connector_id, "mailbox": "ceo"})
    assert refused.status_code == 403 and refused["Content-Type"] == "application/problem+json"
    assert Offboarding.objects.count() == 1


def test_an_end_user_reads_and_starts_nothing(client, leaver_devices):
    offboarding = services.start_offboarding(user=make_persona("operator"), connector_id=leaver_devices[0].connector_id,
                                             mailbox="ceo")
    as_(client, make_persona("end_user"))
    assert client.get(LIST).status_code == 403
    assert client.get(reverse("api:offboarding-detail", args=[offboarding.pk])).status_code == 403
    assert start(client, {"connector": leaver_devices[0].connector_id, "mailbox": "ceo"}).status_code == 403
    assert Offboarding.objects.count() == 1


def test_an_operator_with_only_some_devices_in_scope_is_refused_and_audited(client, leaver_devices):
    iphone, android = leaver_devices
    scoped = CollectionFactory(name="Only the iPhone")
    CollectionMember.objects.create(collection=scoped, device=iphone, direct=True)
    as_(client, make_user("scoped", "Operations Administrator", collections=[scoped]))
    refused = start(client, {"connector": iphone.connector_id, "mailbox": "ceo"})
    assert refused.status_code == 403
    denial = AuditEvent.objects.get(action="offboard", outcome="denied", username="scoped")
    assert denial.object_repr == "ceo" and android.name in denial.message
    assert not Offboarding.objects.exists() and not DeviceAction.objects.exists()
    # An offboarding of devices outside the scope does not exist for them; one with the iPhone does.
    outside = services.start_offboarding(user=make_persona("operator"), connector_id=iphone.connector_id, mailbox="ceo")
    CollectionMember.objects.filter(collection=scoped).delete()
    assert client.get(reverse("api:offboarding-detail", args=[outside.pk])).status_code == 404
    assert client.get(LIST).json()["results"] == []
    CollectionMember.objects.create(collection=scoped, device=iphone, direct=True)
    assert [o["id"] for o in client.get(LIST).json()["results"]] == [outside.pk]


# --- through the simulated organization: started and followed through the API, to ActiveSync turned off.
@pytest.fixture(scope="module")
def exchange():
    with running_simulator(devices=30) as sim:
        yield sim


@pytest.mark.simulator
def test_a_leaver_offboarded_through_the_api_is_followed_to_acknowledgement(client, exchange, control,
                                                                             django_capture_on_commit_callbacks):
    mailbox, mine = leaver(discovered(installed_connector(exchange)), control)
    as_(client, make_persona("operator"))
    with django_capture_on_commit_callbacks(execute=True):
        answer = start(client, {"connector": mine[0].connector_id, "mailbox": mailbox, "full_wipe_device_ids": [mine[0].pk]},
                       HTTP_IDEMPOTENCY_KEY="HR-4711")
    assert answer.status_code == 201, answer.json()
    url = reverse("api:offboarding-detail", args=[answer.json()["id"]])

    for wipe in DeviceAction.objects.all():  # what the worker does with each queued wipe
        actions.action_execute(wipe.pk)
    with django_capture_on_commit_callbacks(execute=True):
        for device in mine:
            control.sync_device(device.device_id)
        actions.poll_open_wipes()
    followed = client.get(url).json()
    assert {row["wipe_state"] for row in followed["devices"]} == {State.ACKNOWLEDGED}
    assert followed["block_state"] == Block.REQUESTED and not calls(control, "Set-CASMailbox")

    services.block_mailbox(followed["id"])  # the worker turns ActiveSync off
    finished = client.get(url).json()
    assert finished["block_state"] == Block.DONE and finished["finished_at"] and finished["blocked_at"]
    [call] = calls(control, "Set-CASMailbox")
    assert call["parameters"] == {"Identity": mailbox, "ActiveSyncEnabled": False}
    assert control.user(mailbox)["activesync_enabled"] is False
    wiped = [c["parameters"] for c in control.calls(control.since) if c["cmdlet"] in ("Clear-ActiveSyncDevice", "Clear-MobileDevice")]
    assert sorted(p["Identity"] for p in wiped) == sorted(d.identity for d in mine)  # each device wiped once
    [chosen] = [p for p in wiped if p["Identity"] == mine[0].identity]
    assert "AccountOnly" not in chosen  # the full wipe chosen for it


def test_the_list_costs_the_same_queries_for_1_or_6_offboardings(client, leaver_devices):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    operator = make_persona("operator")
    as_(client, make_persona("analyst"))
    client.get(LIST)  # the token's first use is written once

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(LIST).status_code == 200
        return len(captured)

    services.start_offboarding(user=operator, connector_id=leaver_devices[0].connector_id, mailbox="ceo")
    few = queries()
    for n in range(5):
        device = DeviceFactory(user=f"leaver{n}", connector=leaver_devices[0].connector)
        services.start_offboarding(user=operator, connector_id=device.connector_id, mailbox=device.mailbox)
    assert len(client.get(LIST).json()["results"]) == 6 and queries() == few
