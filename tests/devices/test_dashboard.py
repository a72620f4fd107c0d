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
