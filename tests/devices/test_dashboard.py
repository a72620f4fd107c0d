"""The home dashboard: each figure counts what the reader may see, and links to the list that shows the same devices."""
import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from devices.models import DeviceAction, DiscoveryRun
from easconsole.models import ExchangeConnector
from tests.devices.test_reports import fleet, sales_operator, shown  # noqa: F401  (fixtures)
from tests.factories import DeviceFactory, SiteFactory
from tests.personas import PASSWORD, make_persona

pytestmark = pytest.mark.django_db

DASHBOARD = reverse("devices:dashboard")


def figure_link(page, testid: str) -> str:
    """The address a figure (or a bar) with ``data-testid=testid`` links to."""
    text = page.content.decode()
    found = re.search(rf'href="([^"]+)"[^>]*data-testid="{re.escape(testid)}"', text)
    assert found, testid
    return found.group(1).replace("&amp;", "&")


def listed(client, url: str) -> int:
    page = client.get(url).content.decode()
    return int(re.search(r'data-testid="result-count">([\d,]+) device', page).group(1).replace(",", ""))


def wipe(device, state, **fields):
    return DeviceAction.objects.create(device=device, device_name=device.name, device_identity=device.identity,
                                       kind="wipe", state=state, requested_by_name="operator", **fields)


def test_administrators_and_auditors_land_on_the_dashboard_end_users_in_the_catalog(client):
    for persona in ("full_admin", "operator", "analyst"):
        make_persona(persona)
        response = client.post(reverse("login"), {"username": persona, "password": PASSWORD})
        assert response["Location"] == DASHBOARD, persona
        client.logout()
    make_persona("end_user")
    response = client.post(reverse("login"), {"username": "end_user", "password": PASSWORD})
    assert response["Location"] == reverse("catalog:my_devices")


def test_each_figure_matches_the_list_it_links_to(client, fleet):
    client.force_login(make_persona("full_admin"))
    page = client.get(DASHBOARD)
    text = page.content.decode()
    assert re.search(r'data-testid="figure-devices">\s*<span class="display-6">6</span>', text)
    # Access state: 4 allowed, 1 quarantined, 1 blocked; each bar's link lists exactly those devices.
    for testid, expected in (("access-allowed", 4), ("access-quarantined", 1), ("access-blocked", 1)):
        url = figure_link(page, testid)
        assert url.startswith(reverse("devices:device_list") + "?access_state=")
        assert listed(client, url) == expected, testid
    # Operating systems: 3 iOS devices (two iPhones, an iPad), 1 Android.
    assert listed(client, figure_link(page, "os-ios-and-ipados")) == 3
    assert listed(client, figure_link(page, "os-android")) == 1
    # Not synced for 30+ days: the iPad (45 days), the Android (200), the Surface (75), the iPhone (120), the never-synced Outlook.
    inactive = figure_link(page, "figure-inactive")
    assert listed(client, inactive) == 5
    assert re.search(r'data-testid="figure-inactive">\s*<span class="display-6">5</span>', text)


def test_an_operator_limited_to_a_collection_counts_only_its_devices(client, fleet, sales_operator):
    client.force_login(sales_operator)
    text = client.get(DASHBOARD).content.decode()
    assert re.search(r'data-testid="figure-devices">\s*<span class="display-6">3</span>', text)
    assert re.search(r'data-testid="figure-inactive">\s*<span class="display-6">2</span>', text)  # the iPad and the Android


def test_open_wipes_failed_actions_and_wipes_per_week(client, fleet):
    now = timezone.now()
    wipe(fleet["sales_iphone"], DeviceAction.State.PENDING)
    wipe(fleet["sales_ipad"], DeviceAction.State.SENT)
    wipe(fleet["eng_iphone"], DeviceAction.State.FAILED, error="Exchange refused")
    old = wipe(fleet["eng_surface"], DeviceAction.State.EXPIRED)
    DeviceAction.objects.filter(pk=old.pk).update(requested_at=now - timedelta(days=20))  # outside the last 7 days
    client.force_login(make_persona("operator"))
    page = client.get(DASHBOARD)
    text = page.content.decode()
    assert re.search(r'data-testid="figure-open-wipes">\s*<span class="display-6">2</span>', text)
    assert re.search(r'data-testid="figure-failed">\s*<span class="display-6 text-danger-emphasis">1</span>', text)
    assert figure_link(page, "wipes-pending-on-device") == reverse("devices:deviceaction_list") + "?state=pending"
    assert figure_link(page, "figure-failed") == reverse("devices:deviceaction_list") + "?state=failed"
    # This week's column counts the three wipes of this week; the one of 20 days ago is two or three columns back.
    assert shown(page, "per-week-12") == "3"
    assert sum(int(shown(page, f"per-week-{n}")) for n in range(1, 13)) == 4


def test_connectors_show_their_state_and_last_discovery(client, fleet):
    DiscoveryRun.objects.create(connector=fleet["contoso"], kind="full", state="failed", error="Access denied",
                                finished=timezone.now() - timedelta(hours=2))
    client.force_login(make_persona("analyst"))
    text = client.get(DASHBOARD).content.decode()
    row = text.split(f'data-testid="connector-{fleet["contoso"].pk}"', 1)[1].split("</tr>", 1)[0]
    assert "Contoso Exchange" in row and "Failed" in row and "2\xa0hours ago" in row
    row = text.split(f'data-testid="connector-{fleet["fabrikam"].pk}"', 1)[1].split("</tr>", 1)[0]
    assert "None yet" in row


