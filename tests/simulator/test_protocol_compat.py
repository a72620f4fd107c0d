"""Guards the few psrpcore private members the simulator relies on (see psrpcompat.py).

If one of these fails after a psrpcore upgrade, fix psrpcompat.py before anything else: the
end-to-end tests would otherwise fail in confusing ways (hung pipelines, lost pool replies).
"""
from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from importlib.metadata import version

import pytest
from psrpcore import PSRemotingCrypto, ServerPipeline, ServerRunspacePool
from psrpcore.types import PSInvocationState, PSRPMessageType, deserialize

from easconsole.exchange.simulator import psrpcompat
from easconsole.exchange.simulator.psrp import error_record
from easconsole.exchange.simulator.types import ErrorCategory, ErrorInfo


def test_psrpcore_is_the_pinned_version():
    assert version("psrpcore") == psrpcompat.PSRPCORE_VERSION


def test_private_members_still_exist():
    pool = ServerRunspacePool()
    for name in ("_ci_events", "_ci_handlers", "_send_buffer", "_max_runspaces", "_min_runspaces"):
        assert hasattr(pool, name), name
    for hook in ("_process_SetMaxRunspaces", "_process_SetMinRunspaces"):
        assert callable(getattr(ServerRunspacePool, hook)), hook
    assert callable(getattr(ServerPipeline, "_change_state"))


@pytest.mark.parametrize("spelling", ["CI", "ci"])
def test_call_id_accepts_both_spellings(spelling):
    xml = f'<Obj RefId="0"><MS><I32 N="MaxRunspaces">5</I32><I64 N="{spelling}">7</I64></MS></Obj>'
    ps_object = deserialize(ET.fromstring(xml), PSRemotingCrypto())

    class Event:
        _ps_object = ps_object

    assert psrpcompat.call_id(Event()) == 7


def test_compat_pool_registers_set_max_runspaces_under_upper_case_ci():
    pool = psrpcompat.CompatServerRunspacePool()
    xml = '<Obj RefId="0"><MS><I32 N="MaxRunspaces">5</I32><I64 N="CI">3</I64></MS></Obj>'

    class Event:
        _ps_object = deserialize(ET.fromstring(xml), PSRemotingCrypto())

    pool._process_SetMaxRunspaces(Event())
    assert 3 in pool._ci_events
    pool._ci_handlers[3](None)
    assert pool.max_runspaces == 5


def test_fail_pipeline_queues_a_failed_state_with_the_error_record():
    pool = ServerRunspacePool()
    pool.runspace_pool_id = uuid.uuid4()
    pipeline = ServerPipeline(pool, uuid.uuid4())
    pipeline.start()
    before = psrpcompat.pending_messages(pool)
    info = ErrorInfo(message="nope", exception_type="System.Exception", fq_error_id="X",
                     category=ErrorCategory.InvalidArgument, target="t")
    psrpcompat.fail_pipeline(pipeline, error_record(info))
    assert pipeline.state == PSInvocationState.Failed
    assert psrpcompat.pending_messages(pool) == before + 1
    payload = pool.data_to_send()
    assert payload is not None and payload.pipeline_id == pipeline.pipeline_id
    message_type = int.from_bytes(payload.data[21 + 4 : 21 + 8], "little")
    assert message_type == PSRPMessageType.PipelineState.value
    assert b"nope" in payload.data and b">X<" in payload.data
