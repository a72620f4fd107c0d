"""The bulk reads' fast CLIXML decoder gives what pypsrp gives: the same properties, the same records.

Differential: every object the simulated organization sends for the reads discovery makes (devices,
statistics, mailboxes, CAS mailboxes, recipients), received through the product's Session and
pypsrp, is decoded by both decoders; the property values and the records made of them must be
identical. Fuzz: hypothesis writes odd but valid CLIXML (escapes, lone surrogates, nulls, nested
objects, lists, <Ref>, <TNRef>, properties in <MS>) and both decoders must agree on it too.
"""
from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pypsrp.powershell import PowerShell, PSInvocationState

from easconsole.exchange import clixml_decoder, parsing
from easconsole.exchange.simulator.clixml import escape
from easconsole.exchange.simulator.testing import running_simulator
from easconsole.exchange.transport import Session

from .conftest import settings_for

pytestmark = pytest.mark.simulator


def both(xml: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(fast, pypsrp) properties of one output object."""
    return clixml_decoder.decode(xml), parsing.properties(clixml_decoder.generic(xml))


def shape(value: Any) -> Any:
    """A value as plain data, so pypsrp's objects and the decoder's compare (str() is what reads use)."""
    if hasattr(value, "adapted_properties"):
        return ("object", str(value), shape(value.adapted_properties), shape(value.extended_properties))
    if isinstance(value, dict):
        return {shape(k): shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(v) for v in value]
    return (type(value).__name__, value)


# ---- the simulator's corpus ------------------------------------------------------------------------
ODD_NAMES = ["Line\nbreak\tand tab", "lone \ud800 surrogate", "emoji \U0001F600 pair", "literal _x0041_ text",
             "<b>&amp;</b> \"quoted\"", "", "bidi \u202e spoof", "nul \x00 char"]
PIPELINES = {
    "devices": [("Get-ActiveSyncDevice", [("ResultSize", "Unlimited")])],
    "statistics": [("Get-ActiveSyncDevice", [("ResultSize", "Unlimited")]), ("Get-ActiveSyncDeviceStatistics", []),
                   ("Select-Object", [("Property", list(parsing.STATISTICS_PROPERTIES))])],
    "all statistics": [("Get-ActiveSyncDevice", [("ResultSize", "Unlimited")]), ("Get-ActiveSyncDeviceStatistics", [])],
    "mailboxes": [("Get-Mailbox", [("ResultSize", "Unlimited")]),
                  ("Select-Object", [("Property", list(parsing.MAILBOX_PROPERTIES))])],
    "all mailboxes": [("Get-Mailbox", [("ResultSize", "Unlimited")])],
    "CAS mailboxes": [("Get-CASMailbox", [("ResultSize", "Unlimited")])],
    "recipients": [("Get-Recipient", [("ResultSize", "Unlimited")])],
    "versions": [("Get-ActiveSyncDevice", [("ResultSize", "Unlimited")]),
                 ("Select-Object", [("Property", ["Guid", "WhenChanged"])])],
}
RECORDS = {"devices": parsing.device, "statistics": parsing.statistics, "all statistics": parsing.statistics,
           "mailboxes": parsing.recipient, "all mailboxes": parsing.recipient, "recipients": parsing.recipient}


@pytest.fixture(scope="module")
def corpus() -> Iterator[dict[str, list[str]]]:
    """The XML of every object of each pipeline, as the simulator sent it (odd device names included)."""
    with running_simulator(devices=400, seed=19, auth=("basic",)) as sim:
        session = Session(settings_for(sim), sim.server_address("EXCAS01"), "EXCAS01").open()
        try:
            identities = [row["Identity"] for row in session.stream(PIPELINES["devices"][:1], fast=True)]
            for identity, name in zip(identities, ODD_NAMES):
                sim.org.change_device(identity, friendly_name=name, model=name or "Model")
            yield {name: received(session, commands) for name, commands in PIPELINES.items()}
        finally:
            session.close()


def received(session: Session, commands: list) -> list[str]:
    ps = PowerShell(session.pool)
    for name, params in commands:
        ps.add_cmdlet(name)
        for key, value in params:
            ps.add_parameter(key, value)
    ps.begin_invoke()
    while ps.state == PSInvocationState.RUNNING:
        ps.poll_invoke()
    assert ps.state == PSInvocationState.COMPLETED, ps.streams.error
    return [raw.xml for raw in ps.output]


def test_the_whole_corpus_decodes_to_identical_properties_and_records(corpus):
    assert len(corpus["devices"]) >= 400 and len(corpus["statistics"]) == len(corpus["devices"])
    assert corpus["mailboxes"] and corpus["CAS mailboxes"] and corpus["recipients"]
    for name, objects in corpus.items():
        record = RECORDS.get(name)
        for xml in objects:
            fast, generic = both(xml)
            assert fast and shape(fast) == shape(generic), (name, xml)
            if record is not None:
                assert record(fast) == record(generic), (name, xml)


def test_odd_device_names_come_through_as_exchange_sent_them(corpus):
    names = {parsing.device(clixml_decoder.decode(xml)).friendly_name for xml in corpus["devices"]}
    assert set(ODD_NAMES) - {""} <= names  # the lone surrogate kept, the pair joined, "_x0041_" literal


def test_the_gateway_reads_use_the_fast_decoder_and_find_the_same_devices(corpus):
    fast = [parsing.device(clixml_decoder.properties(clixml_decoder.RawOutput(x), fast=True)) for x in corpus["devices"]]
    slow = [parsing.device(clixml_decoder.properties(clixml_decoder.RawOutput(x), fast=False)) for x in corpus["devices"]]
    assert fast == slow and all(d.guid and d.identity for d in fast)


def test_what_only_pypsrp_knows_falls_back_to_pypsrp():
    secure = '<Obj RefId="0"><TN RefId="0"><T>System.Object</T></TN><Props><SS N="Secret">AAAA</SS></Props></Obj>'
    with pytest.raises(clixml_decoder.Unsupported):
        clixml_decoder.decode(secure)
    stack = ('<Obj RefId="0"><TN RefId="0"><T>System.Object</T></TN><Props><Obj N="S" RefId="1"><TN RefId="1">'
             '<T>System.Collections.Stack</T><T>System.Object</T></TN><STK><S>a</S></STK></Obj></Props></Obj>')
    assert clixml_decoder.properties(clixml_decoder.RawOutput(stack), fast=True) == \
        parsing.properties(clixml_decoder.generic(stack))


# ---- generated CLIXML -------------------------------------------------------------------------------
texts = st.text(st.characters(codec="utf-16", exclude_categories=()), max_size=12) | st.sampled_from(ODD_NAMES)
names = st.sampled_from(parsing.DEVICE_PROPERTIES + ("Extra", "Other Name", "ObjectClass"))


class Writer:
    """Writes one CLIXML object from a drawn description, numbering RefIds as PowerShell does."""

    def __init__(self) -> None:
        self.refs = 0
        self.types: dict[tuple[str, ...], int] = {}
        self.objects: list[int] = []

    def tn(self, names_: tuple[str, ...]) -> str:
        if names_ in self.types:
            return f'<TNRef RefId="{self.types[names_]}" />'
        self.types[names_] = len(self.types)
        return f'<TN RefId="{self.types[names_]}">' + "".join(f"<T>{escape(n)}</T>" for n in names_) + "</TN>"

    def obj(self, n: str, inner: Any, names_: tuple[str, ...], to_string: str | None) -> str:
        head = self.tn(names_)  # in document order: its type names before those of what it holds
        body = inner()
        ref = self.refs  # numbered once complete, so a <Ref> inside it never names it
        self.refs += 1
        self.objects.append(ref)
        shown = "" if to_string is None else f"<ToString>{escape(to_string)}</ToString>"
        return f'<Obj{n} RefId="{ref}">{head}{shown}{body}</Obj>'

    def value(self, n: str, drawn: tuple) -> str:
        kind, payload = drawn
        if kind == "S":
            return f"<S{n}>{escape(payload)}</S>"
        if kind == "Nil":
            return f"<Nil{n} />"
        if kind == "DT":
            return f"<DT{n}>{payload.strftime('%Y-%m-%dT%H:%M:%S.%f')}0Z</DT>"
        if kind in ("I32", "I64"):
            return f"<{kind}{n}>{payload}</{kind}>"
        if kind == "B":
            return f"<B{n}>{'true' if payload else 'false'}</B>"
        if kind == "G":
            return f"<G{n}>{payload}</G>"
        if kind == "enum":
            return self.obj(n, lambda: f"<I32>{payload[1]}</I32>",
                            (payload[0], "System.Enum", "System.ValueType", "System.Object"), payload[2])
        if kind == "list":
            return self.obj(n, lambda: "<LST>" + "".join(self.value("", item) for item in payload[1]) + "</LST>",
                            payload[0], None)
        if kind == "nested":
            return self.obj(n, lambda: "<Props>" + "".join(self.value(f' N="{escape(k)}"', v) for k, v in payload[1])
                            + "</Props>", ("Microsoft.Exchange.Nested", "System.Object"), payload[0])
        if kind == "ref" and self.objects:
            return f'<Ref{n} RefId="{self.objects[payload % len(self.objects)]}" />'
        return f"<Nil{n} />"


primitives = st.one_of(
    st.tuples(st.just("S"), texts), st.tuples(st.just("Nil"), st.none()),
    st.tuples(st.just("DT"), st.datetimes(min_value=dt.datetime(1601, 1, 2), max_value=dt.datetime(9999, 1, 1))),
    st.tuples(st.just("I32"), st.integers(-2**31, 2**31 - 1)), st.tuples(st.just("I64"), st.integers(-2**63, 2**63 - 1)),
    st.tuples(st.just("B"), st.booleans()), st.tuples(st.just("G"), st.uuids()),
)
scalars = primitives | st.one_of(
    st.tuples(st.just("enum"), st.tuples(st.sampled_from(["Ex.DeviceAccessState", "Ex.ClientType"]),
                                         st.integers(0, 9), st.one_of(st.none(), texts))),
    st.tuples(st.just("ref"), st.integers(0, 50)),
)
list_types = st.sampled_from([("System.Collections.ArrayList", "System.Object"), ("System.String[]", "System.Array",
                              "System.Object"), ("Deserialized.Microsoft.Exchange.Data.MultiValuedProperty`1[[System."
                              "String]]", "Deserialized.Microsoft.Exchange.Data.MultiValuedPropertyBase",
                              "System.Collections.ArrayList", "System.Object")])
values = st.recursive(scalars, lambda inner: st.one_of(
    # Exchange's lists hold values (strings mostly): a list of objects reads as its repr, useless either way.
    st.tuples(st.just("list"), st.tuples(list_types, st.lists(primitives, max_size=4))),
    st.tuples(st.just("nested"), st.tuples(st.one_of(st.none(), texts), st.lists(st.tuples(names, inner), max_size=3))),
), max_leaves=8)
objects = st.tuples(st.lists(st.tuples(names, values), max_size=10), st.lists(st.tuples(names, values), max_size=4),
                    st.one_of(st.none(), texts), st.booleans())


def write(drawn: tuple) -> str:
    adapted, extended, to_string, selected = drawn
    writer = Writer()
    root_types = ("Selected.Microsoft.Exchange.Data.Directory.SystemConfiguration.MobileDevice",) if selected else \
        ("Microsoft.Exchange.Data.Directory.SystemConfiguration.MobileDevice",)
    writer.refs = 1  # the root is 0; a <Ref> names only an object written before it, as PowerShell's do
    head = writer.tn((*root_types, "System.Object"))
    shown = "" if to_string is None else f"<ToString>{escape(to_string)}</ToString>"
    props = "".join(writer.value(f' N="{escape(k)}"', v) for k, v in adapted)
    members = "".join(writer.value(f' N="{escape(k)}"', v) for k, v in extended)
    return f'<Obj RefId="0">{head}{shown}<Props>{props}</Props><MS>{members}</MS></Obj>'


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(objects)
def test_odd_but_valid_clixml_decodes_as_pypsrp_decodes_it(drawn):
    xml = write(drawn)
    generic = parsing.properties(clixml_decoder.generic(xml))
    fast = clixml_decoder.properties(clixml_decoder.RawOutput(xml), fast=True)
    assert shape(fast) == shape(generic)
    assert parsing.device(fast) == parsing.device(generic)
    assert parsing.statistics(fast) == parsing.statistics(generic)


def test_a_guid_and_a_lone_surrogate_decode_directly():
    xml = ('<Obj RefId="0"><TN RefId="0"><T>X</T><T>System.Object</T></TN><Props><G N="Guid">'
           f'{uuid.UUID(int=7)}</G><S N="FriendlyName">a_xD800_b</S></Props></Obj>')
    props = clixml_decoder.decode(xml)
    assert props == {"Guid": uuid.UUID(int=7), "FriendlyName": "a\ud800b"}
