"""Reports ▸ the device reports: counts grouped in SQL, scoped to the reader's collections, CSV exports, fixed query counts."""
import csv
import io
from datetime import timedelta

import pytest
from django.db import connection
from django.http import StreamingHttpResponse
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from devices.models import CollectionRule, Device
from devices.reports import queries
from devices.services import refresh_memberships
from easconsole.models import ExchangeConnector
from policies.models import AccessRule, ConnectorPolicy
from tests.factories import CollectionFactory, DeviceFactory, SiteFactory
from tests.personas import make_persona, make_user

pytestmark = pytest.mark.django_db

INVENTORY = reverse("devices:report_inventory")
INACTIVE = reverse("devices:report_inactive")
COMPLIANCE = reverse("devices:report_compliance")
SETTINGS = reverse("devices:report_settings")


def csv_rows(response) -> list[list[str]]:
    assert response["Content-Type"].startswith("text/csv")
    content = b"".join(response.streaming_content) if isinstance(response, StreamingHttpResponse) else response.content
    return list(csv.reader(io.StringIO(content.decode())))


def shown(page, name: str) -> str:
    """The number a page shows in the element with ``data-testid=name``."""
    text = page.content.decode()
    marker = f'data-testid="{name}">'
    assert marker in text, name
    return text.split(marker, 1)[1].split("<", 1)[0].strip()


@pytest.fixture
def fleet(db):
    """Two collections: Sales (mailboxes starting "sales") and Engineering (starting "eng"), on two connectors."""
    now = timezone.now()
    site = SiteFactory(code="P01")
    contoso = ExchangeConnector.objects.create(name="Contoso Exchange", site=site)
    fabrikam = ExchangeConnector.objects.create(name="Fabrikam Exchange", site=site)
    ConnectorPolicy.objects.create(connector=contoso, settings={"DevicePasswordEnabled": True, "MinDevicePasswordLength": 6},
                                   default_access_level="Quarantine")
    AccessRule.objects.create(connector=contoso, characteristic="DeviceType", query_string="PalmPre", access_level="Block")
    devices = {
        "sales_iphone": DeviceFactory(user="sales.anna", device_type="iPhone", device_os="iOS 17.5.1 21F90", connector=contoso,
                                      last_success_sync=now - timedelta(hours=2)),
        "sales_ipad": DeviceFactory(user="sales.ben", device_type="iPad", device_os="iOS 16.7.8 20H343", connector=contoso,
                                    last_success_sync=now - timedelta(days=45), policy_application_status="PartiallyApplied"),
        "sales_android": DeviceFactory(user="sales.carla", device_type="SAMSUNGSMG998B", device_os="Android 14.0.0",
                                       connector=contoso, access_state="Quarantined", last_success_sync=now - timedelta(days=200),
                                       policy_application_status="NotApplied"),
        "eng_surface": DeviceFactory(user="eng.dan", device_type="WindowsMail", device_os="Windows 10.0.22631", connector=fabrikam,
                                     access_state="Blocked", last_success_sync=now - timedelta(days=75),
                                     policy_application_status=""),
        "eng_outlook": DeviceFactory(user="eng.erin", device_type="Outlook", device_os="Outlook for iOS and Android 1.0",
                                     connector=fabrikam, last_success_sync=None, policy_application_status="ExternallyManaged"),
        "eng_iphone": DeviceFactory(user="eng.fred", device_type="iPhone", device_os="iOS 17.5.1 21F90", connector=fabrikam,
                                    last_success_sync=now - timedelta(days=120)),
    }
    sales = CollectionFactory(name="Sales")
    engineering = CollectionFactory(name="Engineering")
    CollectionRule.objects.create(collection=sales, field="mailbox", operator="starts_with", value="sales")
    CollectionRule.objects.create(collection=engineering, field="mailbox", operator="starts_with", value="eng")
    refresh_memberships()
    return {**devices, "contoso": contoso, "fabrikam": fabrikam, "sales": sales, "engineering": engineering}


@pytest.fixture
def sales_operator(fleet):
    return make_user("sales-operator", "Operations Administrator", collections=[fleet["sales"]])


# Inventory: devices by operating system, type and access state

