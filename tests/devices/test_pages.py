"""Assets and Compliance ▸ Devices: the list (filters, search, sorting, columns, CSV, paging) and device details."""
import csv
import io
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.http import StreamingHttpResponse
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from devices import paginators
from devices.models import Collection, CollectionRule, DeviceAction, UserDeviceAffinity
from devices.services import refresh_memberships
from devices.tables import DeviceTable
from devices.views.devices import COLUMNS_SESSION_KEY
from easconsole.models import ExchangeConnector
from tests.factories import CollectionFactory, DeviceFactory, SiteFactory, UserFactory
from tests.personas import make_persona, make_user

pytestmark = pytest.mark.django_db

LIST = reverse("devices:device_list")


def rows_of(response) -> list[list[str]]:
    assert isinstance(response, StreamingHttpResponse)
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def names(response) -> list[str]:
    """The device names of the list page, in order."""
    return [row.record.name for row in response.context["table"].paginated_rows]


@pytest.fixture
def fleet(db):
    now = timezone.now()
    site = SiteFactory(code="P01")
    contoso = ExchangeConnector.objects.create(name="Contoso Exchange", site=site)
    fabrikam = ExchangeConnector.objects.create(name="Fabrikam Exchange", site=site)
    devices = {
        "anna_iphone": DeviceFactory(user="anna.smith", device_type="iPhone", device_os="iOS 17.5.1 21F90", connector=contoso,
                                     device_imei="356938035643809", last_success_sync=now - timedelta(hours=2)),
        "ben_android": DeviceFactory(user="ben.jones", device_type="SAMSUNGSMG998B", device_model="SM-G998B",
                                     device_os="Android 14.0.0", connector=contoso, access_state="Quarantined",
                                     access_state_reason="DeviceRule", last_success_sync=now - timedelta(days=3)),
        "carla_surface": DeviceFactory(user="carla.rossi", device_type="WindowsMail", device_model="Surface Pro 9",
                                       device_os="Windows 10.0.22631", connector=fabrikam, access_state="Blocked",
                                       last_success_sync=now - timedelta(days=45)),
        "dan_palm": DeviceFactory(user="dan.kim", device_type="PalmPre", device_model="Pre", device_os="Palm webOS 2.2.4",
                                  connector=fabrikam, last_success_sync=None, missing_since=now - timedelta(days=2)),
        "erin_wiped": DeviceFactory(user="erin.chen", device_type="iPad", device_os="iOS 16.7.8 20H343", connector=contoso,
                                    status="DeviceWipePending", device_wipe_request_time=now - timedelta(minutes=30),
                                    last_device_wipe_requestor="contoso\\operator", last_success_sync=now - timedelta(days=40)),
        "wp": DeviceFactory(user="fred.wolf", device_type="WP8", device_os="Windows Phone 10.0.15254", connector=contoso,
                            last_success_sync=now - timedelta(days=400)),
    }
    executives = CollectionFactory(name="Executives")
    CollectionRule.objects.create(collection=executives, field="mailbox", operator="starts_with", value="anna")
    refresh_memberships()
    return {**devices, "contoso": contoso, "fabrikam": fabrikam, "executives": executives}


def test_list_shows_every_device_to_whoever_reads_all_collections(client, fleet):
    client.force_login(make_persona("analyst"))
    response = client.get(LIST)
    assert response.status_code == 200
    assert sorted(names(response)) == sorted(d.name for k, d in fleet.items() if k not in ("contoso", "fabrikam", "executives"))
    assert fleet["anna_iphone"].device_id in response.text  # two devices may share a name: the ID tells them apart
    assert "6 devices" in response.text


def test_a_scoped_operator_sees_only_the_devices_of_their_collections(client, fleet):
    client.force_login(make_user("exec-operator", "Operations Administrator", collections=[fleet["executives"]]))
    assert names(client.get(LIST)) == ["anna.smith_iPhone"]
    assert client.get(reverse("devices:device_detail", args=[fleet["anna_iphone"].pk])).status_code == 200
    assert client.get(reverse("devices:device_detail", args=[fleet["ben_android"].pk])).status_code == 404
    assert client.get(reverse("devices:device_detail", args=[fleet["ben_android"].pk]), {"pane": 1}).status_code == 404
    exported = rows_of(client.get(LIST, {"export": "csv"}))
    assert [row[0] for row in exported[1:]] == ["anna.smith_iPhone"]
    # The collection filter offers only the collections they may read.
    assert [c.name for c in client.get(LIST).context["filter"].form.fields["collection"].queryset] == ["Executives"]


