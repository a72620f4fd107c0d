"""A fast decoder of the CLIXML output objects of the bulk reads (devices, statistics, mailboxes).

pypsrp builds a generic object tree for every output object (each property through a dispatch on
its tag and its .NET type names) and the gateway then flattens it into a dict (`parsing.properties`).
For discovery that was most of the client's time. Here one PIPELINE_OUTPUT message is parsed by the
C parser behind ElementTree and walked once, straight into the same property dict: the same Python
values pypsrp (with `pypsrp_tuning` installed) gives for each property, so `parsing.device()` and its
kin make identical records from either (tests/exchange/test_clixml_decoder.py compares them over the
simulator's whole corpus and over generated CLIXML).

Anything this decoder does not know the way pypsrp knows it (a secure string, a stack, an object
whose .NET type pypsrp maps to one of its own classes) raises `Unsupported`, and the transport
decodes that one message with pypsrp instead: an odd object costs time, never a failed discovery.
Strings go through `pypsrp_tuning.decode_string`, so a lone surrogate (`_xD800_`) is kept as well.

The transport asks pypsrp to keep output messages as their XML text (`RawOutputSerializer`), and
decodes each with this module or with pypsrp as the pipeline asks (`Session.stream(fast=...)`).
"""
from __future__ import annotations

import base64
import uuid
import xml.etree.ElementTree as ET
from typing import Any

from pypsrp._utils import to_string
from pypsrp.complex_objects import GenericComplexObject, ObjectMeta
from pypsrp.exceptions import SerializationError
from pypsrp.serializer import Serializer

from .pypsrp_tuning import decode_string


# bench/discovery.py turns it off in a worker to measure pypsrp's generic decoder in the same run.
ENABLED = True


class Unsupported(Exception):
    """The object holds something only pypsrp's generic deserialiser handles as pypsrp does."""


class RawOutput:
    """One output object as the XML text Exchange sent (what `RawOutputSerializer` keeps)."""

    __slots__ = ("xml",)

    def __init__(self, xml: str) -> None:
        self.xml = xml


class RawOutputSerializer(Serializer):
    """pypsrp's serializer, except that pipeline output is kept as text, to be decoded by the reader.

    pypsrp's `Message.unpack` deserialises a PIPELINE_OUTPUT message as `deserialize(text)` (no type
    metadata); every other message it receives (states, error records, host calls) comes with its
    metadata and is deserialised by pypsrp as before.
    """

    def deserialize(self, element: Any, metadata: ObjectMeta | None = None, clear: bool = True) -> Any:
        if metadata is None and clear and isinstance(element, str):
            return RawOutput(element)
        return super().deserialize(element, metadata, clear)


def generic(xml: str) -> Any:
    """The output object as pypsrp builds it (its own fallback included), for the other reads."""
    serializer = Serializer()
    try:
        return serializer.deserialize(xml)
    except SerializationError:
        return serializer.deserialize(xml, ObjectMeta("ObjDynamic", object=GenericComplexObject))


class Nested:
    """A property's object value (an enum, a nested object): what reads need of pypsrp's generic object."""

    __slots__ = ("to_string", "adapted_properties", "extended_properties", "types")

    def __init__(self) -> None:
        self.to_string: str | None = None
        self.adapted_properties: dict[str, Any] = {}
        self.extended_properties: dict[str, Any] = {}
        self.types: list[str] = []

    def __str__(self) -> str:
        return to_string(self.to_string)


def _int(el: ET.Element) -> int:
    return int(el.text)  # type: ignore[arg-type]


def _float(el: ET.Element) -> float:
    return float(el.text)  # type: ignore[arg-type]


def _text(el: ET.Element) -> str | None:
    return el.text


def _string(el: ET.Element) -> str:
    return decode_string(el.text)