def test_inventory_counts_by_os_family_type_and_access_state(client, fleet):
    client.force_login(make_persona("analyst"))
    page = client.get(INVENTORY)
    assert page.status_code == 200
    charts = {key: {label: count for label, count, _percent in bars} for key, _title, bars in page.context["charts"]}
    assert charts["os"] == {"iOS": 3, "Android": 1, "Windows": 1, "Outlook": 1}
    assert charts["type"] == {"iPhone": 2, "iPad": 1, "SAMSUNGSMG998B": 1, "WindowsMail": 1, "Outlook": 1}
    assert charts["access"] == {"Allowed": 4, "Quarantined": 1, "Blocked": 1}
    assert shown(page, "os-ios") == "3" and shown(page, "access-blocked") == "1"


def test_inventory_filters_and_the_scoped_operator(client, fleet, sales_operator):
    client.force_login(make_persona("analyst"))
    by_connector = client.get(INVENTORY, {"connector": fleet["fabrikam"].pk}).context["charts"]
    assert {label: count for label, count, _p in by_connector[0][2]} == {"iOS": 1, "Windows": 1, "Outlook": 1}
    by_collection = client.get(INVENTORY, {"collection": fleet["sales"].pk}).context["charts"]
    assert {label: count for label, count, _p in by_collection[0][2]} == {"iOS": 2, "Android": 1}

    client.force_login(sales_operator)
    page = client.get(INVENTORY)
    assert {label: count for label, count, _p in page.context["charts"][0][2]} == {"iOS": 2, "Android": 1}
    assert page.context["total"] == 3
    assert [c.name for c in page.context["filter"].form.fields["collection"].queryset] == ["Sales"]
    # A collection the operator may not read is not a valid choice: no devices rather than someone else's.
    refused = client.get(INVENTORY, {"collection": fleet["engineering"].pk})
    assert refused.context["total"] == 0
    exported = csv_rows(client.get(INVENTORY, {"export": "csv"}))
    assert exported[0] == ["Grouping", "Value", "Devices"]
    assert ["Operating system", "iOS", "2"] in exported and ["Device type", "WindowsMail", "1"] not in exported
    assert sum(int(row[2]) for row in exported[1:] if row[0] == "Access state") == 3


def test_inventory_csv_lists_every_group(client, fleet):
    client.force_login(make_persona("analyst"))
    rows = csv_rows(client.get(INVENTORY, {"export": "csv"}))
    assert len(rows) == 1 + 4 + 5 + 3
    assert ["Access state", "Quarantined", "1"] in rows and ["Operating system", "Outlook", "1"] in rows


def test_os_family_is_the_first_word_and_unknown_when_empty(db):
    for os in ("iOS 17.5.1", "iOS", "", "Android 14", "  Windows 10  "):
        DeviceFactory(device_os=os)
    from devices.models import Device

    assert dict(queries.by_os_family(Device.objects.all())) == {"iOS": 2, "Unknown": 1, "Android": 1, "Windows": 1}


# Inactive mobile devices

def test_inactive_lists_devices_not_synced_for_30_days_by_default_with_age_buckets(client, fleet):
    client.force_login(make_persona("analyst"))
    page = client.get(INACTIVE)
    names = [row.record.name for row in page.context["table"].paginated_rows]
    assert set(names) == {"sales.ben_iPad", "sales.carla_SAMSUNGSMG998B", "eng.dan_WindowsMail", "eng.erin_Outlook",
                          "eng.fred_iPhone"}
    assert page.context["days"] == 30
    assert shown(page, "age-3060-days") == "1" and shown(page, "age-6090-days") == "1"
    assert shown(page, "age-90180-days") == "1" and shown(page, "age-more-than-180-days") == "1"
    assert shown(page, "age-never-synced") == "1"
    longer = client.get(INACTIVE, {"days": 100})
    assert {row.record.name for row in longer.context["table"].paginated_rows} == {
        "sales.carla_SAMSUNGSMG998B", "eng.erin_Outlook", "eng.fred_iPhone"}
    # Buckets wholly under 100 days are left out; the others count only devices past 100 days.
    assert [label for label, _n, _p in longer.context["by_age"]] == ["90–180 days", "More than 180 days", "Never synced"]


def test_inactive_csv_streams_the_rows_with_user_last_sync_and_connector(client, fleet, sales_operator):
    client.force_login(sales_operator)
    page = client.get(INACTIVE)
    assert {row.record.name for row in page.context["table"].paginated_rows} == {"sales.ben_iPad", "sales.carla_SAMSUNGSMG998B"}
    assert shown(page, "age-never-synced") == "0" and shown(page, "age-more-than-180-days") == "1"
    response = client.get(INACTIVE, {"export": "csv"})
    assert isinstance(response, StreamingHttpResponse)
    rows = csv_rows(response)
    assert rows[0][:4] == ["Name", "User", "Last sync", "Exchange Server connector"]
    assert "User principal name" in rows[0] and "Device ID" in rows[0]
    assert [row[0] for row in rows[1:]] == ["sales.carla_SAMSUNGSMG998B", "sales.ben_iPad"]  # oldest sync first
    assert rows[1][rows[0].index("Exchange Server connector")] == "Contoso Exchange"
    assert rows[1][rows[0].index("User principal name")] == "sales.carla@contoso.com"
    assert len(rows[1][2]) == len("2026-01-01 10:00:00")


