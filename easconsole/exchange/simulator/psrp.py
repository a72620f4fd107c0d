"""PSRP on the server side: one `RunspacePoolHost` per WSMan shell, one `PipelineRun` per command.

psrpcore's ServerRunspacePool parses what the client sends and produces the protocol messages
(capabilities, states, error and warning records). Pipeline output does not go through psrpcore:
records are written by the specialised CLIXML writer and queued directly. Everything destined for
the client is queued per target (the pool, or one pipeline) in an `Outbox`, because pypsrp
receives per command while psrpcore's own buffer is FIFO across targets.

A pipeline pulls from the engine's generator until a Receive's envelope is full, and, once a
Receive has taken its data, fills the next envelope in the background (as Exchange keeps its
pipeline running while the client reads): the client's decoding and the server's serialising
overlap, and a 100,000-device result never exists in memory at once (one envelope ahead at most).
"""
from __future__ import annotations

import datetime as dt
import itertools
import logging
import struct
import threading
import time
import uuid
from collections import deque
from typing import Any, Callable, Iterator

from psrpcore import CreatePipelineEvent, PSRPPayload, ServerPipeline, StreamType
from psrpcore import GetAvailableRunspacesEvent, ResetRunspaceStateEvent
from psrpcore import SetMaxRunspacesEvent, SetMinRunspacesEvent
from psrpcore.types import ErrorCategory as PSErrorCategory
from psrpcore.types import ErrorCategoryInfo, ErrorRecord, NETException, PSInvocationState

from . import psrpcompat
from .clixml import ClixmlWriter
from .types import CmdletError, CommandCall, ErrorCategory, ErrorInfo, NonTerminatingError, Record, Warning

log = logging.getLogger(__name__)

FRAGMENT_HEADER = 21
PIPELINE_OUTPUT = 0x00041004
PSCUSTOMOBJECT = "System.Management.Automation.PSCustomObject"

NO_LANGUAGE = ErrorInfo(
    message="The syntax is not supported by this runspace. This can occur if the runspace is in no-language mode.",
    exception_type="System.Management.Automation.ParseException",
    fq_error_id="ScriptsNotAllowed",
    category=ErrorCategory.ParserError,
)


def error_record(info: ErrorInfo) -> ErrorRecord:
    """An ErrorRecord shaped like Exchange's: exception type chain, category, target, FQID."""
    exception = NETException(Message=info.message, HResult=-2146233087)
    exception.PSObject.type_names = [info.exception_type, "System.Exception", "System.Object"]
    reason = info.exception_type.rsplit(".", 1)[-1]
    category = ErrorCategoryInfo(
        Category=PSErrorCategory(int(info.category)),
        Activity=info.activity or "",
        Reason=reason,
        TargetName=info.target or "",
        TargetType="String" if info.target is not None else "",
    )
    return ErrorRecord(
        Exception=exception,
        CategoryInfo=category,
        TargetObject=info.target,
        FullyQualifiedErrorId=info.fq_error_id,
    )


class Outbox:
    """Whole PSRP messages for one target, cut into fragments as Receive responses ask for them."""

    def __init__(self, object_ids: Iterator[int]) -> None:
        self._ids = object_ids
        self._queue: deque[list[Any]] = deque()  # [object_id, data, offset, fragment_id]
        self._lock = threading.Lock()
        self.size = 0

    def put(self, message: bytes) -> None:
        with self._lock:
            self._queue.append([next(self._ids), message, 0, 0])
            self.size += len(message)

    def __bool__(self) -> bool:
        return bool(self._queue)

    def take(self, budget: int) -> bytes:
        """Fragments totalling at most `budget` bytes (at least one fragment if anything is queued)."""
        out: list[bytes] = []
        used = 0
        with self._lock:
            while self._queue:
                room = budget - used - FRAGMENT_HEADER
                if room < 512 and out:
                    break
                room = max(room, 512)
                item = self._queue[0]
                object_id, data, offset, fragment_id = item
                chunk = data[offset : offset + room]
                end = offset + len(chunk) >= len(data)
                flags = (1 if offset == 0 else 0) | (2 if end else 0)
                out.append(struct.pack(">QQBI", object_id, fragment_id, flags, len(chunk)) + chunk)
                used += FRAGMENT_HEADER + len(chunk)
                self.size -= len(chunk)
                if end:
                    self._queue.popleft()
                else:
                    item[2] = offset + len(chunk)
                    item[3] = fragment_id + 1
        return b"".join(out)


