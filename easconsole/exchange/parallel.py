"""Reading one pipeline in a child process: a second session, decoded by a second interpreter.

Discovery's bulk reads are CPU-bound on the client (the transport, the XML, the records): threads
would share one interpreter lock, and two Receives at once on one encrypted (NTLM, Kerberos) session
would break its message sequence. So a second stream is read by a child process started with
"spawn" (a fresh interpreter: nothing of the worker is inherited but what is passed) on its own
session with the connector's settings, decoded and turned into records there, and sent back in
batches. The child's log records (a throttling wait, a pool it could not close) come back with them
and are logged by the parent, so EasDisc.log has them.

    reader = ChildReader(settings, known_servers, pipeline, parse="statistics")
    if reader.start() and reader.started():  # False: no child could be started, or its session opened;
        for record in reader: ...            # read in this process. Raises ExchangeError as the child's
                                             # read failed, or when it died
    reader.close()                     # waits for the child to close its runspace pool

django-q2's workers are daemonic by default and may then start no child; the console's settings turn
that off (``daemonize_workers``).
"""
from __future__ import annotations

import itertools
import logging
import logging.handlers
import multiprocessing
import queue
import threading
from multiprocessing.reduction import ForkingPickler
from typing import Any, Iterable, Iterator, Sequence

from . import errors, parsing
from .pools import reclaim
from .transport import CLOSE_TIMEOUT_SECONDS, Command, PipelineOutcome
from .values import ConnectionSettings, ServerInfo

easdisc = logging.getLogger("easconsole.easdisc")
log = logging.getLogger(__name__)

BATCH = 100  # records a message
AHEAD = 100  # messages a child may read ahead of the parent (10,000 records: about 10 MB pickled at most)
PARSERS = {"statistics": parsing.statistics, "device": parsing.device}


class _Outbox:
    """What the child sends to the parent, queued (at most AHEAD messages, pickled: a batch of records
    takes a tenth of its objects' memory) and sent in order by a thread of its own: the child reads on
    while the parent is busy elsewhere (discovery reads the mailboxes first), and the queue's bound keeps
    its memory flat. The parent's `Connection.recv()` unpickles them as it would what `send()` sent."""

    def __init__(self, conn) -> None:
        self.conn = conn
        self.queue: queue.Queue = queue.Queue(AHEAD)
        self.gone = threading.Event()  # the parent closed its end
        self.thread = threading.Thread(target=self._send_all, name="easconsole-reader-send", daemon=True)
        self.thread.start()

    def _send_all(self) -> None:
        while True:
            kind, message = self.queue.get()
            try:
                self.conn.send_bytes(message)
            except OSError:  # BrokenPipeError: nobody to tell any more
                self.gone.set()
                return
            if kind in ("done", "error"):
                return

    def put(self, kind: str, payload: Any) -> None:
        """Queue a message, waiting while the queue is full; BrokenPipeError once the parent is gone."""
        message = (kind, ForkingPickler.dumps((kind, payload)))
        while not self.gone.is_set():
            try:
                self.queue.put(message, timeout=1)
                return
            except queue.Full:
                continue
        raise BrokenPipeError("the parent stopped reading")

    def finish(self, kind: str, payload: Any) -> None:
        """The last message ("done" or "error"), then wait until everything queued is sent, however long
        the parent takes to read it, or until the parent is gone (a parent that stops waiting for this
        process kills it: `ChildReader.close`)."""
        try:
            self.put(kind, payload)
        except BrokenPipeError:
            return
        self.thread.join()


class _OutboxLogHandler(logging.handlers.QueueHandler):
    """In the child: each log record goes to the parent (formatted, as QueueHandler prepares it)."""

    def enqueue(self, record: logging.LogRecord) -> None:
        try:
            self.queue.put("log", record)
        except BrokenPipeError:
            pass  # the parent is gone: nobody to tell


def _read(conn, settings: ConnectionSettings, known_servers: list[ServerInfo], commands: list[Command],
          parse: str) -> None:
    """The child: open a session, stream the pipeline, send its records in batches, close the session."""
    from .gateway import PsrpGateway  # imported here: the child needs nothing else of the console

    outbox = _Outbox(conn)
    root = logging.getLogger()
    root.handlers[:] = [_OutboxLogHandler(outbox)]
    root.setLevel(logging.INFO)
    to_record = PARSERS[parse]
    try:
        with PsrpGateway(settings, known_servers=known_servers) as gateway:
            connection, batch = gateway._connection, []
            with connection.slot():
                stream = connection.stream(commands, strict=False, outcome=PipelineOutcome(), fast=True)
                first = next(stream, None)  # the pipeline invoked, its first object here (or none at all)
                outbox.put("opened", gateway.current_server)
                for props in itertools.chain([first] if first is not None else [], stream):
                    batch.append(to_record(props))
                    if len(batch) >= BATCH:
                        outbox.put("records", batch)
                        batch = []
            outbox.put("records", batch)
        outbox.finish("done", None)  # after the session closed: the parent may count on it
    except BrokenPipeError:
        pass  # the parent stopped reading; the session was closed on the way out
    except errors.ExchangeError as error:
        outbox.finish("error", (type(error).__name__, error.cmdlet, error.server, error.reason))
    except Exception as error:  # noqa: BLE001 - told to the parent, which fails the run with it
        outbox.finish("error", ("ExchangeError", commands[0][0], "", f"{type(error).__name__}: {error}"))
    finally:
        conn.close()


