"""Every use of psrpcore private members, in one place (psrpcore is pinned to 0.3.1).

psrpcore 0.3.1 has no public way to fail a pipeline or to accept pypsrp's upper-case `CI` call id,
so these few lines reach into it. `tests/simulator/test_protocol_compat.py` exercises each of them
directly so an upgrade that moves them fails loudly there rather than subtly on the wire.
"""
from __future__ import annotations

from typing import Any

from psrpcore import ServerPipeline, ServerRunspacePool
from psrpcore.types import ErrorRecord, PSInvocationState

PSRPCORE_VERSION = "0.3.1"


def call_id(event: Any) -> int:
    """The call id of a pool message: pypsrp writes `CI`, psrpcore reads `ci`."""
    ps_object = event._ps_object  # noqa: SLF001 - the event only exposes .ci, which raises for `CI`
    value = getattr(ps_object, "ci", None)
    if value is None:
        value = getattr(ps_object, "CI")
    return int(value)


class CompatServerRunspacePool(ServerRunspacePool):
    """ServerRunspacePool that registers SET_MAX/MIN_RUNSPACES under either spelling of the call id."""

    def _process_SetMaxRunspaces(self, event: Any) -> None:  # noqa: N802 - psrpcore's hook name
        count = int(event._ps_object.MaxRunspaces)
        ci = call_id(event)
        self._ci_events[ci] = event
        self._ci_handlers[ci] = lambda _e: setattr(self, "_max_runspaces", count)

    def _process_SetMinRunspaces(self, event: Any) -> None:  # noqa: N802 - psrpcore's hook name
        count = int(event._ps_object.MinRunspaces)
        ci = call_id(event)
        self._ci_events[ci] = event
        self._ci_handlers[ci] = lambda _e: setattr(self, "_min_runspaces", count)


def fail_pipeline(pipeline: ServerPipeline, error: ErrorRecord) -> None:
    """End a running pipeline Failed with `error` as its ExceptionAsErrorRecord, as pwsh does."""
    pipeline._change_state(PSInvocationState.Failed, error)  # noqa: SLF001 - no public API for Failed


def pending_messages(pool: ServerRunspacePool) -> int:
    """How many messages psrpcore still holds (used by tests to check nothing is left behind)."""
    return len(pool._send_buffer)  # noqa: SLF001
