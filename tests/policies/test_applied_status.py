"""The device list's Policy column and filter: whether each device applied the connector's settings."""
import pytest
from django.urls import reverse

from devices.models import Collection, CollectionMember
from tests.factories import DeviceFactory
from tests.personas import make_persona

pytestmark = pytest.mark.django_db
LIST = reverse("devices:device_list")


@pytest.fixture
def devices():
    everyone = Collection.objects.get(name="All Mobile Devices")
    made = {}
    for status in ("AppliedInFull", "PartiallyApplied", "NotApplied", "", "Unknown"):
        device = DeviceFactory(policy_application_status=status, policy_applied="Default")
        CollectionMember.objects.create(collection=everyone, device=device)
        made[status or "(blank)"] = device
    return made


def names(response):
    return sorted(row.record.name for row in response.context["table"].page.object_list)


def test_the_policy_filter_picks_each_state_and_unknown_takes_the_rest(client, devices):
    client.force_login(make_persona("analyst"))
    assert names(client.get(LIST, {"policy": "AppliedInFull"})) == [devices["AppliedInFull"].name]
    assert names(client.get(LIST, {"policy": "PartiallyApplied"})) == [devices["PartiallyApplied"].name]
    assert names(client.get(LIST, {"policy": "NotApplied"})) == [devices["NotApplied"].name]
    assert names(client.get(LIST, {"policy": "Unknown"})) == sorted([devices["(blank)"].name, devices["Unknown"].name])


def test_the_policy_column_says_it_in_words(client, devices):
    client.force_login(make_persona("analyst"))
    page = client.get(LIST).text
    for words in ("Applied in full", "Partially applied", "Not applied"):
        assert f">{words}</span></td>" in page
    assert page.count(">Unknown</span></td>") + page.count(">Unknown</td>") == 2  # a blank status takes the default