def _error(name: str, cmdlet: str, server: str, reason: str) -> errors.ExchangeError:
    """The child's failure as the same kind of ExchangeError in the parent (exceptions do not pickle well)."""
    cls = getattr(errors, name, errors.ExchangeError)
    if not (isinstance(cls, type) and issubclass(cls, errors.ExchangeError)):
        cls = errors.ExchangeError
    try:
        return cls(cmdlet, server, reason)
    except TypeError:
        return errors.ExchangeError(cmdlet, server, reason)


class ChildReader:
    """One pipeline read by a child process. Args: the connector's settings (with the server to
    prefer first), the servers known for failover, the pipeline, and which record to make of each
    object ("statistics" or "device")."""

    def __init__(self, settings: ConnectionSettings, known_servers: Iterable[ServerInfo],
                 commands: Sequence[Command], *, parse: str) -> None:
        self.settings = settings
        self.known_servers = list(known_servers)
        self.commands = [(name, list(params)) for name, params in commands]
        self.parse = parse
        self.cmdlet = " | ".join(name for name, _ in commands)
        self.server = next(iter(settings.sites.values()), "")
        self.process = None
        self.conn = None

    def start(self) -> bool:
        """Start the child (it opens its session and starts its pipeline on its own). False (after
        saying why in EasDisc.log) when no process could be started."""
        context = multiprocessing.get_context("spawn")
        self.conn, child_end = context.Pipe()
        self.process = context.Process(target=_read, name=f"easconsole-reader {self.cmdlet}", daemon=True,
                                       args=(child_end, self.settings, self.known_servers, self.commands, self.parse))
        try:
            self.process.start()
        except (AssertionError, OSError) as error:  # e.g. a daemonic process may have no children
            easdisc.info("Reading %s in a second process was not possible (%s); reading it in one session",
                          self.cmdlet, error or type(error).__name__)
            self.process = None
            self.close()
            return False
        finally:
            child_end.close()
        return True

    def started(self) -> bool:
        """Wait until the child's pipeline runs in Exchange (its session open, the pipeline invoked and its
        first object received, or none). False (after saying why in EasDisc.log, the child stopped)
        when it could not: the caller reads in its own session instead."""
        try:
            kind, payload = self._next()
        except errors.ExchangeError as error:
            kind, payload = "error", ("", "", "", error.reason)
        if kind == "opened":
            self.server = payload or self.server
            return True
        reason = payload[3] if kind == "error" else kind
        easdisc.info("Reading %s in a second session was not possible (%s); reading it in one session",
                     self.cmdlet, reason)
        self.close()
        return False

    def __iter__(self) -> Iterator[Any]:
        while True:
            kind, payload = self._next()
            if kind == "records":
                yield from payload
            elif kind == "done":
                return
            elif kind == "error":
                raise _error(*payload)

    def _next(self) -> tuple[str, Any]:
        """The child's next message; its log records are logged here on the way."""
        while True:
            try:
                kind, payload = self.conn.recv()
            except (EOFError, OSError):
                code = self.process.exitcode if self.process is not None else None
                if self.process is not None and code is None:
                    self.process.join(1)
                    code = self.process.exitcode
                raise errors.ExchangeConnectionError(
                    self.cmdlet, self.server, f"the process reading it in a second session stopped (exit code {code})",
                    kind="session") from None
            if kind != "log":
                return kind, payload
            logger = logging.getLogger(payload.name)
            if logger.isEnabledFor(payload.levelno):  # as this process's logging is configured
                logger.handle(payload)

    def close(self) -> None:
        """Stop the child and wait for it: told by the closed pipe, it stops its pipeline and closes its
        session on the way out (what it logs then is lost; a pool it could not close is left to the
        reclaim task, as one a killed child leaves). One that does not end in time is killed."""
        if self.conn is not None:
            self.conn.close()
            self.conn = None
        process, self.process = self.process, None
        if process is None:
            return
        process.join(self.settings.read_timeout + 2 * CLOSE_TIMEOUT_SECONDS)
        if process.is_alive():
            log.warning("the reader process %s did not end in time; stopping it", process.pid)
            process.kill()
            process.join(CLOSE_TIMEOUT_SECONDS)
        if process.exitcode:  # it died without closing its session: close the pool it left, now
            reclaim(self.settings, [*self.settings.sites.values(), *(s.fqdn for s in self.known_servers)])
