"""Import User Device Affinity: a device deleted (through Exchange) between the preview and Import is dropped and named."""
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from devices.actions import services as actions
from devices.models import DeviceAction, UserDeviceAffinity
from easconsole.exchange.simulator.testing import running_simulator
from tests.console import discovered, installed_connector
from tests.factories import UserFactory
from tests.personas import make_persona

pytestmark = [pytest.mark.django_db, pytest.mark.simulator]
IMPORT = reverse("devices:affinity_import")


@pytest.fixture(scope="module")
def exchange():
    with running_simulator(devices=6) as sim:
        yield sim


def test_import_after_a_previewed_device_was_deleted_imports_the_others_and_names_the_dropped_row(exchange, control, client):
    kept, deleted = discovered(installed_connector(exchange))[:2]
    UserFactory(username="CONTOSO\\jdoe")
    operator = make_persona("operator")
    client.force_login(operator)
    upload = SimpleUploadedFile("links.csv", f"User,Device\r\nCONTOSO\\jdoe,{kept.name}\r\nCONTOSO\\jdoe,{deleted.device_id}\r\n".encode())
    page = client.get(client.post(IMPORT, {"file": upload})["Location"])
    assert page.context["preview"]["new_count"] == 2

    # Someone deletes the second device (Remove-ActiveSyncDevice through the simulator) before Import is pressed.
    actions.action_execute(actions.action_request(device=deleted, kind=DeviceAction.Kind.DELETE, user=make_persona("full_admin")).pk)
    deleted.refresh_from_db()
    assert deleted.missing_since is not None

    response = client.post(IMPORT, {"token": page.context["preview"]["token"], "confirm": "1"}, follow=True)
    assert list(UserDeviceAffinity.objects.values_list("device__name", "user__username")) == [(kept.name, "CONTOSO\\jdoe")]
    said = response.content.decode()
    assert "Imported 1 user device affinities from links.csv." in said
    assert f"1 row(s) of the preview were not imported: line 3 ({deleted.name} ({deleted.device_id})): the device was deleted " \
           "since the preview, or Exchange no longer has it." in said
