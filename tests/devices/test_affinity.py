"""Edit Primary Users: search, add and remove the users of a device, each link with its source; audited; by permission."""
import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from devices.affinity import services
from devices.models import Collection, CollectionMember, UserDeviceAffinity
from easconsole.models import AuditEvent
from tests.factories import CollectionFactory, DeviceFactory, UserFactory
from tests.personas import make_persona, make_user

pytestmark = pytest.mark.django_db
MANUAL, AUTOMATIC = UserDeviceAffinity.Source.MANUAL, UserDeviceAffinity.Source.AUTOMATIC


@pytest.fixture
def device():
    executives = CollectionFactory(name="Executives")
    device = DeviceFactory(user="ceo", device_type="iPhone")
    for collection in (Collection.objects.get(name="All Mobile Devices"), executives):
        CollectionMember.objects.create(collection=collection, device=device)
    return device


@pytest.fixture
def ceo():
    return UserFactory(username="CONTOSO\\ceo", first_name="Carla", last_name="Ortiz", email="carla.ortiz@contoso.com")


def url(device, **query):
    base = reverse("devices:device_affinity", args=[device.pk])
    return base + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def test_search_finds_users_by_user_name_name_and_email(device, ceo, persona_client):
    client = persona_client("operator")
    for query in ("ceo", "Carla", "carla ortiz", "ortiz@contoso"):
        response = client.get(url(device, q=query))
        assert list(response.context["candidates"]) == [ceo], query
    assert "No active account matches" in client.get(url(device, q="zzz")).content.decode()


def test_add_and_remove_by_hand_are_manual_and_audited(device, ceo, persona_client):
    client = persona_client("operator")
    response = client.post(url(device), {"operation": "add", "user": ceo.pk, "q": "ceo"}, REMOTE_ADDR="10.1.1.1")
    assert response.status_code == 302 and response["Location"] == url(device, q="ceo")
    affinity = UserDeviceAffinity.objects.get(device=device)
    assert (affinity.user, affinity.source) == (ceo, MANUAL)
    page = client.get(url(device)).content.decode()
    assert "Manual (administrator)" in page and "CONTOSO\\ceo" in page
    assert ceo not in client.get(url(device, q="ceo")).context["candidates"]  # already linked: not offered again

    client.post(url(device), {"operation": "remove", "affinity": affinity.pk})
    assert not UserDeviceAffinity.objects.filter(device=device).exists()
    events = list(AuditEvent.objects.filter(username="operator", object_id=str(device.pk)).order_by("pk")
                  .values_list("action", "changes", "outcome"))
    assert events == [("add primary user", {"user": "CONTOSO\\ceo", "source": "manual"}, "success"),
                      ("remove primary user", {"user": "CONTOSO\\ceo", "source": "manual"}, "success")]
    assert AuditEvent.objects.filter(action="add primary user").get().address == "10.1.1.1"


def test_each_link_shows_its_source(device, ceo, persona_client):
    UserDeviceAffinity.objects.create(device=device, user=ceo, source=AUTOMATIC)
    UserDeviceAffinity.objects.create(device=device, user=UserFactory(username="assistant"), source=UserDeviceAffinity.Source.IMPORTED)
    page = persona_client("analyst").get(url(device)).content.decode()
    assert "Automatic (Exchange Server connector)" in page and "Imported from a file" in page


def test_removing_an_automatic_link_warns_that_discovery_brings_it_back(device, ceo, persona_client):
    affinity = UserDeviceAffinity.objects.create(device=device, user=ceo, source=AUTOMATIC)
    client = persona_client("full_admin")
    page = client.get(url(device)).content.decode()
    assert "Device given to another person?" in page and reverse("devices:device_action", args=[device.pk, "delete"]) in page
    response = client.post(url(device), {"operation": "remove", "affinity": affinity.pk}, follow=True)
    assert "comes back at the next discovery" in response.content.decode()


def test_adding_twice_is_refused_with_a_message(device, ceo, persona_client):
    client = persona_client("operator")
    client.post(url(device), {"operation": "add", "user": ceo.pk})
    response = client.post(url(device), {"operation": "add", "user": ceo.pk}, follow=True)
    assert "already a primary user" in response.content.decode()
    assert UserDeviceAffinity.objects.filter(device=device).count() == 1


def test_analyst_reads_but_cannot_edit(device, ceo, persona_client):
    UserDeviceAffinity.objects.create(device=device, user=ceo, source=AUTOMATIC)
    client = persona_client("analyst")
    response = client.get(url(device, q="ceo"))
    html = response.content.decode()
    assert response.status_code == 200 and 'data-testid="read-only"' in html
    assert 'name="operation"' not in html and not response.context["candidates"]
    assert client.post(url(device), {"operation": "add", "user": UserFactory(username="x").pk}).status_code == 403
    assert client.post(url(device), {"operation": "remove", "affinity": UserDeviceAffinity.objects.get().pk}).status_code == 403
    assert UserDeviceAffinity.objects.filter(device=device).count() == 1
    assert sorted(AuditEvent.objects.filter(username="analyst", object_id=str(device.pk)).values_list("action", "outcome")) == [
        ("add primary user", "denied"), ("remove primary user", "denied")]


def test_operator_of_another_collection_gets_404(device, ceo, client):
    other = make_user("sales-operator", "Operations Administrator", collections=[CollectionFactory(name="Sales")])
    client.force_login(other)
    assert client.get(url(device)).status_code == 404
    assert client.post(url(device), {"operation": "add", "user": ceo.pk}).status_code == 404
    assert not UserDeviceAffinity.objects.exists()


def test_services_refuse_without_modify_resource(device, ceo):
    analyst = make_persona("analyst")
    with pytest.raises(PermissionDenied):
        services.affinity_add(device=device, user=ceo, actor=analyst)
    affinity = UserDeviceAffinity.objects.create(device=device, user=ceo, source=AUTOMATIC)
    with pytest.raises(PermissionDenied):
        services.affinity_remove(affinity=affinity, actor=analyst)
    assert UserDeviceAffinity.objects.filter(pk=affinity.pk).exists()


def test_a_disabled_account_cannot_be_added(device):
    gone = UserFactory(username="left", is_active=False)
    with pytest.raises(ValidationError, match="disabled"):
        services.affinity_add(device=device, user=gone, actor=make_persona("operator"))


def test_the_catalog_shows_a_device_once_linked_by_hand(device, ceo, client):
    services.affinity_add(device=device, user=ceo, actor=make_persona("operator"))
    client.force_login(ceo)
    assert reverse("catalog:device_wipe", args=[device.pk]) in client.get(reverse("catalog:my_devices")).content.decode()
