"""The console pages of device actions: confirmation, bulk selection with refusals, the wipe report."""
import pytest
from django.utils import timezone
from django.urls import reverse

from devices.models import CollectionMember, DeviceAction
from easconsole.models import AuditEvent, ExchangeConnector
from tests.factories import CollectionFactory, DeviceFactory, SiteFactory
from tests.personas import make_persona, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def devices():
    connector = ExchangeConnector.objects.create(name="Contoso", site=SiteFactory(code="P01"), state=ExchangeConnector.State.INSTALLED, installed_at=timezone.now(),
                                                 known_servers=[{"name": "EX1", "fqdn": "ex1", "roles": ["Mailbox"], "site": "HQ",
                                                                 "version": "Version 15.1 (Build 2507.6)"}])
    return [DeviceFactory(user=f"user{n}", connector=connector, device_active_sync_version=v)
            for n, v in enumerate(["16.1", "14.1", "16.1"])]


def test_confirmation_says_what_happens_to_which_device(client, devices):
    client.force_login(make_persona("operator"))
    page = client.get(reverse("devices:device_action", args=[devices[0].pk, "wipe"])).text
    assert devices[0].name in page and "reset to factory settings: everything on it is erased" in page


def test_account_only_wipe_is_disabled_with_the_reason_where_the_device_cannot(client, devices):
    client.force_login(make_persona("operator"))
    page = client.get(reverse("devices:device_action", args=[devices[1].pk, "account_wipe"])).text
    assert "needs Exchange ActiveSync 16.1 on the device; this one uses 14.1" in page
    assert "disabled" in page.split('data-testid="confirm"')[1].split(">")[0]
    response = client.post(reverse("devices:device_action", args=[devices[1].pk, "account_wipe"]))
    assert response.status_code == 302 and not DeviceAction.objects.exists()
    assert AuditEvent.objects.filter(action="request account_wipe", outcome="denied").exists()


def test_confirming_requests_once_and_says_so(client, devices):
    client.force_login(make_persona("operator"))
    url = reverse("devices:device_action", args=[devices[0].pk, "wipe"])
    client.post(url)
    response = client.post(url, follow=True)
    assert DeviceAction.objects.count() == 1
    assert "Wipe requested for" in response.text


def test_delete_during_a_wipe_needs_the_device_name_typed(client, devices):
    admin = make_persona("full_admin")
    client.force_login(admin)
    client.post(reverse("devices:device_action", args=[devices[0].pk, "wipe"]))
    url = reverse("devices:device_action", args=[devices[0].pk, "delete"])
    page = client.post(url, {"confirm_name": "something else"}).text
    assert f"Type {devices[0].name} exactly" in page
    assert not DeviceAction.objects.filter(kind="delete").exists()
    client.post(url, {"confirm_name": devices[0].name})
    assert DeviceAction.objects.filter(kind="delete", state="requested").exists()


def test_bulk_action_acts_only_on_permitted_devices_and_names_the_refused(client, devices):
    executives = CollectionFactory(name="Executives")
    CollectionMember.objects.create(collection=executives, device=devices[0])
    everyone = CollectionFactory(name="Readable")
    for device in devices:
        CollectionMember.objects.create(collection=everyone, device=device)
    operator = make_user("scoped", "Operations Administrator", collections=[executives])
    from easconsole import services
    from easconsole.models import Role, RoleAssignment

    services.role_assignment_save(assignment=RoleAssignment(user=operator, role=Role.objects.get(name="Read-only Analyst"),
                                                            all_collections=False), user=None, collections=[everyone])
    client.force_login(operator)
    url = reverse("devices:device_bulk_action", args=["block"])
    ids = [d.pk for d in devices]
    preview = client.post(url, {"device": ids})
    assert [d.name for d in preview.context["allowed"]] == [devices[0].name]
    assert {d.name for d in preview.context["refused"]} == {devices[1].name, devices[2].name}
    response = client.post(url, {"device": ids, "confirm": "1"}, follow=True)
    assert list(DeviceAction.objects.values_list("device", flat=True)) == [devices[0].pk]
    assert "Not requested" in response.text and devices[1].name in response.text
    assert AuditEvent.objects.filter(outcome="denied", action="request block").count() == 2


def test_wipe_report_counts_states_and_exports(client, devices):
    for device, state in zip(devices, ["acknowledged", "failed", "pending"]):
        DeviceAction.objects.create(device=device, device_name=device.name, device_identity=device.identity, kind="wipe",
                                    state=state, requested_by_name="operator", reason=f"INC-{state}")
    client.force_login(make_persona("analyst"))
    page = client.get(reverse("devices:wipe_report"))
    assert page.status_code == 200
    assert 'data-testid="count-acknowledged">1<' in page.text and 'data-testid="count-failed">1<' in page.text
    assert "Reason or ticket" in page.text and "INC-failed" in page.text
    export = client.get(reverse("devices:wipe_report"), {"export": "csv"}).content.decode()
    assert len(export.strip().splitlines()) == 4 and devices[1].name in export
    assert "Reason or ticket" in export.splitlines()[0] and "INC-failed" in export