def test_a_device_in_no_collection_of_the_operator_is_404_even_to_guessing(client, fleet):
    outsider = DeviceFactory(user="zoe.outside")  # discovered after the last refresh: in no collection yet
    client.force_login(make_user("exec-operator", "Operations Administrator", collections=[fleet["executives"]]))
    assert client.get(reverse("devices:device_detail", args=[outsider.pk])).status_code == 404
    assert client.get(reverse("devices:device_detail", args=[10_000_000])).status_code == 404


@pytest.mark.parametrize(("params", "expected"), [
    ({"q": "ben.jones"}, ["ben_android"]),
    ({"q": "356938035643809"}, ["anna_iphone"]),  # IMEI
    ({"q": "surface pro"}, ["carla_surface"]),  # model, any case
    ({"device_type": "iPhone"}, ["anna_iphone"]),
    ({"os_family": "ios"}, ["anna_iphone", "erin_wiped"]),
    ({"os_family": "android"}, ["ben_android"]),
    ({"os_family": "windows"}, ["carla_surface"]),
    ({"os_family": "windows_phone"}, ["wp"]),
    ({"os_family": "other"}, ["dan_palm"]),
    ({"access_state": "Quarantined"}, ["ben_android"]),
    ({"access_state": "Blocked"}, ["carla_surface"]),
    ({"status": "DeviceWipePending"}, ["erin_wiped"]),
    ({"inactive_days": "30"}, ["carla_surface", "dan_palm", "erin_wiped", "wp"]),  # never synced counts as inactive
    ({"inactive_days": "30", "os_family": "ios"}, ["erin_wiped"]),
    ({"missing": "true"}, ["dan_palm"]),
    ({"missing": "false"}, ["anna_iphone", "ben_android", "carla_surface", "erin_wiped", "wp"]),
])
def test_filters(client, fleet, params, expected):
    client.force_login(make_persona("operator"))
    response = client.get(LIST, params)
    assert response.status_code == 200
    assert sorted(names(response)) == sorted(fleet[key].name for key in expected)


def test_filter_by_connector_and_by_collection(client, fleet):
    client.force_login(make_persona("operator"))
    assert sorted(names(client.get(LIST, {"connector": fleet["fabrikam"].pk}))) == ["carla.rossi_WindowsMail", "dan.kim_PalmPre"]
    assert names(client.get(LIST, {"collection": fleet["executives"].pk})) == ["anna.smith_iPhone"]


def test_a_bad_filter_value_lists_nothing_and_says_why(client, fleet):
    client.force_login(make_persona("operator"))
    response = client.get(LIST, {"inactive_days": "-3", "access_state": "Sideways"})
    assert response.status_code == 200
    assert names(response) == []
    assert "Select a valid choice" in response.text
    assert "greater than or equal to 0" in response.text


def test_sorting(client, fleet):
    client.force_login(make_persona("operator"))
    by_sync = names(client.get(LIST, {"sort": "-last_success_sync", "missing": "false"}))
    assert by_sync[:3] == ["anna.smith_iPhone", "ben.jones_SAMSUNGSMG998B", "erin.chen_iPad"]
    by_name = names(client.get(LIST, {"sort": "-name"}))
    assert by_name == sorted(by_name, reverse=True)
    by_user = names(client.get(LIST, {"sort": "user_display_name"}))
    assert by_user[0] == "anna.smith_iPhone" and by_user[-1] == "fred.wolf_WP8"


def test_two_devices_of_one_type_for_one_user_share_the_name_and_are_told_apart(client, db):
    first = DeviceFactory(user="gina.lopez", device_type="iPhone", device_id="AAAA0000000000000000000000000001")
    second = DeviceFactory(user="gina.lopez", device_type="iPhone", device_id="AAAA0000000000000000000000000002")
    client.force_login(make_persona("operator"))
    page = client.get(LIST).text
    assert page.count(">gina.lopez_iPhone</a>") == 2
    # The Device ID column is a choice now (the list fits 1440 px beside the details pane): the name's tooltip tells them apart.
    assert f'title="Device ID: {first.device_id}"' in page and f'title="Device ID: {second.device_id}"' in page


def test_pages(client, db):
    DeviceFactory.create_batch(120, user=factory_user())
    client.force_login(make_persona("operator"))
    first, third = client.get(LIST), client.get(LIST, {"page": 3})
    assert len(names(first)) == 50 and len(names(third)) == 20
    assert not set(names(first)) & set(names(third))
    assert "Page 3 of 3" in third.text


def factory_user():
    import factory

    return factory.Sequence(lambda n: f"pager{n:03d}")


