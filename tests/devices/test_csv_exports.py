"""Every device export (list, reports, wipe actions) writes a formula from a device or a rule as text, never as a formula."""
import csv
import io
from datetime import timedelta

import pytest
from django.http import StreamingHttpResponse
from django.urls import reverse
from django.utils import timezone

from devices.models import DeviceAction
from devices.services import refresh_memberships
from easconsole.models import ExchangeConnector
from policies.models import AccessRule, ConnectorPolicy
from tests.factories import DeviceFactory, SiteFactory
from tests.personas import make_persona

pytestmark = pytest.mark.django_db

FORMULA = "=HYPERLINK(\"http://evil.example\",\"x\")"
SHOWN = "'" + FORMULA


def csv_rows(response) -> list[list[str]]:
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    content = b"".join(response.streaming_content) if isinstance(response, StreamingHttpResponse) else response.content
    return list(csv.reader(io.StringIO(content.decode())))


@pytest.fixture
def analyst(client, db):
    """An analyst, and a device and a rule whose names an attacker chose (a device reports its own type)."""
    connector = ExchangeConnector.objects.create(name="Contoso Exchange", site=SiteFactory(code="P01"))
    ConnectorPolicy.objects.create(connector=connector, settings={"DevicePasswordEnabled": True})
    AccessRule.objects.create(connector=connector, characteristic="DeviceModel", query_string=FORMULA, access_level="Block")
    device = DeviceFactory(user="eve", device_type=FORMULA, connector=connector, policy_application_status="NotApplied",
                           last_success_sync=timezone.now() - timedelta(days=60), device_telephone_number="+41791234567")
    DeviceAction.objects.create(device=device, device_name=device.name, device_identity=device.identity, connector=connector,
                                kind=DeviceAction.Kind.WIPE, requested_by_name="-1+1+cmd|' /C calc'!A0")
    refresh_memberships()
    client.force_login(make_persona("analyst"))
    return client


def test_the_device_list(analyst):
    analyst.post(reverse("devices:device_columns"), {"columns": ["device_type"]})  # a column to choose since issue 16
    rows = csv_rows(analyst.get(reverse("devices:device_list"), {"export": "csv"}))
    assert rows[1][rows[0].index("Device type")] == SHOWN


def test_devices_by_os_type_and_access_state(analyst):
    rows = csv_rows(analyst.get(reverse("devices:report_inventory"), {"export": "csv"}))
    assert ["Device type", SHOWN, "1"] in rows


def test_inactive_devices(analyst):
    rows = csv_rows(analyst.get(reverse("devices:report_inactive"), {"export": "csv"}))
    assert rows[1][0] == "eve_" + FORMULA  # starts with a letter: left as it is
    assert rows[1][rows[0].index("Device type")] == SHOWN


def test_compliance(analyst):
    rows = csv_rows(analyst.get(reverse("devices:report_compliance"), {"export": "csv"}))
    assert rows[1][rows[0].index("Device type")] == SHOWN


def test_settings_summary(analyst):
    rows = csv_rows(analyst.get(reverse("devices:report_settings"), {"export": "csv"}))
    assert ["Contoso Exchange", "Access rules", SHOWN + " (DeviceModel)", "Block"] in rows


def test_wipe_actions(analyst):
    rows = csv_rows(analyst.get(reverse("devices:wipe_report"), {"export": "csv"}))
    assert rows[1][rows[0].index("Requested by")] == "'-1+1+cmd|' /C calc'!A0"
    assert rows[1][rows[0].index("Attempts")] == "0"