def _plain(value: Any) -> Any:
    """psrpcore's deserialised parameter values (PSString, PSInt, PSList...) as plain Python values."""
    if value is None:
        return None
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, uuid.UUID):
        return uuid.UUID(str(value))
    if isinstance(value, str):
        return str(value)
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, dict):
        return {_plain(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return str(value)


def statements(metadata: Any) -> list[list[CommandCall]]:
    """The client's pipeline as statements of CommandCalls (add_statement splits them)."""
    result: list[list[CommandCall]] = [[]]
    for command in metadata.commands:
        params = [(name, _plain(value)) for name, value in command.parameters]
        result[-1].append(CommandCall(name=str(command.command_text), parameters=params, is_script=bool(command.is_script)))
        if command.end_of_statement:
            result.append([])
    return [s for s in result if s]


class PipelineRun:
    """One pipeline: feeds the engine's output to the client lazily, as Receives ask for it."""

    def __init__(self, host: "RunspacePoolHost", pipeline_id: uuid.UUID) -> None:
        self.host = host
        self.id = pipeline_id
        self.pipeline = ServerPipeline(host.pool, pipeline_id)
        self.outbox = Outbox(host.object_ids)
        self.lock = threading.Lock()
        self.finished = False  # a terminal PIPELINE_STATE has been queued
        self.calls: list[list[CommandCall]] | None = None
        self._output: Iterator[Any] | None = None
        self._writer = ClixmlWriter()
        self._header = b""
        self._ahead = False  # a background fill of the next envelope is pending

    def created(self, calls: list[list[CommandCall]]) -> None:
        self.calls = calls
        rpid = self.host.pool.runspace_pool_id
        self._header = struct.pack("<iI", 1, PIPELINE_OUTPUT) + rpid.bytes_le + self.id.bytes_le
        with self.host.lock:
            self.pipeline.start()
            self.host.drain()

    def ready(self) -> bool:
        return self.calls is not None

    def fill(self, budget: int) -> None:
        """Pull from the engine until about `budget` bytes are queued or the pipeline has ended."""
        if self.calls is None or self.finished:
            return
        if self._output is None:
            self._output = self._run_statements(self.calls)
        writer, header, outbox = self._writer, self._header, self.outbox
        try:
            while outbox.size < budget:
                item = next(self._output, _END)
                if item is _END:
                    self._end(None)
                    return
                if type(item) is Record:
                    extended = PSCUSTOMOBJECT in item.type_names
                    outbox.put(header + writer.record(item, extended=extended).encode("utf-8"))
                elif isinstance(item, NonTerminatingError):
                    self._psrpcore(lambda: self._write_error(item.info))
                elif isinstance(item, Warning):
                    self._psrpcore(lambda: self.pipeline.write_warning(item.message))
                else:
                    outbox.put(header + writer.value(item).encode("utf-8"))
        except CmdletError as exc:
            self._end(exc.info)
        except Exception as exc:  # an engine bug must not hang the client: fail the pipeline visibly
            log.exception("engine raised while running %s", self.calls)
            self._end(ErrorInfo(message=f"Simulator internal error: {exc!r}", exception_type="System.Exception",
                                fq_error_id="SimulatorInternalError"))

    def fill_ahead(self, budget: int) -> None:
        """Fill the next envelope in a background thread, unless one already does or the pipeline ended."""
        if self.finished or self._ahead:
            return
        self._ahead = True

        def fill() -> None:
            try:
                with self.lock:
                    self.fill(budget)
            finally:
                self._ahead = False

        threading.Thread(target=fill, name=f"fill-{self.id}", daemon=True).start()

    def _run_statements(self, calls: list[list[CommandCall]]) -> Iterator[Any]:
        for statement in calls:
            if any(c.is_script for c in statement):
                # The runspace is in no-language mode whatever the engine does; the engine still sees
                # the attempt first so its call log shows that a script was sent.
                try:
                    next(iter(self.host.session.run(statement)), None)
                except CmdletError:
                    pass
                raise CmdletError(NO_LANGUAGE)
            yield from self.host.session.run(statement)

    def _write_error(self, info: ErrorInfo) -> None:
        record = error_record(info)
        self.pipeline.write_error(record.Exception, record.CategoryInfo, record.TargetObject,
                                  record.FullyQualifiedErrorId)

    def _psrpcore(self, action: Callable[[], None]) -> None:
        with self.host.lock:
            action()
            self.host.drain()

    def _end(self, failure: ErrorInfo | None) -> None:
        self.finished = True
        self._close_output()

        def finish() -> None:
            if self.pipeline.state != PSInvocationState.Running:
                return
            if failure is None:
                self.pipeline.complete()
            else:
                psrpcompat.fail_pipeline(self.pipeline, error_record(failure))

        self._psrpcore(finish)

    def stop(self) -> None:
        """ctrl_c: stop the engine's generator and report Stopped."""
        with self.lock:
            self.finished = True
            self._close_output()
            self._psrpcore(lambda: self.pipeline.stop() if self.pipeline.state == PSInvocationState.Running else None)

    def close(self) -> None:
        # A Receive may be pulling from the engine right now: let it finish its envelope first.
        locked = self.lock.acquire(timeout=5)
        try:
            self._close_output()
        finally:
            if locked:
                self.lock.release()
        with self.host.lock:
            if self.pipeline.state == PSInvocationState.Running:
                self.pipeline.stop()
            self.pipeline.close()
            self.host.drain()

    def _close_output(self) -> None:
        output, self._output = self._output, iter(())
        close = getattr(output, "close", None)
        if close is not None:
            try:
                close()
            except Exception:  # closing a generator runs its finally blocks; those are the engine's business
                log.exception("engine generator raised on close")


_END = object()


class RunspacePoolHost:
    """A runspace pool as the server sees it: psrpcore's state plus the engine session behind it."""

    def __init__(self, shell_id: uuid.UUID, account: str, server_name: str, session: Any) -> None:
        self.shell_id = shell_id
        self.account = account
        self.server_name = server_name
        self.session = session
        self.pool = psrpcompat.CompatServerRunspacePool()
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self.object_ids = itertools.count(1)
        self.outbox = Outbox(self.object_ids)
        self.pipelines: dict[uuid.UUID, PipelineRun] = {}
        self.created_at = time.time()
        # What WSMan Enumerate reports about the shell (service.py fills name and client_ip at Create).
        self.name = ""
        self.client_ip = ""
        self.idle_timeout = 7200.0
        self.last_request = time.monotonic()
        self._receive_generation: dict[uuid.UUID | None, int] = {}

    # -- client data in --------------------------------------------------------------------------
    def feed(self, data: bytes, pipeline_id: uuid.UUID | None = None) -> None:
        with self.lock:
            self.pool.receive_data(PSRPPayload(data, StreamType.default, pipeline_id))
            created: list[tuple[PipelineRun, list[list[CommandCall]]]] = []
            while True:
                event = self.pool.next_event()
                if event is None:
                    break
                if isinstance(event, CreatePipelineEvent):
                    run = self.pipelines.get(event.pipeline_id)
                    if run is not None:
                        created.append((run, statements(event.pipeline)))
                elif isinstance(event, (SetMaxRunspacesEvent, SetMinRunspacesEvent, ResetRunspaceStateEvent)):
                    self.pool.runspace_availability_response(psrpcompat.call_id(event), True)
                elif isinstance(event, GetAvailableRunspacesEvent):
                    available = max(self.pool.max_runspaces - self.running_pipelines(), 0)
                    self.pool.runspace_availability_response(psrpcompat.call_id(event), available)
            self.drain()
        for run, calls in created:
            run.created(calls)

    def new_pipeline(self, pipeline_id: uuid.UUID, first_fragment: bytes) -> PipelineRun:
        with self.lock:
            run = PipelineRun(self, pipeline_id)
            self.pipelines[pipeline_id] = run
        self.feed(first_fragment, pipeline_id)
        return run

    # -- data out --------------------------------------------------------------------------------
    def drain(self) -> None:
        """Move psrpcore's queued messages into the outbox of their target (caller holds the lock)."""
        while True:
            payload = self.pool.data_to_send()
            if payload is None:
                break
            target = self.outbox
            if payload.pipeline_id is not None:
                run = self.pipelines.get(payload.pipeline_id)
                if run is None:
                    continue
                target = run.outbox
            data = payload.data
            while data:  # psrpcore returns whole messages, one fragment each, when not size-bounded
                length = struct.unpack(">I", data[17:21])[0]
                target.put(bytes(data[FRAGMENT_HEADER : FRAGMENT_HEADER + length]))
                data = data[FRAGMENT_HEADER + length :]
        self.changed.notify_all()

    def receive(self, pipeline_id: uuid.UUID | None, budget: int, timeout: float) -> tuple[bytes, bool] | None:
        """Data for one Receive, waiting up to `timeout`; None means the long-poll timed out.

        Returns (fragments, done) where done says the pipeline has sent its final state. A newer
        Receive for the same target supersedes a waiting one, so a Receive the client abandoned
        never swallows data meant for its successor.
        """
        deadline = time.monotonic() + timeout
        with self.lock:
            generation = self._receive_generation.get(pipeline_id, 0) + 1
            self._receive_generation[pipeline_id] = generation
            self.changed.notify_all()
        while True:
            if pipeline_id is None:
                with self.lock:
                    if self.outbox:
                        return self.outbox.take(budget), False
            else:
                run = self.pipelines.get(pipeline_id)
                if run is None:
                    return b"", True
                if run.ready():
                    with run.lock:
                        run.fill(budget)
                        data = run.outbox.take(budget) if run.outbox else None
                        done = run.finished and not run.outbox
                    if data is not None:
                        if done:
                            # pypsrp's invoke() never signals Terminate: forget a pipeline once its
                            # final state is on the wire, or a long-lived pool would keep them all.
                            self._forget(run)
                        else:
                            run.fill_ahead(budget)
                        return data, done
            with self.lock:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._receive_generation.get(pipeline_id) != generation:
                    return None
                self.changed.wait(min(remaining, 0.5))

    # -- lifecycle -------------------------------------------------------------------------------
    def _forget(self, run: PipelineRun) -> None:
        with self.lock:
            self.pipelines.pop(run.id, None)
            try:
                run.pipeline.close()
            except Exception:  # not in a closable state: psrpcore keeps nothing else for it
                self.pool.pipeline_table.pop(run.id, None)

    def running_pipelines(self) -> int:
        return sum(1 for run in self.pipelines.values() if not run.finished)

    def touch(self) -> None:
        self.last_request = time.monotonic()

    def inactivity(self) -> float:
        """Seconds since a client request on the shell last started or ended (a pipeline nobody reads
        any more does not keep it active: a client polls with Receive while it uses a pipeline)."""
        return time.monotonic() - self.last_request

    def signal(self, pipeline_id: uuid.UUID, code: str) -> None:
        run = self.pipelines.get(pipeline_id)
        if run is None:
            return
        if code.endswith("ctrl_c"):
            run.stop()
        else:
            with self.lock:
                self.pipelines.pop(pipeline_id, None)
            run.close()

    def close(self) -> None:
        with self.lock:
            runs, self.pipelines = list(self.pipelines.values()), {}
            self._receive_generation = {k: v + 1 for k, v in self._receive_generation.items()}
            self.changed.notify_all()
        for run in runs:
            try:
                run.close()
            except Exception:  # a half-created pipeline cannot be closed cleanly; it is dropped anyway
                log.debug("closing pipeline %s", run.id, exc_info=True)
        try:
            self.session.close()
        except Exception:
            log.exception("engine session close failed")
