"""The bulk reads' Receive reassembles PSRP messages as pypsrp does: the same messages, the same text.

Differential fuzz test: PIPELINE_OUTPUT and other messages (odd text, with and without the UTF-8 BOM)
are cut into fragments of any size, the fragments are spread over Receives at any fragment boundary
(a message may span several Receives, several messages may share one), and both `fast_receive.reassemble`
and pypsrp's own `Fragmenter.defragment` read them: the messages, their order and each output's text
must be identical, and so must what is left waiting for the next Receive. A fragment out of sequence
fails both ways. Reads through the product's Session and the simulator are in test_discovery_reads.py.
"""
from __future__ import annotations

import struct
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pypsrp.exceptions import FragmentError
from pypsrp.messages import MessageType
from pypsrp.powershell import Fragmenter

from easconsole.exchange import clixml_decoder, fast_receive

RPID, PID = uuid.uuid4(), uuid.uuid4()
PIPELINE_COMPLETED = '<Obj RefId="0"><MS><I32 N="PipelineState">4</I32></MS></Obj>'


def message(kind: int, text: str, bom: bool) -> bytes:
    body = (b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8")
    return struct.pack("<iI", 1, kind) + RPID.bytes_le + PID.bytes_le + body


def fragments(object_id: int, data: bytes, size: int) -> list[bytes]:
    pieces = [data[i:i + size] for i in range(0, len(data), size)] or [b""]
    return [struct.pack(">QQBI", object_id, index, (1 if index == 0 else 0) | (2 if index == len(pieces) - 1 else 0),
                        len(piece)) + piece for index, piece in enumerate(pieces)]


def pypsrp_fragmenter() -> Fragmenter:
    return Fragmenter(153600, clixml_decoder.RawOutputSerializer())


texts = st.text(st.characters(exclude_categories=("Cs",)), max_size=300)
messages = st.lists(st.tuples(st.sampled_from([MessageType.PIPELINE_OUTPUT, MessageType.PIPELINE_STATE]), texts,
                              st.booleans(), st.integers(1, 64)), min_size=1, max_size=12)


@settings(max_examples=300, deadline=None)
@given(messages, st.randoms(use_true_random=False), st.booleans())
def test_messages_cut_anyhow_reassemble_as_pypsrp_reassembles_them(drawn, random, interleave):
    streams = []
    for object_id, (kind, text, bom, size) in enumerate(drawn, start=1):
        escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        xml = f"<S>{escaped}</S>" if kind == MessageType.PIPELINE_OUTPUT else PIPELINE_COMPLETED
        streams.append(fragments(object_id, message(kind, xml, bom), size))
    if interleave:  # fragments of several messages interleaved, each message's own in order
        wire, queues = [], [list(s) for s in streams]
        while any(queues):
            queue = random.choice([q for q in queues if q])
            wire.append(queue.pop(0))
    else:
        wire = [f for s in streams for f in s]
    cuts = sorted(random.sample(range(1, len(wire)), k=random.randint(0, len(wire) - 1))) if len(wire) > 1 else []
    receives = [b"".join(wire[a:b]) for a, b in zip([0, *cuts], [*cuts, len(wire)])]

    theirs, ours = pypsrp_fragmenter(), pypsrp_fragmenter()
    for data in receives:
        expected = [(m.message_type, m.data.data.xml if m.message_type == MessageType.PIPELINE_OUTPUT else None)
                    for m in theirs.defragment(data)]
        got = [(struct.unpack_from("<I", m, 4)[0], fast_receive.output_text(m)
                if struct.unpack_from("<I", m, 4)[0] == MessageType.PIPELINE_OUTPUT else None)
               for _, m in fast_receive.reassemble(data, ours.incoming_buffer)]
        assert got == expected
        assert ours.incoming_buffer == theirs.incoming_buffer  # what waits for the next Receive
    assert not ours.incoming_buffer


def test_a_fragment_out_of_sequence_fails_as_in_pypsrp():
    first, second, third = fragments(7, message(MessageType.PIPELINE_OUTPUT, "<S>abc</S>", False), 20)
    for reader in (lambda data, f: f.defragment(data), lambda data, f: fast_receive.reassemble(data, f.incoming_buffer)):
        with pytest.raises(FragmentError):
            reader(first + third, pypsrp_fragmenter())
