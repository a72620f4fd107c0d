"""The specialised CLIXML writer, read back by pypsrp's own deserializer."""
from __future__ import annotations

import datetime as dt
import uuid

from pypsrp.complex_objects import GenericComplexObject
from pypsrp.serializer import Serializer

from easconsole.exchange.simulator.clixml import ClixmlWriter, escape, format_timespan
from easconsole.exchange.simulator.types import EnumValue, Record

from .conftest import device


def read(xml: str):
    return Serializer().deserialize(xml)


def test_record_reads_back_with_pypsrp():
    obj = read(ClixmlWriter().record(device(4)))
    assert isinstance(obj, GenericComplexObject)
    props = obj.adapted_properties
    assert props["Name"] == "dev4" and props["Big"] == 2**40 + 4 and props["Guid"] == uuid.UUID(int=5)
    assert props["Tricky"] == "a<b&c>\r\n\t_x0041_\x01é§"
    assert str(props["State"]) == "Allowed" and str(props["Reason"]) == "Global"


def test_type_names_are_reused_within_a_message():
    xml = ClixmlWriter().record(device(1))
    assert xml.count("<T>Microsoft.Exchange.Data.Directory.SystemConfiguration.DeviceAccessState</T>") == 1
    assert '<TNRef RefId="1" />' in xml  # State2 reuses State's type names


def test_each_message_restarts_ref_ids():
    writer = ClixmlWriter()
    first, second = writer.record(device(1)), writer.record(device(2))
    assert first.startswith('<Obj RefId="0"><TN RefId="0">') and second.startswith('<Obj RefId="0"><TN RefId="0">')


def test_scalars():
    writer = ClixmlWriter()
    record = Record(("X",), {
        "i32": 2**31 - 1, "i64": 2**31, "neg": -5, "b": True, "f": 1.5, "none": None,
        "dt": dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=dt.timezone(dt.timedelta(hours=2))),
        "naive": dt.datetime(2024, 5, 6, 7, 8, 9), "ts": dt.timedelta(days=1, minutes=2),
        "enum": EnumValue("T.Kind", "Two", 2), "mixed": [1, "a", None],
    })
    xml = writer.record(record)
    assert '<I32 N="i32">2147483647</I32>' in xml and '<I64 N="i64">2147483648</I64>' in xml
    assert '<DT N="dt">2024-05-06T05:08:09.0000000Z</DT>' in xml
    assert '<DT N="naive">2024-05-06T07:08:09.0000000Z</DT>' in xml
    props = read(xml).adapted_properties
    assert props["neg"] == -5 and props["b"] is True and props["f"] == 1.5 and props["none"] is None
    assert props["ts"] == "P1DT2M" and props["mixed"] == [1, "a", None]
    assert str(props["enum"]) == "Two"


def test_escape_and_timespan_forms():
    assert escape("plain") == "plain"
    assert escape("_x000A_") == "_x005F_x000A_"
    assert escape("\x00<") == "_x0000_&lt;"
    assert format_timespan(dt.timedelta(0)) == "PT0S"
    assert format_timespan(dt.timedelta(seconds=-90)) == "-PT1M30S"


def test_pscustomobject_uses_member_set():
    xml = ClixmlWriter().record(Record(("System.Management.Automation.PSCustomObject",), {"A": 1}), extended=True)
    assert read(xml).extended_properties == {"A": 1}


def test_strings_are_escaped_per_utf16_code_unit_as_powershell_does():
    """pwsh escapes UTF-16 code units: an emoji as its two surrogates, a lone surrogate as itself."""
    from psrpcore.types._serializer import _serialize_string  # the protocol library's model of pwsh

    for value in ("😀 山田", "a\U0001F468\u200d\U0001F469b", "\x00\t_x", "\u202eexe"):
        assert escape(value) == _serialize_string(value)
    assert escape("😀") == "_xD83D__xDE00_"
    assert escape("a\ud800b") == "a_xD800_b"