def test_inactive_rejects_a_bad_number_of_days(client, fleet):
    client.force_login(make_persona("analyst"))
    page = client.get(INACTIVE, {"days": "-4"})
    assert page.status_code == 200 and page.context["table"].paginator.count == 0


# Compliance with the connector's settings

def test_compliance_counts_policy_status_per_connector_with_managed_groups(client, fleet):
    client.force_login(make_persona("analyst"))
    page = client.get(COMPLIANCE)
    sections = {s["connector"].name: s for s in page.context["sections"]}
    assert [str(g) for g in sections["Contoso Exchange"]["managed"]] == ["Password"]
    assert sections["Fabrikam Exchange"]["managed"] == []
    contoso = {label: count for label, count, _p in sections["Contoso Exchange"]["bars"]}
    fabrikam = {label: count for label, count, _p in sections["Fabrikam Exchange"]["bars"]}
    assert contoso == {"AppliedInFull": 1, "PartiallyApplied": 1, "NotApplied": 1, "ExternallyManaged": 0, "Unknown": 0}
    assert fabrikam == {"AppliedInFull": 1, "PartiallyApplied": 0, "NotApplied": 0, "ExternallyManaged": 1, "Unknown": 1}
    assert shown(page, f"count-{fleet['contoso'].pk}-notapplied") == "1"
    noncompliant = {row.record.name for row in page.context["table"].paginated_rows}
    assert noncompliant == {"sales.ben_iPad", "sales.carla_SAMSUNGSMG998B", "eng.dan_WindowsMail", "eng.erin_Outlook"}


def test_compliance_for_the_scoped_operator_and_its_csv(client, fleet, sales_operator):
    client.force_login(sales_operator)
    page = client.get(COMPLIANCE)
    assert [s["connector"].name for s in page.context["sections"]] == ["Contoso Exchange"]
    assert page.context["sections"][0]["total"] == 3
    rows = csv_rows(client.get(COMPLIANCE, {"export": "csv"}))
    status = rows[0].index("Policy application status")
    assert sorted((row[0], row[status]) for row in rows[1:]) == [
        ("sales.ben_iPad", "PartiallyApplied"), ("sales.carla_SAMSUNGSMG998B", "NotApplied")]


# Settings summary

def test_settings_summary_shows_configured_settings_and_groups_managed_by_exchange(client, fleet):
    client.force_login(make_persona("analyst"))
    page = client.get(SETTINGS)
    summaries = {s["connector"].name: s for s in page.context["summaries"]}
    contoso = {str(g["label"]): g for g in summaries["Contoso Exchange"]["groups"]}
    assert contoso["Password"]["managed"] and not contoso["General"]["managed"]
    assert [(str(label), value) for label, value in contoso["Password"]["settings"]] == [
        ("Require password settings on mobile devices", "Required"), ("Minimum password length (characters)", "6")]
    assert summaries["Contoso Exchange"]["default_access_level"] == "Quarantine"
    assert summaries["Fabrikam Exchange"]["default_access_level"] == "Allow"  # no settings saved yet: the defaults
    assert not any(g["managed"] for g in summaries["Fabrikam Exchange"]["groups"])
    text = page.content.decode()
    assert "Managed by Exchange" in text and "PalmPre" in text
    rows = csv_rows(client.get(SETTINGS, {"export": "csv"}))
    assert rows[0] == ["Connector", "Group", "Setting", "Value"]
    assert ["Contoso Exchange", "Password", "Minimum password length (characters)", "6"] in rows
    assert ["Contoso Exchange", "General", "", "Managed by Exchange"] in rows
    assert ["Contoso Exchange", "Access rules", "PalmPre (DeviceType)", "Block"] in rows


