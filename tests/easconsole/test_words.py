"""Plain words and the one date format: Exchange's tokens in words with the token kept, moments relative where recent."""
from datetime import datetime, timedelta, timezone as tz

from easconsole.timefmt import exact, moment
from easconsole.words import word, worded


def test_tokens_read_as_words_and_keep_the_token_in_the_tooltip():
    assert word("status", "DeviceWipePending") == "Wipe pending"
    assert word("access_state", "DeviceDiscovery") == "Quarantined: discovery"
    assert word("device_model", "iPhone16C1") == "iPhone 15 Pro"
    assert worded("status", "DeviceWipePending") == '<span title="DeviceWipePending">Wipe pending</span>'
    assert worded("status", "SomethingNew") == "SomethingNew"  # unknown tokens as they came
    assert worded("device_model", "Evil\u202egnp.exe") == "Evil[U+202E]gnp.exe"  # still shown so it cannot pass for another


def test_one_date_format_with_the_zone_and_relative_time_within_a_week(settings):
    now = datetime(2026, 12, 1, 12, 0, tzinfo=tz.utc)
    assert exact(now) == "2026-12-01 12:00 UTC"
    recent = moment(now - timedelta(hours=2), now=now)
    assert recent == '<time datetime="2026-12-01T10:00:00+00:00" title="2026-12-01 10:00 UTC">2\xa0hours ago</time>'
    older = moment(now - timedelta(days=40), now=now)
    assert ">2026-10-22</time>" in older and 'title="2026-10-22 12:00 UTC"' in older
    assert moment(None) == ""
