"""The what-if preview on the Access Rules page, its device list, and the drift and adopt buttons."""
import pytest
from django.urls import reverse

from devices.models import Collection, CollectionMember
from easconsole.models import AuditEvent, ExchangeConnector
from policies.models import AccessRule, ConnectorPolicy, PolicyPush
from tests.factories import DeviceFactory, SiteFactory
from tests.personas import make_persona

pytestmark = pytest.mark.django_db

QUARANTINE_ALL = {
    "default_access_level": "Quarantine", "admin_mail_recipients": "", "user_mail_insert": "",
    "rules-TOTAL_FORMS": "1", "rules-INITIAL_FORMS": "0",
    "rules-0-characteristic": "DeviceModel", "rules-0-query_string": "Pixel 8", "rules-0-access_level": "Allow",
}


@pytest.fixture
def connector():
    connector = ExchangeConnector.objects.create(name="Contoso Exchange", site=SiteFactory(code="P01"),
                                                 state=ExchangeConnector.State.INSTALLED)
    everyone = Collection.objects.get(name="All Mobile Devices")
    devices = ([DeviceFactory(connector=connector, access_state="Allowed", access_state_reason="Global",
                              device_type="SAMSUNGSMG998B", device_model="SM-G998B") for _ in range(3)]
               + [DeviceFactory(connector=connector, access_state="Allowed", access_state_reason="Global") for _ in range(2)]
               + [DeviceFactory(connector=connector, access_state="Allowed", access_state_reason="Global",
                                device_type="Android", device_model="Pixel 8")]
               # Allowed on the mailbox's own list: the default level does not apply to it.
               + [DeviceFactory(connector=connector, access_state="Allowed", access_state_reason="Individual")])
    for device in devices:
        CollectionMember.objects.create(collection=everyone, device=device)
    return connector


def test_a_change_that_quarantines_devices_is_previewed_and_applied_only_when_confirmed(client, connector):
    client.force_login(make_persona("full_admin"))
    url = reverse("policies:connector_access_rules", args=[connector.pk])

    page = client.post(url, QUARANTINE_ALL)
    assert page.status_code == 200 and not AccessRule.objects.exists()
    assert "5 devices would become Quarantined (now Allowed): 3 SM-G998B, 2 iPhone15C2" in page.text
    assert 'name="acknowledge"' in page.text and "Apply this change" in page.text

    # Confirming without ticking the box applies nothing either.
    page = client.post(url, {**QUARANTINE_ALL, "confirmed": "1"})
    assert page.status_code == 200 and "Tick the box" in page.text and not AccessRule.objects.exists()

    # The link lists exactly those devices.
    listing = client.get(page.context["preview"]["list_url"])
    assert listing.status_code == 200 and "5 devices would change access state." in listing.text
    assert listing.text.count("Quarantined</td>") == 5 and "Pixel 8</td>" not in listing.text

    response = client.post(url, {**QUARANTINE_ALL, "confirmed": "1", "acknowledge": "1"})
    assert response.status_code == 302
    assert ConnectorPolicy.objects.get(connector=connector).default_access_level == "Quarantine"
    push = PolicyPush.objects.get(connector=connector)
    assert push.state == PolicyPush.State.REQUESTED and push.requested_by_name == "full_admin"
    page = client.get(url)
    assert 'data-testid="pushes"' in page.text and "Access rules saved" in page.text


def test_a_change_that_touches_no_device_is_saved_at_once(client, connector):
    client.force_login(make_persona("full_admin"))
    url = reverse("policies:connector_access_rules", args=[connector.pk])
    response = client.post(url, {**QUARANTINE_ALL, "default_access_level": "Allow"})
    assert response.status_code == 302 and AccessRule.objects.get().query_string == "Pixel 8"


def test_drift_is_shown_with_both_values_and_exchanges_rules_can_be_adopted(client, connector):
    ConnectorPolicy.objects.create(
        connector=connector, settings={"AllowCamera": False},
        drift=[{"setting": "AllowCamera", "console": "False", "exchange": "True", "area": "policy", "key": "AllowCamera",
                "raw": True}],
        foreign_rules=[{"identity": "WP8 (DeviceType)", "characteristic": "DeviceType", "query_string": "WP8",
                        "access_level": "Block"}])
    client.force_login(make_persona("full_admin"))
    page = client.get(reverse("policies:connector_settings", args=[connector.pk]))
    assert 'data-testid="drifted"' in page.text and "Apply the console's settings again" in page.text
    detail = client.get(reverse("easconsole:exchangeconnector_detail", args=[connector.pk]))
    assert 'data-testid="drifted"' in detail.text

    rules_url = reverse("policies:connector_access_rules", args=[connector.pk])
    assert "WP8 (DeviceType)" in client.get(rules_url).text
    client.post(reverse("policies:connector_adopt_rule", args=[connector.pk]), {"identity": "WP8 (DeviceType)", "next": rules_url})
    assert AccessRule.objects.get().identity == "WP8 (DeviceType)"
    assert ConnectorPolicy.objects.get(connector=connector).owned_rules == ["WP8 (DeviceType)"]
    assert AuditEvent.objects.filter(action="adopt").exists()

    client.post(reverse("policies:connector_take_exchange", args=[connector.pk]))
    policy = ConnectorPolicy.objects.get(connector=connector)
    assert policy.settings.get("AllowCamera") is True and policy.drift == []

    client.post(reverse("policies:connector_push", args=[connector.pk]))
    assert PolicyPush.objects.filter(connector=connector, state=PolicyPush.State.REQUESTED).count() == 1
