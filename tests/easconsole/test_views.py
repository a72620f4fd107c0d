"""The console's generic pages: forms that explain, built-ins that stay, the details pane."""
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from devices.models import ALL_MOBILE_DEVICES, Collection
from easconsole.models import Site
from tests.factories import SiteFactory
from tests.personas import make_persona

pytestmark = pytest.mark.django_db


def test_bad_site_code_gets_a_clear_message_and_keeps_the_input(client):
    client.force_login(make_persona("full_admin"))
    response = client.post(reverse("easconsole:site_add"), {"code": "P_1", "name": "Lab"})
    assert response.status_code == 200
    assert "A site code is three capital letters or digits" in response.text
    assert 'value="Lab"' in response.text
    assert not Site.objects.exists()


def test_duplicate_site_code_is_refused(client):
    SiteFactory(code="P01")
    client.force_login(make_persona("full_admin"))
    response = client.post(reverse("easconsole:site_add"), {"code": "P01", "name": "Again"})
    assert "already exists" in response.text
    assert Site.objects.count() == 1


def test_builtin_collection_cannot_be_changed_or_deleted(client):
    builtin = Collection.objects.get(name=ALL_MOBILE_DEVICES)
    client.force_login(make_persona("full_admin"))
    detail = client.get(reverse("devices:collection_detail", args=[builtin.pk]))
    assert "Delete" not in detail.text.split('role="toolbar"')[1].split("</div>")[0]
    assert client.post(reverse("devices:collection_delete", args=[builtin.pk])).status_code == 404
    assert Collection.objects.filter(pk=builtin.pk).exists()


def test_action_bar_shows_only_permitted_actions(client):
    site = SiteFactory(code="P01")
    client.force_login(make_persona("analyst"))
    page = client.get(reverse("easconsole:site_detail", args=[site.pk])).text
    assert "Properties" not in page and "Add Site" not in page
    client.force_login(make_persona("full_admin"))
    page = client.get(reverse("easconsole:site_detail", args=[site.pk])).text
    assert "Properties" in page and "Delete" in page


def test_details_pane_renders_only_the_details(client):
    site = SiteFactory(code="P01", name="Primary")
    client.force_login(make_persona("operator"))
    pane = client.get(reverse("easconsole:site_detail", args=[site.pk]), {"pane": 1}).text
    assert "Primary" in pane and "<html" not in pane


def test_navigation_shows_only_readable_nodes(client):
    client.force_login(make_persona("operator"))
    page = client.get(reverse("easconsole:site_list")).text
    assert "Device Collections" not in page  # another workspace's node
    assert "Administrative Users" not in page  # needs Full Administrator
    assert 'data-workspace="reports"' in page and 'data-workspace="administration"' in page


def test_list_pages_run_a_fixed_number_of_queries(client):
    client.force_login(make_persona("operator"))
    url = reverse("easconsole:site_list")

    def queries_with(sites: int) -> int:
        for n in range(Site.objects.count(), sites):
            SiteFactory(code=f"X{n:02d}")
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    assert queries_with(2) == queries_with(40) <= 10
