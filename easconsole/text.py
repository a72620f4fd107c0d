"""Text from outside (Exchange, devices, directories): what may be stored, and how it is shown.

A phone chooses its own FriendlyName, DeviceType and user agent, and Exchange reports them as they
came. Two things follow:

- ``storable``: what the database can take. A lone UTF-16 surrogate cannot be encoded at all and
  PostgreSQL refuses NUL in text, so one odd device would fail a whole discovery. Lone surrogates
  become U+FFFD, tab and line breaks a space (every field that comes from Exchange is one line), other
  control characters are removed. Everything else (emoji, CJK, right-to-left scripts, and the
  invisible format characters below) is stored as it came.
- ``visible``: how a name is shown. Bidirectional overrides and isolates (U+202A–U+202E,
  U+2066–U+2069) reorder what follows them, so U+202E followed by ``gnp.exe`` reads as ``exe.png``; zero-width
  characters make two different names look the same. Each such character is shown as ``[U+202E]``,
  so a name cannot pass for another. A zero-width joiner (or non-joiner) between two characters of a
  script or emoji that need it (family emoji, Persian, Indic scripts) is kept.
"""
from __future__ import annotations

import re
import unicodedata

REPLACEMENT = "\ufffd"

_SURROGATES = re.compile("[\ud800-\udfff]")
_UNSTORABLE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_SPACES = frozenset("\t\n\r\x0b\x0c\x85")

# Control characters, lone surrogates, and the format characters (Unicode category Cf) that a name
# never needs: bidi controls, zero-width characters, BOM, soft hyphen, interlinear annotation, tags.
_HIDDEN = re.compile(
    "[\x00-\x1f\x7f-\x9f\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b-\u200f"
    "\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\ud800-\udfff\U000110bd\U000110cd"
    "\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f]"
)
_JOINERS = frozenset("\u200c\u200d")
_BLACK_FLAG = "\U0001f3f4"  # tag characters after it spell a subdivision flag (England, Scotland, Wales)


def code(char: str) -> str:
    return f"U+{ord(char):04X}"


def unstorable(value: str) -> bool:
    """Whether ``value`` holds something ``storable`` would change."""
    return _UNSTORABLE.search(value) is not None


def storable(value: str) -> tuple[str, list[str]]:
    """``value`` as the database can store it, and what was changed (e.g. ``["U+D800 replaced", "U+0000 removed"]``)."""
    if not unstorable(value):
        return value, []
    if _SURROGATES.search(value):  # two halves of a pair that arrived apart are one character
        value = value.encode("utf-16-be", "surrogatepass").decode("utf-16-be", "surrogatepass")
    changes: dict[str, str] = {}

    def fix(match: re.Match[str]) -> str:
        char = match.group()
        if "\ud800" <= char <= "\udfff":
            changes.setdefault(char, f"{code(char)} replaced with U+FFFD")
            return REPLACEMENT
        if char in _SPACES:
            changes.setdefault(char, f"{code(char)} replaced with a space")
            return " "
        changes.setdefault(char, f"{code(char)} removed")
        return ""

    value = _UNSTORABLE.sub(fix, value)
    return value, list(changes.values())


def _joins_script(before: str, after: str) -> bool:
    """A joiner between two letters, marks or symbols beyond Latin, Greek and Cyrillic: emoji, Arabic, Indic..."""
    def rich(char: str) -> bool:
        category = unicodedata.category(char)
        return ord(char) >= 0x0590 and (category[0] in "LM" or category in ("So", "Sk"))
    return rich(before) and rich(after)


def visible(value: object) -> str:
    """``value`` as text in which no invisible or reordering character hides: each is shown as ``[U+XXXX]``."""
    text = "" if value is None else str(value)
    if _HIDDEN.search(text) is None:
        return text

    def show(match: re.Match[str]) -> str:
        char, at = match.group(), match.start()
        before = text[at - 1] if at else ""
        after = text[at + 1] if at + 1 < len(text) else ""
        if char in _JOINERS and before and after and _joins_script(before, after):
            return char
        if "\U000e0020" <= char <= "\U000e007f" and (before == _BLACK_FLAG or "\U000e0020" <= before <= "\U000e007f"):
            return char
        return f"[{code(char)}]"

    return _HIDDEN.sub(show, text)
