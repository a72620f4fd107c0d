"""Text from outside: what the database can store, and how a name is shown so it cannot pass for another."""
from easconsole.text import storable, visible


def test_storable_replaces_lone_surrogates_and_removes_controls_and_says_what_it_did():
    assert storable("Anna\ud800s phone\x00") == ("Anna\ufffds phone", ["U+D800 replaced with U+FFFD", "U+0000 removed"])
    assert storable("two\tlines\nhere\x7f") == ("two lines here", ["U+0009 replaced with a space",
                                                                   "U+000A replaced with a space", "U+007F removed"])
    assert storable("\ud83d\ude00 halves of a pair") == ("😀 halves of a pair", [])


def test_storable_keeps_every_other_character():
    for value in ("😀 👨\u200d👩\u200d👧", "山田太郎", "עברית العربية", "\u202egnp.exe", "Zoë\u00a0Ünal", ""):
        assert storable(value) == (value, [])


def test_visible_shows_bidi_controls_and_zero_width_characters():
    assert visible("erin_iPhone\u202egnp.exe") == "erin_iPhone[U+202E]gnp.exe"
    assert visible("\u2066admin\u2069") == "[U+2066]admin[U+2069]"
    assert visible("ad\u200bmin ad\u200dmin \ufeffx\u00ady") == "ad[U+200B]min ad[U+200D]min [U+FEFF]x[U+00AD]y"
    assert visible("nul\x00 and \ud800") == "nul[U+0000] and [U+D800]"


def test_visible_keeps_scripts_and_emoji_that_need_joiners():
    for value in ("👨\u200d👩\u200d👧", "❤\ufe0f\u200d🔥", "می\u200cخواهم", "क्\u200dष", "山田 😀", "עברית العربية",
                  "🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f", "plain text"):
        assert visible(value) == value
    assert visible(None) == "" and visible(42) == "42"