def test_monitoring_raises_expired_and_failed_wipes(client, devices):
    for device, state in zip(devices, ["expired", "failed", "acknowledged"]):
        DeviceAction.objects.create(device=device, device_name=device.name, device_identity=device.identity, kind="wipe",
                                    state=state, requested_by_name="operator")
    client.force_login(make_persona("analyst"))
    page = client.get(reverse("devices:deviceaction_list")).text
    alert = page.split('data-testid="unfinished-wipes"')[1].split("</div>")[0]
    assert "1 wipe expired without an acknowledgement" in alert and "1 wipe failed" in alert
    assert "?kind=wipe&amp;state=expired" in alert


def test_a_reason_is_kept_with_the_action_and_in_the_audit_trail(client, devices):
    client.force_login(make_persona("operator"))
    client.post(reverse("devices:device_action", args=[devices[0].pk, "wipe"]), {"reason": "  INC0042: lost in a taxi "})
    action = DeviceAction.objects.get()
    assert action.reason == "INC0042: lost in a taxi"
    event = AuditEvent.objects.get(action="request wipe")
    assert event.changes == {"reason": "INC0042: lost in a taxi"}
    client.force_login(make_persona("analyst"))
    trail = client.get(reverse("easconsole:auditevent_list")).text
    assert f"Asked to wipe {devices[0].name} (reason: INC0042: lost in a taxi)" in trail
    assert "INC0042: lost in a taxi" in client.get(reverse("devices:deviceaction_detail", args=[action.pk])).text


def test_a_reason_too_long_is_refused_with_a_message_and_nothing_is_requested(client, devices):
    client.force_login(make_persona("operator"))
    page = client.post(reverse("devices:device_action", args=[devices[0].pk, "block"]), {"reason": "x" * 201}).text
    assert "at most 200 characters" in page and 'value="' + "x" * 201 in page
    assert not DeviceAction.objects.exists()
    bulk = client.post(reverse("devices:device_bulk_action", args=["block"]), {"device": [devices[0].pk], "confirm": "1", "reason": "y" * 201})
    assert "at most 200 characters" in bulk.text and not DeviceAction.objects.exists()


def test_bulk_action_carries_the_reason_to_each_device(client, devices):
    client.force_login(make_persona("operator"))
    url = reverse("devices:device_bulk_action", args=["block"])
    client.post(url, {"device": [d.pk for d in devices], "confirm": "1", "reason": "CHG-7"})
    assert list(DeviceAction.objects.values_list("reason", flat=True)) == ["CHG-7"] * 3
    assert AuditEvent.objects.filter(action="request block", changes__reason="CHG-7").count() == 3


def test_select_all_matching_acts_on_the_filtered_set_evaluated_again_within_scope(client, devices):
    others = [DeviceFactory(user=f"other{n}", connector=devices[0].connector, device_os="Android 14") for n in range(2)]
    ios = [d.pk for d in devices]
    client.force_login(make_persona("operator"))
    url = reverse("devices:device_bulk_action", args=["block"])
    form = {"all_matching": "1", "filter": "os_family=ios", "device": [others[0].pk]}  # a stray tick does not count
    preview = client.post(url, form)
    assert sorted(d.pk for d in preview.context["allowed"]) == sorted(ios)
    assert "all 3 devices matching the list" in preview.text
    # The list changed in between (a fourth iOS device): the count confirmed is not the count now, so ask again.
    late = DeviceFactory(user="late", connector=devices[0].connector, device_os="iOS 17.5")
    again = client.post(url, {**form, "confirm": "1", "count": "3"})
    assert again.status_code == 200 and not DeviceAction.objects.exists()
    assert "matches 4 devices now" in again.text
    client.post(url, {**form, "confirm": "1", "count": "4"})
    assert sorted(DeviceAction.objects.values_list("device", flat=True)) == sorted(ios + [late.pk])


def test_select_all_matching_is_capped_with_a_message(client, devices, monkeypatch):
    from devices.actions.views import BulkActionView

    monkeypatch.setattr(BulkActionView, "LIMIT", 2)
    client.force_login(make_persona("operator"))
    response = client.post(reverse("devices:device_bulk_action", args=["block"]), {"all_matching": "1", "filter": "", "confirm": "1",
                                                                                 "count": "3"}, follow=True)
    assert "matches more than 2 devices" in response.text and not DeviceAction.objects.exists()
