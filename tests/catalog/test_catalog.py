"""The Application Catalog: an end user sees and wipes only their own devices; every tampering is refused and audited."""
import pytest
from django.utils import timezone
from django.urls import reverse

from devices.models import DeviceAction, UserDeviceAffinity
from easconsole.models import AuditEvent, ExchangeConnector
from tests.factories import DeviceFactory, SiteFactory
from tests.personas import make_persona, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def connector():
    return ExchangeConnector.objects.create(name="Contoso", site=SiteFactory(code="P01"), state=ExchangeConnector.State.INSTALLED,
                                            installed_at=timezone.now())


@pytest.fixture
def mine(connector):
    user = make_persona("end_user")
    devices = [DeviceFactory(user="erin", device_type=t, connector=connector) for t in ("iPhone", "iPad")]
    for device in devices:
        UserDeviceAffinity.objects.create(device=device, user=user, source="automatic")
    return user, devices


@pytest.fixture
def theirs(connector):
    other = make_user("someone", None)
    device = DeviceFactory(user="someone", device_type="Android", connector=connector)
    UserDeviceAffinity.objects.create(device=device, user=other, source="manual")
    return device


def refusals():
    return AuditEvent.objects.filter(outcome="denied")


def test_my_devices_lists_exactly_mine(client, mine, theirs):
    user, devices = mine
    client.force_login(user)
    page = client.get(reverse("catalog:my_devices")).text
    for device in devices:
        assert f'id="device-{device.pk}"' in page
    assert f'id="device-{theirs.pk}"' not in page


def test_wipe_needs_the_explicit_confirmation_then_is_requested(client, mine, django_capture_on_commit_callbacks):
    user, devices = mine
    client.force_login(user)
    url = reverse("catalog:device_wipe", args=[devices[0].pk])
    page = client.get(url).text
    assert "reset to factory settings: everything on it is erased" in page
    refused = client.post(url, {"kind": "wipe"})
    assert "Tick the box" in refused.text and not DeviceAction.objects.exists()
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(url, {"kind": "wipe", "understood": "yes"})
    assert response.status_code == 302
    action = DeviceAction.objects.get()
    assert (action.kind, action.state, action.via_catalog, action.requested_by) == ("wipe", "requested", True, user)
    page = client.get(reverse("catalog:my_devices")).text
    assert "Cancel wipe" in page and "Requested" in page


@pytest.mark.parametrize("name", ["catalog:device_wipe", "catalog:device_status"])
def test_someone_elses_device_by_url_is_404_and_audited(client, mine, theirs, name):
    client.force_login(mine[0])
    assert client.get(reverse(name, args=[theirs.pk])).status_code == 404
    assert client.post(reverse("catalog:device_wipe", args=[theirs.pk]), {"kind": "wipe", "understood": "yes"}).status_code == 404
    assert not DeviceAction.objects.exists()
    assert refusals().filter(username="end_user", object_id=str(theirs.pk)).count() == 2


def test_cancelling_someone_elses_wipe_is_404_and_audited(client, mine, theirs):
    client.force_login(mine[0])
    assert client.post(reverse("catalog:device_cancel_wipe", args=[theirs.pk])).status_code == 404
    assert refusals().filter(action="request cancel_wipe", username="end_user").exists()


@pytest.mark.parametrize("kind", ["delete", "block", "allow", "cancel_wipe", "anything"])
def test_tampered_action_field_is_refused(client, mine, kind):
    user, devices = mine
    client.force_login(user)
    response = client.post(reverse("catalog:device_wipe", args=[devices[0].pk]), {"kind": kind, "understood": "yes"})
    assert response.status_code == 404
    assert not DeviceAction.objects.exists()


def test_an_administrator_has_no_catalog_devices_but_their_own(client, theirs):
    client.force_login(make_persona("full_admin"))
    assert client.get(reverse("catalog:device_wipe", args=[theirs.pk])).status_code == 404
