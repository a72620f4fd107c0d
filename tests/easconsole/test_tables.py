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


def test_each_device_table_has_its_own_columns(db):
    """django-tables2 copies a table's columns for each table: hiding one in a table leaves the others as they are."""
    request = RequestFactory().get("/")
    first = DeviceTable(Device.objects.none(), request=request)
    second = DeviceTable(Device.objects.none(), request=request)
    first.columns.hide("user_display_name")
    assert "user_display_name" not in [column.name for column in first.columns]
    assert "user_display_name" in [column.name for column in second.columns]
    assert DeviceTable.base_columns["user_display_name"].visible
    assert first.columns["name"].column is not second.columns["name"].column is not DeviceTable.base_columns["name"]
    chosen = DeviceTable(Device.objects.none(), request=request, columns=["device_imei"])
    assert [column.name for column in chosen.columns] == ["select", "name", "device_imei"]


def test_a_tick_box_s_computed_attributes_are_those_of_django_tables2(db):
    """Each computed attribute gets the arguments it asks for, as django-tables2 gives them; one asking for
    something else is left out, as django-tables2 leaves it out."""
    import django_tables2 as tables

    from easconsole.tables import ConsoleTable, LeanRowsMixin

    class TickTable(LeanRowsMixin, ConsoleTable):
        select = tables.CheckBoxColumn(accessor="pk", attrs={"td__input": {
            "data-name": lambda record: record.name, "data-value": lambda value: f"<{value}>",
            "data-both": lambda record, value: f"{record.name}&{value}", "data-all": lambda **kwargs: ",".join(sorted(kwargs)),
            "data-table": lambda table: "never", "data-none": lambda record: None, "data-fixed": "a\"b",
        }})
        name = tables.Column()

        class Meta(ConsoleTable.Meta):
            model = Device
            fields = ["name"]

    DeviceFactory(user="anna")
    DeviceFactory(user="<ben>")
    request = RequestFactory().get("/")

    def table():
        table = TickTable(Device.objects.order_by("pk"), request=request)
        RequestConfig(request, paginate={"per_page": 50}).configure(table)
        return table

    expected = DJANGO_TABLES2_ROWS.render(Context({"table": table()}))
    assert 'data-all="record,value"' in expected and "data-table" not in expected and "data-none" not in expected
    assert table().lean_rows() == expected
