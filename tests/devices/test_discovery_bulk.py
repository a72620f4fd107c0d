"""The executemany writer of discovery: what it stores is exactly what Django's ORM stores."""
import datetime as dt
import uuid
from zoneinfo import ZoneInfo

import pytest
from django.db import connection, connections

from devices.discovery import bulk
from devices.models import Device
from tests.factories import DeviceFactory

pytestmark = pytest.mark.django_db


def _stored(device_pk: int) -> dict:
    """A device's row as the database holds it, every column as text (no converter on the way back)."""
    quote = connection.ops.quote_name
    columns = [f.column for f in Device._meta.concrete_fields]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(f'CAST({quote(c)} AS TEXT)' for c in columns)} "
                       f"FROM {quote(Device._meta.db_table)} WHERE id = %s", [device_pk])
        return dict(zip(columns, cursor.fetchone()))


def test_a_device_is_written_as_django_writes_it():
    zurich = dt.timezone(dt.timedelta(hours=2))
    by_orm = DeviceFactory(
        first_sync_time=dt.datetime(2026, 3, 29, 1, 59, 59, tzinfo=dt.timezone.utc),
        when_created=dt.datetime(2026, 3, 29, 3, 0, 0, 1, tzinfo=zurich),  # another offset, one microsecond
        when_changed=dt.datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=dt.timezone.utc),
        last_success_sync=dt.datetime(2026, 12, 8, 0, 0, tzinfo=dt.timezone(dt.timedelta(hours=-5, minutes=-30))),
        last_sync_attempt_time=None,
        device_wipe_request_time=dt.datetime(2026, 7, 1, 12, 0, 0, 500000, tzinfo=dt.timezone.utc),
        is_remote_wipe_supported=False, number_of_folders_synced=7)
    names = [f.name for f in Device._meta.concrete_fields if f.name != "id"]
    guid = uuid.uuid4()
    bulk.insert(Device, names, [[guid if n == "exchange_guid" else getattr(by_orm, n) for n in names]])

    copy = Device.objects.get(exchange_guid=guid)
    written, expected = _stored(copy.pk), _stored(by_orm.pk)
    for column in ("id", "exchange_guid"):
        del written[column], expected[column]
    assert written == expected
    assert copy.when_created == by_orm.when_created and copy.last_sync_attempt_time is None


@pytest.mark.parametrize("zone", ["UTC", "Europe/Zurich"])
def test_datetimes_go_to_the_database_as_django_gives_them_in_the_connections_time_zone(zone, monkeypatch):
    """SQLite: the same text; PostgreSQL: the datetimes themselves (no converter), as Django gives them."""
    monkeypatch.setitem(connections["default"].__dict__, "timezone", dt.timezone.utc if zone == "UTC" else ZoneInfo(zone))
    to_text = bulk._converter(Device._meta.get_field("when_changed")) or (lambda value: value)
    samples = [dt.datetime(2026, 3, 29, 0, 59, 59, tzinfo=dt.timezone.utc),
               dt.datetime(2026, 10, 25, 1, 30, 0, 250, tzinfo=dt.timezone.utc),
               dt.datetime(2026, 12, 8, 23, 0, tzinfo=dt.timezone(dt.timedelta(hours=-5, minutes=-30))),
               dt.datetime(2026, 12, 8, 23, 0), None]
    assert [to_text(value) for value in samples] == [connection.ops.adapt_datetimefield_value(v) for v in samples]