def test_a_large_result_is_paged_by_ids_first_in_the_same_order(client, db, monkeypatch):
    DeviceFactory.create_batch(60, user=factory_user())
    client.force_login(make_persona("operator"))
    small = [names(client.get(LIST, {"page": page, "sort": "-last_success_sync"})) for page in (1, 2)]
    monkeypatch.setattr(paginators, "SMALL_RESULT", 5)  # take the other paths: the first pages in one query,
    direct = [names(client.get(LIST, {"page": page, "sort": "-last_success_sync"})) for page in (1, 2)]
    monkeypatch.setattr(paginators, "DIRECT_ROWS", 0)  # pages further down by their ids first
    large = [names(client.get(LIST, {"page": page, "sort": "-last_success_sync"})) for page in (1, 2)]
    assert large == direct == small and len(large[0]) == 50 and len(large[1]) == 10


@pytest.mark.parametrize("scoped", [False, True], ids=["all collections", "one collection"])
def test_the_list_runs_a_fixed_number_of_queries_whatever_the_page_size(client, db, scoped, monkeypatch):
    collection = CollectionFactory(name="Everyone")
    CollectionRule.objects.create(collection=collection, field="device_type", operator="equals", value="iPhone")
    columns = [name for name, _label in DeviceTable.column_choices()]  # every column, the connector's name too
    user = make_user("counted", "Operations Administrator", collections=[collection] if scoped else None)
    client.force_login(user)
    session = client.session
    session[COLUMNS_SESSION_KEY] = columns
    session.save()
    connector = ExchangeConnector.objects.create(name="Contoso Exchange", site=SiteFactory(code="P01"))

    def queries_with(devices: int, params: dict) -> int:
        DeviceFactory.create_batch(devices, connector=connector)
        refresh_memberships()
        cache.clear()  # the device types of the filter are read once a minute: count that read every time
        with CaptureQueriesContext(connection) as captured:
            response = client.get(LIST, params)
        assert response.status_code == 200
        return len(captured), len(names(response))

    client.get(LIST)  # a process's first page reads the content types once, and keeps them
    ten = queries_with(10, {})
    hundred = queries_with(100, {})
    filtered = queries_with(0, {"os_family": "ios", "sort": "-last_success_sync", "page": 2})
    assert ten[1] == 10 and hundred[1] == 50 and filtered[1] == 50
    # The session, the user, their permissions (global: two; on objects: one), the count, the page's rows (the
    # first pages of a long list in one query, the ids first further down or for a short result: one more), the
    # device types, connectors and collections of the filter (and the collections of a scoped operator).
    assert ten[0] == hundred[0] == filtered[0] == (12 if scoped else 11)
    monkeypatch.setattr(paginators, "SMALL_RESULT", 5)  # a long list: its first pages in one query
    assert queries_with(0, {})[0] == queries_with(0, {"page": 2})[0] == ten[0] - 1
    monkeypatch.setattr(paginators, "DIRECT_ROWS", 0)
    assert queries_with(0, {})[0] == ten[0]


def test_column_chooser_remembers_the_columns_for_the_session(client, fleet):
    client.force_login(make_persona("operator"))
    response = client.post(reverse("devices:device_columns"), {"columns": ["device_imei", "connector", "not_a_column"],
                                                               "next": f"{LIST}?q=anna"})
    assert response.status_code == 302 and response["Location"] == f"{LIST}?q=anna"
    table = client.get(LIST).context["table"]
    assert [column.name for column in table.columns] == ["select", "name", "device_imei", "connector"]  # ticks for bulk actions
    page = client.get(LIST).text
    assert "356938035643809" in page and "Contoso Exchange" in page
    exported = rows_of(client.get(LIST, {"export": "csv", "q": "anna"}))
    assert exported == [["Name", "IMEI", "Exchange Server connector"], ["anna.smith_iPhone", "356938035643809", "Contoso Exchange"]]
    client.post(reverse("devices:device_columns"), {"reset": "1"})
    assert [c.name for c in client.get(LIST).context["table"].columns] == ["select", *DeviceTable.Meta.default_columns]


def test_column_chooser_only_goes_back_to_the_device_list(client, db):
    client.force_login(make_persona("analyst"))
    for target in ("https://evil.example/", "//evil.example/assets/devices/", "/administration/sites/"):
        response = client.post(reverse("devices:device_columns"), {"columns": ["name"], "next": target})
        assert response["Location"] == LIST


