"""Just-in-time accounts meet their mailbox: a person of the simulated Exchange organization, present in the
real directory, signs in once; after the next discovery their devices are in their Application Catalog,
without any administrator step."""
import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from devices.models import UserDeviceAffinity
from easconsole.exchange.simulator.testing import running_simulator
from tests.console import discovered, exchange_truth, installed_connector
from tests.signin.directory import PASSWORD

pytestmark = [pytest.mark.django_db, pytest.mark.simulator]


@pytest.fixture(scope="module")
def exchange():
    with running_simulator(devices=12, seed=17) as sim:
        yield sim


def test_a_directory_user_sees_their_devices_after_the_next_discovery(exchange, ldap_console):
    connector = installed_connector(exchange, install=False)
    pairs, mailboxes = exchange_truth(connector)
    owner = mailboxes[pairs[0][0].mailbox.lower()]
    theirs = {d.guid for d, _s in pairs if d.mailbox.lower() == owner.alias.lower()}
    ldap_console.add_user(owner.sam_account_name, "Pat", "Owner", upn=owner.user_principal_name or owner.primary_smtp_address,
                          mail=owner.primary_smtp_address)

    client = Client()
    response = client.post(reverse("login"), {"username": owner.sam_account_name, "password": PASSWORD})
    assert response["Location"] == reverse("catalog:my_devices")
    assert 'id="device-' not in client.get(reverse("catalog:my_devices")).text  # nothing discovered yet

    devices = discovered(connector)  # the next scheduled discovery, as the worker would run it
    account = get_user_model().objects.get(pk=client.session["_auth_user_id"])
    linked = set(UserDeviceAffinity.objects.filter(user=account).values_list("device__exchange_guid", flat=True))
    assert linked == theirs
    page = client.get(reverse("catalog:my_devices")).text
    for device in devices:
        assert (f'id="device-{device.pk}"' in page) == (device.exchange_guid in theirs)