# The primitive tags, decoded as pypsrp 0.9.1 decodes them (SS, a secure string, is left to pypsrp).
_PRIMITIVES = {
    "S": _string, "ToString": _string, "URI": _string, "XD": _string, "SBK": _string,
    "DT": _text, "TS": _text, "D": _text, "Version": _text,
    "B": lambda el: el.text.lower() == "true",  # type: ignore[union-attr]
    "C": lambda el: chr(int(el.text)),  # type: ignore[arg-type]
    "By": _int, "SB": _int, "U16": _int, "I16": _int, "U32": _int, "I32": _int, "U64": _int, "I64": _int,
    "Sg": _float, "Db": _float,
    "BA": lambda el: base64.b64decode(el.text),  # type: ignore[arg-type]
    "G": lambda el: uuid.UUID(el.text),
    "Nil": lambda el: None,
}
_LIST_TYPES = frozenset({"System.Array", "System.Collections.ArrayList", "System.Collections.Generic.List"})
_DICT_TYPES = frozenset({"System.Collections.Hashtable", "System.Management.Automation.PSPrimitiveDictionary",
                         "System.Management.Automation.PSBoundParametersDictionary"})
_OBJECT_TYPES = frozenset({"System.Object", "System.Management.Automation.PSObject"})
_PRIMITIVE_TYPES = frozenset({
    "System.String", "System.Char", "System.Boolean", "System.DateTime", "System.Byte", "System.SByte",
    "System.UInt16", "System.Int16", "System.UInt32", "System.Int32", "System.UInt64", "System.Int64",
    "System.Single", "System.Double", "System.Decimal", "System.Guid", "System.Uri", "System.Version",
    "System.Xml.XmlDocument", "System.Management.Automation.ScriptBlock", "System.Security.SecureString",
})
# The other .NET types pypsrp 0.9.1 maps to a class or a shape of its own (its `deserialize`'s table).
_PYPSRP_TYPES = _PRIMITIVE_TYPES | frozenset({
    "Selected.Microsoft.PowerShell.Commands.GenericMeasureInfo", "System.Collections.Queue",
    "System.Collections.Stack", "System.ConsoleColor", "System.Management.Automation.CommandOrigin",
    "System.Management.Automation.DebugRecord", "System.Management.Automation.ErrorRecord",
    "System.Management.Automation.Host.Coordinates", "System.Management.Automation.Host.KeyInfo",
    "System.Management.Automation.Host.Size", "System.Management.Automation.InformationalRecord",
    "System.Management.Automation.InformationRecord", "System.Management.Automation.ParameterMetadata",
    "System.Management.Automation.ProgressRecordType", "System.Management.Automation.PSCredential",
    "System.Management.Automation.PSTypeName", "System.Management.Automation.Remoting.RemoteHostMethodId",
    "System.Management.Automation.Runspaces.ApartmentState", "System.Management.Automation.Runspaces.PipelineResultTypes",
    "System.Management.Automation.Runspaces.PSThreadOptions", "System.Management.Automation.Runspaces.RemoteStreamOptions",
    "System.Management.Automation.SessionStateEntryVisibility", "System.Management.Automation.VerboseRecord",
    "System.Management.Automation.WarningRecord", "System.Globalization.CultureInfo",
})
_LIST_PREFIXES = ("System.Collections.Generic.List`1[[", "System.Collections.ObjectModel.Collection`1[[",
                  "System.Collections.ObjectModel.ReadOnlyCollection`1[[")


_KINDS: dict[tuple[str, ...], str] = {}  # a discovery sends the same few type lists again and again


def _kind(types: list[str]) -> str:
    """What pypsrp makes of an object with these type names: "list", "dict" or "object"; the first
    name pypsrp knows decides, as in its `deserialize`. Whatever else it would do is left to it."""
    key = tuple(types)
    kind = _KINDS.get(key)
    if kind is None:
        kind = _KINDS[key] = _kind_of(key)  # Unsupported is raised, never cached
    return kind


def _kind_of(types: tuple[str, ...]) -> str:
    for name in types or ("System.Object",):
        if name.startswith("Deserialized.System."):
            name = name[13:]
        item = None
        if name.endswith("[]"):
            item = name[:-2]
        elif name.startswith(_LIST_PREFIXES):
            item = name[name.index("[[") + 2:-1].split(",")[0]
        elif name.startswith("System.Collections.Generic.Dictionary`2[["):
            return "dict"
        if item is not None:
            if item in _OBJECT_TYPES or item in _PRIMITIVE_TYPES:
                return "list"
            if item in _PYPSRP_TYPES or item in _LIST_TYPES or item in _DICT_TYPES:
                raise Unsupported(name)
            continue
        if name in _OBJECT_TYPES:
            return "object"
        if name in _LIST_TYPES:
            return "list"
        if name in _DICT_TYPES:
            return "dict"
        if name in _PYPSRP_TYPES:
            raise Unsupported(name)
    raise Unsupported("no type pypsrp knows")  # pypsrp keeps the XML text itself


