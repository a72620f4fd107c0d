"""A connector's live connection: the current session (through failover), the per-connector concurrency
cap, and the retry rules.

Retry rules: after a connection error the session is dropped and rebuilt through failover (pypsrp
0.9.1 cannot recover an encrypted session once its keep-alive connection is gone). A read is retried
once; a streamed read only if nothing was yielded yet; a write only when the request surely never
reached Exchange (the connection was refused or never established). A session idle for more than
IDLE_REBUILD_SECONDS is rebuilt before use, since servers drop idle keep-alive connections (IIS: about
120 s) and an encrypted pypsrp session does not survive that.
"""
from __future__ import annotations

import contextlib
import logging
import threading
import time
from typing import Any, Callable, Iterable, Iterator, Sequence

from .errors import ExchangeCommandError, ExchangeConnectionError, ExchangePermissionError, ExchangeThrottledError
from .failover import Failover
from .transport import Command, PipelineOutcome, Session
from .values import ConnectionSettings, ServerInfo

log = logging.getLogger(__name__)
easdisc = logging.getLogger("easconsole.easdisc")

IDLE_REBUILD_SECONDS = 60.0
QUEUE_TIMEOUT_SECONDS = 300.0
IN_PLACE_WAIT_SECONDS = 5.0

_caps: dict[tuple[str, ...], threading.BoundedSemaphore] = {}
_caps_lock = threading.Lock()


def concurrency_cap(settings: ConnectionSettings) -> threading.BoundedSemaphore:
    """The semaphore shared by every gateway of this connector in this process."""
    with _caps_lock:
        key = settings.connector_key + (str(settings.max_concurrency),)
        if key not in _caps:
            _caps[key] = threading.BoundedSemaphore(settings.max_concurrency)
        return _caps[key]


def worst_case_seconds(settings: ConnectionSettings, known_servers: Iterable[ServerInfo] = (), *,
                       operations: int) -> float:
    """How long opening a gateway and running `operations` pipelines on it can take at most.

    Opening may try every server of the failover plan, each up to a connect and a read timeout, then
    prepare the session (two cmdlets); each operation may wait its full answer time twice (one retry)
    and a short throttling back-off. Used to size leases, so that nothing else takes over work that
    a worker is still doing.
    """
    per_request = settings.connect_timeout + settings.read_timeout
    servers = len(settings.sites) + len(list(known_servers))
    opening = per_request * (servers + 2)
    return opening + operations * (2 * per_request + IN_PLACE_WAIT_SECONDS)


def prepare_session(session: Session) -> None:
    """Start of every on-premises session: see every recipient of the forest."""
    try:
        for _ in session.stream([("Set-ADServerSettings", [("ViewEntireForest", True)])]):
            pass
    except ExchangeThrottledError as exc:  # not a missing role: the cmdlet that follows will say it too
        easdisc.warning("Exchange throttled %s on %s: %s", "Set-ADServerSettings", session.name, exc.reason,
                        extra={"cmdlet": "Set-ADServerSettings", "server": session.name, "reason": exc.reason})
    except ExchangePermissionError:
        easdisc.warning("Invoking cmdlet %s failed", "Set-ADServerSettings",
                        extra={"cmdlet": "Set-ADServerSettings", "server": session.name})
    except ExchangeCommandError as exc:
        easdisc.warning("Invoking cmdlet %s failed", "Set-ADServerSettings",
                        extra={"cmdlet": "Set-ADServerSettings", "server": session.name, "reason": exc.reason})


