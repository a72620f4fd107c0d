"""The header's search: user name, display name, UPN, device name, Device ID or IMEI find the devices the reader may see."""
import pytest
from django.urls import reverse

from tests.devices.test_reports import fleet, sales_operator  # noqa: F401  (fixtures)
from tests.factories import DeviceFactory
from tests.personas import make_persona

pytestmark = pytest.mark.django_db

SEARCH = reverse("devices:search")


def results(client, text: str, htmx: bool = True) -> str:
    headers = {"HX-Request": "true"} if htmx else {}
    response = client.get(SEARCH, {"q": text}, headers=headers)
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.parametrize("field", ["mailbox", "user_display_name", "user_principal_name", "name", "device_id", "device_imei"])
def test_each_kind_of_name_finds_the_device(client, fleet, field):
    client.force_login(make_persona("operator"))
    device = fleet["sales_ipad"]
    page = results(client, getattr(device, field))
    assert f'href="{device.get_absolute_url()}"' in page
    assert "<html" not in page  # the short list only, for the header


def test_users_are_listed_and_lead_to_their_devices(client, fleet):
    client.force_login(make_persona("analyst"))
    page = results(client, "sales.")
    assert page.count('data-testid="search-user"') == 3
    assert f'{reverse("devices:device_list")}?q=sales.anna%40contoso.com' in page


def test_only_readable_devices_are_found(client, fleet, sales_operator):
    client.force_login(sales_operator)
    assert fleet["eng_iphone"].get_absolute_url() not in results(client, "eng.fred")
    assert fleet["sales_iphone"].get_absolute_url() in results(client, "sales.anna")


def test_a_short_query_asks_for_more_and_a_long_one_links_to_the_full_list(client, fleet):
    client.force_login(make_persona("full_admin"))
    assert "Type at least 2 characters" in results(client, "s")
    page = results(client, "contoso.com")  # every device's UPN
    assert page.count('data-testid="search-device"') == 6 and 'data-testid="search-all"' not in page


def test_without_script_the_search_is_a_page(client, fleet):
    client.force_login(make_persona("operator"))
    page = results(client, "carla", htmx=False)
    assert "<html" in page and fleet["sales_android"].get_absolute_url() in page
    assert 'role="search"' in page


def test_many_matches_show_the_first_and_count_them_all(client, db):
    for n in range(11):
        DeviceFactory(user=f"staff{n:02d}")
    client.force_login(make_persona("operator"))
    page = results(client, "staff")
    assert page.count('data-testid="search-device"') == 8
    assert "See all 11 devices in the list" in page
    assert f'{reverse("devices:device_list")}?q=staff' in page