class _Decoder:
    def __init__(self) -> None:
        self.refs: dict[str, Any] = {}
        self.type_names: dict[str, list[str]] = {}

    def value(self, el: ET.Element) -> Any:
        tag = el.tag
        primitive = _PRIMITIVES.get(tag)
        if primitive is not None:
            return primitive(el)
        if tag == "Obj":
            return self.obj(el)
        if tag == "Ref":
            try:
                return self.refs[el.attrib["RefId"]]
            except KeyError:
                raise Unsupported("Ref") from None
        raise Unsupported(tag)

    def types(self, obj: ET.Element) -> list[str]:
        for child in obj:
            if child.tag == "TN":
                names = [t.text or "" for t in child]
                self.type_names[child.attrib.get("RefId", "")] = names
                return names
            if child.tag == "TNRef":
                try:
                    return self.type_names[child.attrib["RefId"]]
                except KeyError:
                    raise Unsupported("TNRef") from None
        return []

    def obj(self, el: ET.Element) -> Any:
        kind = _kind(self.types(el))
        ref = el.attrib.get("RefId")
        if kind == "object":
            return self.fill(el, ref)
        body = next((c for c in el if c.tag not in ("TN", "TNRef", "ToString", "Props", "MS")), None)
        if kind == "list":
            if body is None or body.tag not in ("LST", "IE"):
                raise Unsupported("list")
            items = [self.value(item) for item in body]
            if ref is not None:
                self.refs[ref] = items
            return items
        if body is None or body.tag != "DCT":
            raise Unsupported("dict")
        mapping: dict[Any, Any] = {}
        if ref is not None:
            self.refs[ref] = mapping
        for entry in body:
            key = value = None
            for part in entry:
                if part.attrib.get("N") == "Key":
                    key = self.value(part)
                elif part.attrib.get("N") == "Value":
                    value = self.value(part)
            mapping[key] = value
        return mapping

    def fill(self, el: ET.Element, ref: str | None) -> Nested:
        nested = Nested()
        if ref is not None:
            self.refs[ref] = nested
        for child in el:
            tag = child.tag
            if tag == "Props":
                for prop in child:
                    nested.adapted_properties[prop.attrib["N"]] = self.value(prop)
            elif tag == "MS":
                for prop in child:
                    nested.extended_properties[prop.attrib["N"]] = self.value(prop)
            elif tag == "ToString":
                nested.to_string = decode_string(child.text)
            elif tag in ("TN", "TNRef"):
                nested.types = self.type_names.get(child.attrib.get("RefId", ""), [])
            elif tag in ("LST", "IE", "DCT", "STK", "QUE"):
                raise Unsupported(tag)  # a collection pypsrp keeps in its own shape
            # else the value of an enum (<I32>) and the like: reads use the object's ToString
        return nested


def decode(xml: str) -> dict[str, Any]:
    """The properties of one output object, as `parsing.properties(<pypsrp's object>)` gives them.

    Raises `Unsupported` (or ElementTree's ParseError) for what pypsrp must decode instead.
    """
    root = ET.fromstring(xml)
    if root.tag != "Obj":
        return {}  # a bare value (a string): no properties, as with pypsrp
    decoded = _Decoder().value(root)
    if not isinstance(decoded, Nested):
        return {}
    return {**decoded.adapted_properties, **decoded.extended_properties}


def properties(raw: Any, *, fast: bool) -> dict[str, Any]:
    """The properties of one output object that `RawOutputSerializer` kept as text."""
    from .parsing import properties as generic_properties

    if not isinstance(raw, RawOutput):
        return generic_properties(raw)
    if fast and ENABLED:
        try:
            return decode(raw.xml)
        except (Unsupported, ET.ParseError, KeyError, ValueError, TypeError, AttributeError):
            pass  # pypsrp decodes it as it always did (and says so if it cannot)
    return generic_properties(generic(raw.xml))
