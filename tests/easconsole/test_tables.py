"""LeanRowsMixin writes the rows django-tables2 would write, cell for cell, only cheaper."""
from datetime import timedelta

import pytest
from django.template import Context, Template
from django.test import RequestFactory
from django.utils import timezone
from django_tables2 import RequestConfig

from devices.models import Device
from devices.tables import DeviceTable
from easconsole.models import ExchangeConnector
from tests.factories import DeviceFactory, SiteFactory

pytestmark = pytest.mark.django_db

DJANGO_TABLES2_ROWS = Template(
    "{% for row in table.paginated_rows %}<tr {{ row.attrs.as_html }}>{% for cell in row %}<td>{{ cell }}</td>{% endfor %}</tr>"
    "{% if not forloop.last %}\n{% endif %}{% endfor %}"
)


def test_the_device_list_rows_are_those_of_django_tables2(db):
    connector = ExchangeConnector.objects.create(name="Contoso <Exchange>", site=SiteFactory(code="P01"))
    now = timezone.now()
    DeviceFactory(user="anna", connector=connector, last_success_sync=now - timedelta(hours=3), status="DeviceWipePending",
                  access_state="Blocked", policy_application_status="AppliedInFull", device_wipe_request_time=now)
    DeviceFactory(user="ben", connector=None, last_success_sync=None, missing_since=now - timedelta(days=2), access_state="",
                  device_model="<b>Pixel</b>", device_type="Android", device_os="Android 14.0.0")
    DeviceFactory(user="chlo\u202ee", friendly_name="", device_imei="", status="Odd", first_sync_time=now - timedelta(days=400))
    request = RequestFactory().get("/")

    def table(columns):  # a fresh one each time: a table counts its rows as it goes (even, odd)
        table = DeviceTable(Device.objects.select_related("connector"), request=request, columns=columns)
        RequestConfig(request, paginate={"per_page": 50}).configure(table)
        return table

    for columns in (None, DeviceTable.choosable_columns()):
        expected = DJANGO_TABLES2_ROWS.render(Context({"table": table(columns)}))
        assert expected.count("<tr ") == 3
        assert table(columns).lean_rows() == expected
