"""The bulk reads' Receive: PSRP fragments reassembled and output messages taken as text, without pypsrp's objects.

pypsrp's ``PowerShell.poll_invoke`` cuts a Receive's stream into fragments by slicing the rest of the
buffer after each one (quadratic in the envelope's size), builds a ``Fragment`` and a ``Message`` for
each of them with two ``uuid.UUID`` of the runspace pool and the pipeline, and hands every message to
its serializer: for a discovery that was a fifth of the client's CPU. Here, for the pipelines whose
output the fast decoder reads (``Session.stream(fast=True)``), one Receive is reassembled with
``struct`` over the buffer as it is; a complete PIPELINE_OUTPUT message becomes a ``RawOutput`` (its
CLIXML text) at once, and every other message (the pipeline's state, error records, warnings, host
calls...) is handed, whole and in order, to pypsrp's own ``_parse_responses``, which processes it as
it always did. pypsrp still sends the Receive (WSMan, authentication, message encryption) and reads
its envelope; its reassembly state (``Fragmenter.incoming_buffer``) is the one used here, so a message
cut across two Receives is joined the same way whoever reads either half.
"""
from __future__ import annotations

import struct
from typing import Any

from pypsrp.exceptions import FragmentError, WSManFaultError
from pypsrp.messages import MessageType

from .clixml_decoder import RawOutput

_FRAGMENT = struct.Struct(">QQBI")  # object id, fragment id, start/end flags, length
_MESSAGE_TYPE = struct.Struct("<I")
_OUTPUT = MessageType.PIPELINE_OUTPUT
_BOM = b"\xef\xbb\xbf"
_OPERATION_TIMEOUT = 2150858793  # WSMan's "no output yet": ask again, as poll_invoke does


def reassemble(data: bytes, incoming: dict[int, dict[str, Any]]) -> list[tuple[int, bytes]]:
    """The complete PSRP messages in a Receive's stream, as (object id, message bytes), in order.

    ``incoming`` is pypsrp's ``Fragmenter.incoming_buffer`` ({object id: {"data", "id"}}): a message's
    fragments received earlier are there, and the start of one that continues in the next Receive is
    left there. Raises pypsrp's FragmentError for a fragment out of sequence, as pypsrp does.
    """
    messages: list[tuple[int, bytes]] = []
    view = memoryview(data)
    offset, size = 0, len(data)
    unpack = _FRAGMENT.unpack_from
    while offset < size:
        object_id, fragment_id, flags, length = unpack(data, offset)
        offset += 21
        chunk = view[offset:offset + length]
        offset += length
        pending = incoming.get(object_id)
        expected = 0 if pending is None else pending["id"]
        if fragment_id != expected:
            raise FragmentError(f"Fragment Fragment Id: {fragment_id} != Expected Fragment Id: {expected}")
        start, end = flags & 1, flags & 2
        if start and end:
            messages.append((object_id, bytes(chunk)))
            incoming.pop(object_id, None)
        elif start:
            pending = incoming.setdefault(object_id, {"data": b"", "id": 0})
            pending["data"] = bytes(chunk)
            pending["id"] += 1
        elif end:
            messages.append((object_id, (b"" if pending is None else pending["data"]) + bytes(chunk)))
            incoming.pop(object_id, None)
        else:
            if pending is None:
                pending = incoming[object_id] = {"data": b"", "id": 0}
            pending["data"] += bytes(chunk)
            pending["id"] += 1
    return messages


def output_text(message: bytes) -> str:
    """A PIPELINE_OUTPUT message's CLIXML (after its 40-byte header and the UTF-8 BOM), as pypsrp reads it."""
    start = 43 if message[40:43] == _BOM else 40
    return message[start:].decode("utf-8")


def poll(ps: Any) -> None:
    """One Receive for the pipeline ``ps`` (pypsrp's PowerShell), as ``ps.poll_invoke()`` does it:
    output objects appended to ``ps.output`` as ``RawOutput``, everything else processed by pypsrp."""
    pool = ps.runspace_pool
    try:
        stream = pool.shell.receive("stdout", command_id=ps._command_id)[2]["stdout"]
    except WSManFaultError as err:
        if err.code == _OPERATION_TIMEOUT:
            return
        raise
    others: list[bytes] = []
    output = ps.output
    pack = _FRAGMENT.pack
    for object_id, message in reassemble(stream, pool._fragmenter.incoming_buffer):
        if _MESSAGE_TYPE.unpack_from(message, 4)[0] == _OUTPUT:
            if others:  # keep the order: what came before this object is processed before it is read
                pool._parse_responses(b"".join(others), ps)
                others = []
            output.append(RawOutput(output_text(message)))
        else:  # as one whole fragment again, for pypsrp's own reassembly and processing
            others.append(pack(object_id, 0, 3, len(message)) + message)
    if others:
        pool._parse_responses(b"".join(others), ps)
