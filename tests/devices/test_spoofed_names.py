"""A device or user name cannot pass for another: hidden and reordering characters are shown, not obeyed.

A phone picks its own DeviceType and FriendlyName. With U+202E (right-to-left override) the name
``erin_iPhone<U+202E>gnp.exe`` displays as ``erin_iPhoneexe.png``; with a zero-width space two
different names look the same. Every page that shows names shows ``[U+202E]`` instead; the stored
value is left as Exchange reported it.
"""
from html.parser import HTMLParser

import pytest
from django.urls import reverse
from django.utils import timezone

from devices.models import Device, UserDeviceAffinity
from devices.services import refresh_memberships
from devices.views.devices import COLUMNS_SESSION_KEY
from easconsole import audit
from easconsole.models import ExchangeConnector
from tests.factories import DeviceFactory, SiteFactory
from tests.personas import make_persona

pytestmark = pytest.mark.django_db

RLO, ZWSP = "\u202e", "\u200b"
HIDDEN = (RLO, ZWSP, "\u2066", "\u2069")


@pytest.fixture
def spoofed():
    connector = ExchangeConnector.objects.create(name="Contoso", site=SiteFactory(code="P01"),
                                                 state=ExchangeConnector.State.INSTALLED, installed_at=timezone.now())
    device = DeviceFactory(user="erin", device_type=f"iPhone{RLO}gnp.exe", friendly_name=f"Erin{RLO}s phone 山田 😀",
                           user_display_name=f"Erin{ZWSP}Admin", device_model="iPhone 15 \u2066x\u2069", connector=connector,
                           device_os="iOS 17 عربي")
    refresh_memberships()
    return device


class Shown(HTMLParser):
    """What a person sees of a page: its text, its title, and the tooltips and labels of its elements.

    Form values (a filter's option value, a hidden input) keep the stored value, so that filtering works.
    """

    def __init__(self, page: str) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        self.parts += [value or "" for name, value in attrs if name in ("title", "aria-label", "placeholder", "alt")]

    def handle_data(self, data):
        self.parts.append(data)

    def text(self) -> str:
        return "\n".join(self.parts)


def assert_neutralised(page: str, *, name: bool = True) -> None:
    shown = Shown(page).text()
    for char in HIDDEN:
        assert char not in shown, f"U+{ord(char):04X} reached the page"
    if name:
        assert "erin_iPhone[U+202E]gnp.exe" in shown


def test_the_device_list_details_and_reports_show_hidden_characters(client, spoofed):
    client.force_login(make_persona("full_admin"))
    assert Device.objects.get(pk=spoofed.pk).name == f"erin_iPhone{RLO}gnp.exe"  # stored as Exchange reported it

    session = client.session
    session[COLUMNS_SESSION_KEY] = ["name", "friendly_name", "user_display_name", "device_model", "device_type"]
    session.save()
    listed = client.get(reverse("devices:device_list")).text
    assert_neutralised(listed)
    assert "Erin[U+200B]Admin" in listed and "Erin[U+202E]s phone 山田 😀" in listed

    page = client.get(reverse("devices:device_detail", args=[spoofed.pk])).text
    assert_neutralised(page)
    assert "<title>erin_iPhone[U+202E]gnp.exe" in page and "iPhone 15 [U+2066]x[U+2069]" in page
    assert "iOS 17 عربي" in page  # right-to-left scripts are shown as they are
    pane = client.get(reverse("devices:device_detail", args=[spoofed.pk]), {"pane": 1}).text
    assert_neutralised(pane)

    for report in ("devices:report_inventory", "devices:report_inactive"):
        assert_neutralised(client.get(reverse(report), {"days": 0}).text, name=False)


def test_the_catalog_shows_hidden_characters_to_the_end_user(client, spoofed):
    user = make_persona("end_user")
    UserDeviceAffinity.objects.create(device=spoofed, user=user, source="automatic")
    client.force_login(user)
    for url in (reverse("catalog:my_devices"), reverse("catalog:device_wipe", args=[spoofed.pk])):
        page = client.get(url).text
        assert "Erin[U+202E]s phone 山田 😀" in page
        assert_neutralised(page, name=False)


def test_the_audit_trail_shows_hidden_characters(client, spoofed):
    operator = make_persona("operator")
    event = audit.record(user=operator, action="wipe", obj=spoofed, message=f"Wipe of {spoofed.name}")
    client.force_login(make_persona("analyst"))
    for url in (reverse("easconsole:auditevent_list"), reverse("easconsole:auditevent_detail", args=[event.pk])):
        page = client.get(url).text
        assert_neutralised(page)