def test_the_dashboard_costs_the_same_queries_whatever_the_fleet(client, fleet):
    DiscoveryRun.objects.create(connector=fleet["contoso"], kind="full", state="succeeded")
    client.force_login(make_persona("full_admin"))
    client.get(DASHBOARD)
    with CaptureQueriesContext(connection) as few:
        client.get(DASHBOARD)
    wipe(fleet["sales_iphone"], DeviceAction.State.PENDING)
    DiscoveryRun.objects.create(connector=fleet["fabrikam"], kind="full", state="succeeded")
    with CaptureQueriesContext(connection) as more:
        client.get(DASHBOARD)
    assert len(more) == len(few) <= 20


def test_the_wipe_report_has_a_date_range_and_a_print_button(client, fleet):
    recent = wipe(fleet["sales_iphone"], DeviceAction.State.PENDING)
    old = wipe(fleet["sales_ipad"], DeviceAction.State.CANCELLED)
    DeviceAction.objects.filter(pk=old.pk).update(requested_at=timezone.now() - timedelta(days=40))
    client.force_login(make_persona("analyst"))
    since = (timezone.localdate() - timedelta(days=7)).isoformat()
    page = client.get(reverse("devices:wipe_report"), {"requested_after": since})
    listed = [row.record.pk for row in page.context["table"].page.object_list]
    assert listed == [recent.pk]
    assert "data-print" in page.content.decode()


def test_a_full_wipe_offers_the_account_only_wipe_where_the_device_supports_it(client):
    connector = ExchangeConnector.objects.create(name="Contoso", site=SiteFactory(code="P01"), state=ExchangeConnector.State.INSTALLED,
                                                 installed_at=timezone.now(),
                                                 known_servers=[{"name": "EX1", "version": "Version 15.1 (Build 2507.6)"}])
    modern = DeviceFactory(user="anna", connector=connector, device_active_sync_version="16.1")
    legacy = DeviceFactory(user="ben", connector=connector, device_active_sync_version="14.1")
    client.force_login(make_persona("operator"))
    page = client.get(reverse("devices:device_action", args=[modern.pk, "wipe"])).content.decode()
    assert 'data-testid="wipe-choice"' in page
    assert reverse("devices:device_action", args=[modern.pk, "account_wipe"]) in page
    page = client.get(reverse("devices:device_action", args=[legacy.pk, "wipe"])).content.decode()
    assert 'data-testid="wipe-choice"' not in page  # EAS 14.1: a full wipe is the only one it knows


# The sync-age trend: a daily snapshot, drawn on the dashboard and the device reports.

def test_a_snapshot_counts_the_fleet_by_sync_age_and_access_state_once_a_day(fleet):
    from devices import history
    from devices.models import FleetSnapshot

    snapshot = history.snapshot_take()
    # Under a day: the iPhone (2 h); 30–90 days: the iPad (45), the Surface (75); over 90: the Android (200), the iPhone (120).
    assert snapshot.sync_ages == [1, 0, 0, 2, 2, 1] and snapshot.total == 6
    assert snapshot.access_states == {"Allowed": 4, "Blocked": 1, "Quarantined": 1, "DeviceDiscovery": 0, "Unknown": 0}
    fleet["eng_outlook"].last_success_sync = timezone.now()
    fleet["eng_outlook"].save()
    again = history.snapshot_take()  # the same day: the day's figures are replaced, not added
    assert FleetSnapshot.objects.count() == 1 and again.sync_ages == [2, 0, 0, 2, 2, 0]


def test_the_trend_is_drawn_and_its_links_list_todays_devices(client, fleet):
    from devices import history
    from devices.models import FleetSnapshot

    today = timezone.localdate()
    FleetSnapshot.objects.create(date=today - timedelta(days=1), total=5, sync_ages=[1, 0, 0, 1, 2, 1])
    FleetSnapshot.objects.create(date=today - timedelta(days=40), total=1, sync_ages=[1, 0, 0, 0, 0, 0])  # older than 30 days
    history.snapshot_take()
    client.force_login(make_persona("full_admin"))
    for url in (DASHBOARD, reverse("devices:report_inventory"), reverse("devices:report_inactive")):
        page = client.get(url)
        trend = page.content.decode().split('data-testid="sync-age-trend"')[1].split("</figure>")[0]
        assert trend.count("<g>") == 2, url  # yesterday and today
        assert f"{today - timedelta(days=1):%Y-%m-%d}" in trend and f"{today:%Y-%m-%d}" in trend
        # Today's figures link to the list of those devices.
        for bucket, expected in (("0", 1), ("3", 2), ("4", 2), ("never", 1)):
            assert re.search(rf'data-testid="trend-{bucket}">[^<]*: {expected}<', trend), (url, bucket)
            assert listed(client, figure_link(page, f"trend-{bucket}")) == expected, (url, bucket)


def test_the_sync_age_columns_link_to_the_devices_they_count(client, fleet):
    client.force_login(make_persona("full_admin"))
    page = client.get(DASHBOARD)
    for column, expected in ((1, 1), (2, 0), (4, 2), (5, 2), (6, 1)):  # under a day … never synced
        assert listed(client, figure_link(page, f"sync-age-{column}")) == expected, column


def test_the_trend_counts_every_device_so_a_scoped_operator_does_not_see_it(client, fleet, sales_operator):
    from devices import history

    history.snapshot_take()
    client.force_login(sales_operator)
    assert 'data-testid="sync-age-trend"' not in client.get(DASHBOARD).content.decode()


def test_the_daily_snapshot_is_a_housekeeping_schedule():
    from devices import tasks
    from devices.discovery.services import HOUSEKEEPING

    assert HOUSEKEEPING["devices-fleet-snapshot"] == ("devices.tasks.take_fleet_snapshot", 24 * 60)
    assert tasks.take_fleet_snapshot().endswith(": 0 devices.")  # created with a connector's schedules (test_discovery_services.py)