def test_csv_export_streams_the_filtered_sorted_list(client, fleet):
    DeviceFactory(user="hal.evil", friendly_name="=HYPERLINK(\"http://evil.example\")", device_telephone_number="+41791234567",
                  last_success_sync=timezone.now())
    client.force_login(make_persona("analyst"))
    response = client.get(LIST, {"export": "csv", "missing": "false", "sort": "-last_success_sync"})
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="devices.csv"' in response["Content-Disposition"]
    rows = rows_of(response)
    assert rows[0][:4] == ["Name", "User", "Operating system", "Access state"]
    assert [row[0] for row in rows[1:4]] == ["hal.evil_iPhone", "anna.smith_iPhone", "ben.jones_SAMSUNGSMG998B"]
    assert "dan.kim_PalmPre" not in {row[0] for row in rows}  # filtered out (missing from Exchange)
    client.post(reverse("devices:device_columns"), {"columns": ["friendly_name", "device_telephone_number", "last_success_sync"]})
    hal = rows_of(client.get(LIST, {"export": "csv", "q": "hal.evil"}))[1]
    assert hal[1] == "'=HYPERLINK(\"http://evil.example\")"  # a spreadsheet shows it, never runs it
    assert hal[2] == "+41791234567"
    assert len(hal[3]) == len("2026-01-01 10:00:00")


def test_device_details_show_everything_exchange_reports_grouped(client, fleet):
    device = fleet["erin_wiped"]
    device.device_wipe_sent_time = device.device_wipe_request_time + timedelta(minutes=1)
    device.policy_applied = "Contoso Mobile Policy"
    device.save()
    UserDeviceAffinity.objects.create(device=device, user=UserFactory(username="erin.chen", first_name="Erin", last_name="Chen"),
                                      source=UserDeviceAffinity.Source.AUTOMATIC)
    client.force_login(make_persona("analyst"))
    response = client.get(reverse("devices:device_detail", args=[device.pk]))
    assert response.status_code == 200
    titles = [title for title, _rows in response.context["sections"]]
    assert [str(t) for t in titles] == ["Device", "User", "Access", "Sync", "Policy", "Wipe", "Exchange", "Inventory"]
    wipe = dict(response.context["sections"][5][1])
    # Exchange's token in words, the token in the tooltip; dates in the one format, with the time zone.
    assert wipe["Wipe status"] == '<span title="DeviceWipePending">Wipe pending</span>' and wipe["Wipe requested by"] == "contoso\\operator"
    assert wipe["Wipe sent"] == f"{timezone.localtime(device.device_wipe_sent_time):%Y-%m-%d %H:%M:%S} UTC"
    page = response.text
    for text in (device.device_id, "iOS 16.7.8 20H343", "Contoso Mobile Policy", "erin.chen@contoso.com", device.identity,
                 "Erin Chen", "Automatic (Exchange Server connector)", "All Mobile Devices", "Contoso Exchange"):
        assert text in page, text
    assert "No wipe or other action has been requested" in page
    assert 'data-testid="missing-notice"' not in page


def test_device_details_say_when_exchange_no_longer_has_it_and_show_history(client, fleet):
    device = fleet["dan_palm"]
    DeviceAction.objects.create(device=device, device_name=device.name, device_identity=device.identity, kind="block",
                                state="done", requested_by_name="operator")
    client.force_login(make_persona("operator"))
    page = client.get(reverse("devices:device_detail", args=[device.pk])).text
    assert 'data-testid="missing-notice"' in page and "Exchange no longer has this device" in page
    assert "Block" in page and "Done" in page
    pane = client.get(reverse("devices:device_detail", args=[device.pk]), {"pane": 1}).text
    assert "<html" not in pane and device.device_id in pane


def test_devices_come_first_in_assets_and_compliance(client, db):
    client.force_login(make_persona("operator"))
    page = client.get(reverse("devices:collection_list")).text
    assert page.index(f'href="{LIST}"') < page.index(f'href="{reverse("devices:collection_list")}"')
    assert 'data-workspace="assets"' in page
    detail = client.get(LIST).text
    assert 'aria-current="page">Devices<' in detail


def test_the_collection_list_counts_members(client, fleet):
    client.force_login(make_persona("analyst"))
    table = client.get(reverse("devices:collection_list")).context["table"]
    counts = {row.record.name: row.record.member_count for row in table.paginated_rows}
    assert counts["All Mobile Devices"] == 6 and counts["Executives"] == 1
    assert Collection.objects.count() == 2


def test_the_device_types_of_the_filter_are_read_once_a_minute(client, db):
    DeviceFactory(device_type="iPhone")
    client.force_login(make_persona("operator"))
    assert '<option value="iPhone">' in client.get(LIST).content.decode()
    DeviceFactory(device_type="SAMSUNGSMG998B")
    with CaptureQueriesContext(connection) as captured:
        page = client.get(LIST).content.decode()
    assert not [q for q in captured if "DISTINCT" in q["sql"] and "device_type" in q["sql"]]  # kept, not read again
    assert "SAMSUNGSMG998B" not in page.split('name="device_type"')[1].split("</select>")[0]
    cache.clear()  # a minute later
    assert '<option value="SAMSUNGSMG998B">' in client.get(LIST).content.decode()