class Connection:
    """Runs pipelines for one gateway: one session at a time, rebuilt and failed over as needed."""

    def __init__(self, settings: ConnectionSettings, known_servers: Iterable[ServerInfo] = (),
                 session_factory: Callable[[ConnectionSettings, str, str], Session] | None = None) -> None:
        self.settings = settings
        self.failover = Failover(settings, known_servers, prepare=prepare_session, session_factory=session_factory)
        self.session: Session | None = None
        self._cap = concurrency_cap(settings)
        self._held = threading.local()

    # ---- session -----------------------------------------------------------------------------------
    def ensure(self) -> Session:
        if self.session is not None and self.session.is_open and self.session.idle_for() > IDLE_REBUILD_SECONDS:
            self.drop()
        if self.session is None or not self.session.is_open:
            self.session = self.failover.connect()
        return self.session

    def drop(self) -> None:
        """Forget the session, closing its pool on the server (through a new connection if it broke)."""
        session, self.session = self.session, None
        if session is not None:
            session.close()

    def close(self) -> None:
        self.drop()

    # ---- the concurrency cap -----------------------------------------------------------------------------
    @contextlib.contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one of the connector's slots (re-entrant within a thread: nested calls share it)."""
        depth = getattr(self._held, "depth", 0)
        if depth == 0 and not self._cap.acquire(timeout=QUEUE_TIMEOUT_SECONDS):
            raise ExchangeThrottledError("", self.failover.current_server or "",
                                         f"{self.settings.max_concurrency} operations of this connector were already "
                                         f"running for {QUEUE_TIMEOUT_SECONDS:.0f} s")
        self._held.depth = depth + 1
        try:
            yield
        finally:
            self._held.depth -= 1
            if self._held.depth == 0:
                self._cap.release()

    @contextlib.contextmanager
    def spare_slot(self, wanted: bool = True) -> Iterator[bool]:
        """One more of the connector's slots if one is free now (for a second session), else False."""
        got = wanted and self._cap.acquire(blocking=False)
        try:
            yield got
        finally:
            if got:
                self._cap.release()

    # ---- running ---------------------------------------------------------------------------------------
    def run(self, commands: Sequence[Command], *, write: bool) -> tuple[list[dict[str, Any]], PipelineOutcome, str]:
        """Run a pipeline to the end; raise its first error record. Returns (objects, outcome, server)."""
        with self.slot():
            retried = waited = False
            while True:
                session = self.ensure()
                outcome = PipelineOutcome()
                try:
                    rows = list(session.stream(commands, outcome))
                    if outcome.errors:
                        raise outcome.errors[0]
                except ExchangeConnectionError as exc:
                    self.drop()
                    if retried or not self._may_retry(exc, write=write):
                        raise
                    retried = True
                    log.info("retrying %s after a connection error on %s: %s", commands[0][0], exc.server, exc.reason)
                    continue
                except ExchangeThrottledError as exc:
                    if waited or not self._wait_out(exc, commands):
                        raise
                    waited = True
                    continue
                return rows, outcome, session.name

    def stream(self, commands: Sequence[Command], *, strict: bool = True,
               outcome: PipelineOutcome | None = None, fast: bool = False) -> Iterator[dict[str, Any]]:
        """Stream a read pipeline; retried once on a connection error if nothing was yielded yet.

        With strict=False, non-terminating error records are logged and left in `outcome` instead of raised.
        fast=True: the bulk reads' decoder (see Session.stream).
        """
        with self.slot():
            retried = waited = False
            outcome = outcome if outcome is not None else PipelineOutcome()
            while True:
                session = self.ensure()
                yielded = False
                try:
                    for row in session.stream(commands, outcome, fast=fast):
                        yielded = True
                        yield row
                except ExchangeConnectionError as exc:
                    self.drop()
                    if retried or yielded or not self._may_retry(exc, write=False):
                        raise
                    retried = True
                    log.info("retrying %s after a connection error on %s: %s", commands[0][0], exc.server, exc.reason)
                    outcome.errors.clear()
                    outcome.warnings.clear()
                    continue
                except ExchangeThrottledError as exc:
                    if waited or yielded or not self._wait_out(exc, commands):
                        raise
                    waited = True
                    outcome.errors.clear()
                    outcome.warnings.clear()
                    continue
                self._report(commands, outcome, strict)
                return

    @staticmethod
    def _wait_out(exc: ExchangeThrottledError, commands: Sequence[Command]) -> bool:
        """Wait a short back-off Exchange asked for (True), or leave a long or unnamed one to the caller."""
        if exc.retry_after is None or exc.retry_after > IN_PLACE_WAIT_SECONDS:
            return False
        easdisc.info("Exchange throttled %s on %s; waiting %.1f s as it asked", commands[0][0], exc.server,
                     exc.retry_after, extra={"cmdlet": commands[0][0], "server": exc.server})
        time.sleep(exc.retry_after)  # Exchange's own back-off: sending sooner would only be refused again
        return True

    def _report(self, commands: Sequence[Command], outcome: PipelineOutcome, strict: bool) -> None:
        if outcome.errors and strict:
            raise outcome.errors[0]
        for error in outcome.errors:
            log.warning("%s", error)

    @staticmethod
    def _may_retry(exc: ExchangeConnectionError, *, write: bool) -> bool:
        if exc.kind in ("authentication", "configuration"):
            return False
        return exc.sent_nothing if write else True