def test_settings_summary_lists_only_connectors_of_readable_sites(client, fleet):
    other_site = SiteFactory(code="P02")
    ExchangeConnector.objects.create(name="Elsewhere Exchange", site=other_site)
    limited = make_user("p01-analyst", "Read-only Analyst", sites=[fleet["contoso"].site])
    client.force_login(limited)
    names = [s["connector"].name for s in client.get(SETTINGS).context["summaries"]]
    assert names == ["Contoso Exchange", "Fabrikam Exchange"]


# Navigation and the overview

def test_the_reports_are_in_the_reports_workspace_and_overview(client, fleet):
    client.force_login(make_persona("analyst"))
    page = client.get(reverse("easconsole:report_index")).content.decode()
    for url in (INVENTORY, INACTIVE, COMPLIANCE, SETTINGS):
        assert page.count(f'href="{url}"') == 2  # the navigation node and the overview's line
    assert "Mobile devices" in page


# Query counts: the same at 5 and at 50 devices

@pytest.mark.parametrize("url", [INVENTORY, INACTIVE, COMPLIANCE, SETTINGS], ids=["inventory", "inactive", "compliance", "settings"])
@pytest.mark.parametrize("scoped", [False, True], ids=["all collections", "one collection"])
def test_query_count_does_not_grow_with_the_devices(client, db, url, scoped):
    collection = CollectionFactory(name="Everyone")
    CollectionRule.objects.create(collection=collection, field="device_type", operator="equals", value="iPhone")
    client.force_login(make_user("counted", "Operations Administrator", collections=[collection] if scoped else None))
    site = SiteFactory(code="P01")
    connectors = [ExchangeConnector.objects.create(name=f"Exchange {n}", site=site) for n in range(2)]
    ConnectorPolicy.objects.create(connector=connectors[0], settings={"AllowCamera": False})
    old = timezone.now() - timedelta(days=90)

    def queries_with(devices: int) -> int:
        for n in range(devices):
            DeviceFactory(connector=connectors[n % 2], last_success_sync=old, device_os=f"OS{n % 7} 1.0",
                          device_type="iPhone", policy_application_status=queries.POLICY_STATUSES[n % 5])
        refresh_memberships()
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url)
        assert response.status_code == 200
        return len(captured)

    queries_with(0)  # warms the caches of the first request (content types, the user's permissions)
    five = queries_with(5)
    fifty = queries_with(45)
    assert five == fifty <= 14, (five, fifty)


def test_the_inactive_report_says_which_connectors_discovery_skips_inactive_devices(client, fleet):
    fleet["fabrikam"].ignore_inactive_days = 365
    fleet["fabrikam"].save()
    client.force_login(make_persona("analyst"))
    page = client.get(INACTIVE).content.decode()  # 30 days: Contoso's default limit is 30, so it skips them
    assert "Contoso Exchange ignores devices inactive for more than 30 days" in page
    assert "Fabrikam Exchange ignores" not in page
    assert 'data-testid="discovery-skips"' not in client.get(INACTIVE, {"days": 10}).content.decode()


# Every device report takes a date range (when the devices first synced: set up), and prints.

def test_the_device_reports_narrow_to_the_devices_first_synced_in_a_date_range(client, fleet):
    now = timezone.now()
    for key, days_ago in (("sales_iphone", 10), ("sales_ipad", 100), ("sales_android", 300), ("eng_surface", 12),
                          ("eng_outlook", 400), ("eng_iphone", 500)):
        Device.objects.filter(pk=fleet[key].pk).update(first_sync_time=now - timedelta(days=days_ago))
    client.force_login(make_persona("analyst"))
    since = {"first_sync_after": f"{(now - timedelta(days=30)).date():%Y-%m-%d}"}
    assert client.get(INVENTORY, since).context["total"] == 2  # the iPhone and the Surface, set up in the last month
    older = {"first_sync_before": f"{(now - timedelta(days=200)).date():%Y-%m-%d}"}
    inactive_page = client.get(INACTIVE, older)
    assert inactive_page.context["table"].paginator.count == 3  # the Android, the Outlook, the iPhone (all inactive)
    compliance = client.get(COMPLIANCE, {**since, "export": "csv"}).getvalue().decode()
    assert fleet["eng_surface"].name in compliance and fleet["sales_android"].name not in compliance
    bad = client.get(INVENTORY, {"first_sync_after": "not a date"})
    assert bad.status_code == 200 and "Enter a valid date" in bad.content.decode() and bad.context["total"] == 0
    for url in (INVENTORY, INACTIVE, COMPLIANCE, SETTINGS,
                reverse("devices:wipe_report"), reverse("easconsole:auditevent_list")):
        page = client.get(url).content.decode()
        assert "data-print" in page, url
