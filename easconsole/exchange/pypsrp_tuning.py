"""A speed-up of pypsrp 0.9.1's CLIXML deserializer and a lenient string decoder, installed once by the transport.

pypsrp's ``Serializer.deserialize`` turns every element it is given back into XML text
(``ET.tostring``) before looking at it, although for primitive elements (strings, numbers, dates,
GUIDs, ...) it returns the value at once and never uses that text. An Exchange device holds about
fifty such elements, so about half of the client's time receiving Get-ActiveSyncDevice went there
(measured: ``devices_with_statistics()`` of 5,000 devices 18.7 s before, 11.0 s after).

The fix gives ``pypsrp.serializer`` its own view of ElementTree whose ``tostring`` skips primitive
elements; complex objects still get their XML (pypsrp keeps it as ``_xml``).

Strings: PowerShell writes each UTF-16 code unit CLIXML cannot carry as ``_xHHHH_`` (controls, and
both halves of a surrogate pair). pypsrp decodes them strictly, so one device whose FriendlyName
holds a lone surrogate (``_xD800_``, which a buggy phone can send) made the whole
Get-ActiveSyncDevice pipeline fail, and with it every discovery of the organization. The decoder
here joins pairs into their character and keeps a lone surrogate as it is; whoever stores the
value replaces it (``easconsole.text.storable``). Strings without an escape, nearly all of them, are
returned as they are, which is also faster than pypsrp's UTF-16 round trip.

Both are installed only on the pypsrp version they were checked against, so an upgrade falls back
to pypsrp as it is (and tests/exchange/test_pypsrp_tuning.py says so).
"""
from __future__ import annotations

import re
import types
import xml.etree.ElementTree as ET
from importlib.metadata import PackageNotFoundError, version

from pypsrp.serializer import Serializer

CHECKED_VERSION = "0.9.1"
# The tags pypsrp 0.9.1's deserialize() returns a value for without using the element's XML text.
PRIMITIVE_TAGS = frozenset({
    "S", "ToString", "C", "B", "DT", "TS", "By", "SB", "U16", "I16", "U32", "I32", "U64", "I64", "Sg", "Db", "D",
    "BA", "G", "URI", "Nil", "Version", "XD", "SBK", "SS", "Ref",
})


def _tostring(element, *args, **kwargs):
    if getattr(element, "tag", None) in PRIMITIVE_TAGS:
        return b""  # never read by pypsrp for these
    return ET.tostring(element, *args, **kwargs)


_ESCAPED = re.compile("_x([0-9A-Fa-f]{4})_")
_SURROGATE = re.compile("[\ud800-\udfff]")


def decode_string(value: str | None) -> str:
    """A CLIXML string's text with its ``_xHHHH_`` escapes decoded; a lone surrogate is kept, never an error."""
    if value is None:
        return ""
    if "_x" not in value:
        return value
    decoded = _ESCAPED.sub(lambda m: chr(int(m.group(1), 16)), value)
    if _SURROGATE.search(decoded) is None:
        return decoded
    # Two escaped halves of a pair become their one character; a half without its partner stays.
    return decoded.encode("utf-16-be", "surrogatepass").decode("utf-16-be", "surrogatepass")


def _deserialize_string(self, value):
    return decode_string(value)


# pypsrp's own decoder (taken before install() replaces it), so tests can show what it does with the same input.
PYPSRP_DESERIALIZE_STRING = Serializer._deserialize_string


def install() -> bool:
    """Install the speed-up and the lenient string decoder (idempotent). Returns whether they are active."""
    import pypsrp.serializer as serializer

    if getattr(serializer, "_easconsole_tuned", False):
        return True
    try:
        if version("pypsrp") != CHECKED_VERSION:
            return False
    except PackageNotFoundError:  # pragma: no cover
        return False
    view = types.ModuleType("xml.etree.ElementTree")
    view.__dict__.update(ET.__dict__)
    view.tostring = _tostring
    serializer.ET = view
    serializer.Serializer._deserialize_string = _deserialize_string
    serializer._easconsole_tuned = True
    return True
