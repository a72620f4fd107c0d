"""The thin I/O core: one pypsrp WSMan + RunspacePool to one Exchange server, and the mapping of
pypsrp/requests failures and PowerShell error records to the gateway's exception family.

Pure helpers (`wsman_options`, `error_from_record`, `error_from_exception`, `sent_nothing`) build the
connection arguments and classify failures; `Session` opens, streams pipelines and closes.
"""
from __future__ import annotations

import logging
import re
import ssl
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any, Iterator, Sequence

import requests
from pypsrp.exceptions import (AuthenticationError, InvalidPSRPOperation, WinRMError, WinRMTransportError,
                               WSManFaultError)
from pypsrp.powershell import PowerShell, PSInvocationState, RunspacePool
from pypsrp.wsman import NAMESPACES, WSMan, WSManAction

from . import certificates, clixml_decoder, fast_receive, kerberos, pypsrp_tuning, shells
from .errors import (ExchangeCommandError, ExchangeConnectionError, ExchangeError, ExchangeObjectNotFound,
                     ExchangePermissionError, ExchangeThrottledError, throttle_wait)
from .parsing import properties
from .values import ConnectionSettings

log = logging.getLogger(__name__)
TUNED = pypsrp_tuning.install()  # about twice as fast to receive objects (see pypsrp_tuning.py)
easdisc = logging.getLogger("easconsole.easdisc")

CONFIGURATION_NAME = "Microsoft.Exchange"
# pypsrp retries a Receive 5 times on read timeouts with exponential backoff (about 5 minutes with
# its defaults): the gateway retries whole operations itself, through failover, so pypsrp must not.
RECEIVE_RETRIES_ON_READ_TIMEOUT = 0
RECONNECTION_BACKOFF = 0.5
# Closing a pool (WSMan Delete) waits at most this long per try, so a failed operation is not held up
# by a server that no longer answers: what is left is logged and reclaimed later (pools.py).
CLOSE_TIMEOUT_SECONDS = 5

Command = tuple[str, Sequence[tuple[str, Any]]]  # cmdlet name, (parameter name, value) pairs


class _WSMan(WSMan):
    """pypsrp's WSMan with Receive retries turned down (see RECEIVE_RETRIES_ON_READ_TIMEOUT)."""

    def receive(self, resource_uri: str, resource: ET.Element, option_set: Any = None, selector_set: Any = None,
                timeout: int | None = None) -> ET.Element:
        res = self.invoke(WSManAction.RECEIVE, resource_uri, resource, option_set, selector_set, timeout,
                          retries_on_read_timeout=RECEIVE_RETRIES_ON_READ_TIMEOUT)
        return res.find("s:Body", namespaces=NAMESPACES)  # type: ignore[return-value]


def wsman_options(settings: ConnectionSettings, server: str) -> dict[str, Any]:
    """Keyword arguments for pypsrp's WSMan to reach `server` (contains the password: never log it)."""
    basic_http = settings.auth == "basic" and not settings.use_tls
    cert: bool | str = settings.verify_tls
    if settings.use_tls and settings.verify_tls and settings.ca_bundle:
        cert = settings.ca_bundle
    options = {
        "server": server, "port": settings.port, "path": "PowerShell", "ssl": settings.use_tls,
        "auth": settings.auth, "username": settings.username, "password": settings.password,
        # Message encryption on plain HTTP needs an NTLM/Kerberos context; Basic cannot have one.
        "encryption": "never" if basic_http else "auto",
        "cert_validation": cert, "connection_timeout": settings.connect_timeout,
        "read_timeout": settings.read_timeout, "operation_timeout": settings.operation_timeout,
        "reconnection_retries": 0, "reconnection_backoff": RECONNECTION_BACKOFF,
        "no_proxy": True,
    }
    if settings.auth in ("kerberos", "negotiate"):  # HTTP/<server>; Kerberos: the connector's own ticket cache
        options.update(kerberos.pypsrp_options(settings))
    return options


# ---- failures -------------------------------------------------------------------------------------
def _chain(exc: BaseException) -> Iterator[Any]:
    seen: set[int] = set()
    stack: list[Any] = [exc]
    while stack:
        item = stack.pop()
        if item is None or id(item) in seen:
            continue
        seen.add(id(item))
        yield item
        if isinstance(item, BaseException):
            stack.extend([item.__cause__, item.__context__, getattr(item, "reason", None), *item.args])


def sent_nothing(exc: BaseException) -> bool:
    """True when the request surely never reached the server (connection refused or never established)."""
    import urllib3.exceptions as u3

    for item in _chain(exc):
        if isinstance(item, (u3.NewConnectionError, u3.ConnectTimeoutError, requests.exceptions.ConnectTimeout,
                             ConnectionRefusedError)):
            return True
    return False


def refused_before_running(exc: BaseException) -> bool:
    """For a failure while starting a pipeline: Exchange surely did not run it (never reached it, or
    rejected the request: a WSMan fault such as an unknown shell, or HTTP 400 for a message it could
    not decrypt)."""
    if sent_nothing(exc) or isinstance(exc, WSManFaultError):
        return True
    return isinstance(exc, WinRMTransportError) and exc.code == 400


# WSMan's per-user shell quota, what Exchange's PowerShellMaxConcurrency surfaces as on pool creation.
WSMAN_MAX_SHELLS = 0x803381A5
_THROTTLE_TEXT = ("maxconcurrency", "exceeded the budget", "exceeds the throttling budget", "micro delay",
                  "user load quota", "concurrent shells", "maximum number of connections")
# What an administrator can act on for the HTTP answers Exchange's /PowerShell gives.
_HTTP_REASONS = {
    400: "Exchange rejected the request (HTTP 400); the session is opened again at the next attempt",
    403: "Exchange refused access to remote PowerShell (HTTP 403): check that the account is allowed to use it",
    404: "the server has no /PowerShell endpoint (HTTP 404): check the server name and the port",
    500: "Exchange failed while handling the request (HTTP 500)",
    503: "Exchange is not available (HTTP 503): the server may be starting, overloaded or in maintenance",
}
_SOCKET_REASONS = {
    "connection refused": "the server refused the connection (Exchange or IIS may be stopped, or the port is wrong)",
    "name or service not known": "the server name could not be resolved (DNS)",
    "temporary failure in name resolution": "the server name could not be resolved (DNS)",
    "no route to host": "the server cannot be reached on the network",
    "network is unreachable": "the server cannot be reached on the network",
}


def error_from_exception(exc: BaseException, cmdlet: str, server: str) -> ExchangeError:
    """A pypsrp/requests failure as the gateway's exception (the password is never part of it).

    The reason is a sentence an administrator can act on; the library's own words go to EasDisc.log
    (and `.detail`), never to a page.
    """
    if isinstance(exc, ExchangeError):
        return exc
    error = _mapped(exc, cmdlet, server)
    # An authentication failure's text names the account and the method: kept out, to be safe.
    error.detail = type(exc).__name__ if isinstance(exc, AuthenticationError) else f"{type(exc).__name__}: {_short(exc)}"
    easdisc.info("%s on %s: %s (%s)", cmdlet or "Connecting", server, error.reason, error.detail,
                 extra={"cmdlet": cmdlet, "server": server})
    return error


def _mapped(exc: BaseException, cmdlet: str, server: str) -> ExchangeError:
    if isinstance(exc, AuthenticationError):
        return ExchangeConnectionError(cmdlet, server, "authentication failed (HTTP 401): check the account, its "
                                       "password and the authentication method", kind="authentication")
    if isinstance(exc, requests.exceptions.SSLError):
        return ExchangeConnectionError(cmdlet, server, f"the TLS handshake or certificate validation failed "
                                       f"({_tls_reason(exc)})", kind="tls")
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return ExchangeConnectionError(cmdlet, server, "the server did not accept a connection in time (it may be "
                                       "down, or a firewall drops the traffic)", sent_nothing=True)
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return ExchangeConnectionError(cmdlet, server, "the server accepted the connection but did not answer in time")
    if isinstance(exc, requests.exceptions.ConnectionError):
        if sent_nothing(exc):
            return ExchangeConnectionError(cmdlet, server, _socket_reason(exc), sent_nothing=True)
        return ExchangeConnectionError(cmdlet, server, _lost_reason(exc))
    if isinstance(exc, WSManFaultError):
        reason = (exc.reason or str(exc)).strip()
        if exc.code == WSMAN_MAX_SHELLS or any(t in reason.lower() for t in _THROTTLE_TEXT):
            return ExchangeThrottledError(cmdlet, server, f"Exchange's throttling refused the work: {reason}",
                                          retry_after=throttle_wait(reason))
        return ExchangeConnectionError(cmdlet, server, f"Exchange's remote PowerShell refused the request: {reason}",
                                       kind="session")
    if isinstance(exc, WinRMTransportError):
        return ExchangeConnectionError(cmdlet, server, _HTTP_REASONS.get(
            exc.code, f"the server answered HTTP {exc.code} instead of a remote PowerShell answer"), kind="session")
    if isinstance(exc, (InvalidPSRPOperation, WinRMError)):
        return ExchangeConnectionError(cmdlet, server, "the remote PowerShell session broke; it is opened again at "
                                       "the next attempt", kind="session")
    if isinstance(exc, ImportError):
        return ExchangeConnectionError(cmdlet, server, f"the authentication library is missing ({_short(exc)})",
                                       kind="configuration")
    return ExchangeConnectionError(cmdlet, server, "an unexpected error interrupted the conversation with Exchange "
                                   "(details in EasDisc.log)", kind="session")


def _socket_reason(exc: BaseException) -> str:
    text = _os_reason(exc)
    return _SOCKET_REASONS.get(text.lower(), f"could not connect ({text})")


def _lost_reason(exc: BaseException) -> str:
    """Why a connection that was open broke, in words (RemoteDisconnected, a reset, a broken pipe...)."""
    for item in _chain(exc):
        if type(item).__name__ == "RemoteDisconnected":
            return "Exchange closed the connection before answering"
        if isinstance(item, ConnectionResetError):
            return "the connection was reset before Exchange answered (the server or a device in between dropped it)"
        if isinstance(item, BrokenPipeError):
            return "the connection was closed by the server while the request was being sent"
    return "the connection to Exchange was lost before it answered"


def _tls_reason(exc: BaseException) -> str:
    for item in _chain(exc):
        if isinstance(item, ssl.SSLCertVerificationError):
            return f"certificate verify failed: {item.verify_message}"
    for item in _chain(exc):
        if isinstance(item, ssl.SSLError):
            return str(item.reason or item)
    return _short(exc)


def _os_reason(exc: BaseException) -> str:
    """The socket-level reason ("Connection refused") instead of urllib3's nested wrapper text."""
    for item in _chain(exc):
        if isinstance(item, OSError) and getattr(item, "strerror", None):
            return str(item.strerror)
    text = str(exc)
    for marker in ("Failed to establish a new connection: ", "Connection aborted.', "):
        if marker in text:
            text = text.split(marker, 1)[1]
            break
    return _short_text(re.sub(r"\[Errno \d+\] ", "", text).strip(" ()'\"")[:200] or type(exc).__name__)


def _short(exc: BaseException) -> str:
    return _short_text(str(exc) or type(exc).__name__)


def _short_text(value: str | None, limit: int = 300) -> str:
    value = " ".join((value or "").split())
    return value if len(value) <= limit else value[:limit] + "..."


_THROTTLE_TYPES = ("OverBudgetException", "ThrottlingException", "MicroDelay")


def error_from_record(record: Any, cmdlet: str, server: str, *, terminating: bool) -> ExchangeCommandError:
    """A PowerShell ErrorRecord (pypsrp's) as an ExchangeCommandError subclass."""
    exception = getattr(record, "exception", None)
    type_names = list(getattr(exception, "types", None) or [])
    exception_type = type_names[0] if type_names else ""
    exc_props = properties(exception) if exception is not None else {}
    message = str(exc_props.get("Message") or "").strip() or str(record)
    fq = str(getattr(record, "fq_error", "") or "")
    raw_category = getattr(record, "category", None)
    target = getattr(record, "target_name", None)
    short_type = exception_type.rsplit(".", 1)[-1]
    cls: type[ExchangeCommandError] = ExchangeCommandError
    if short_type == "ManagementObjectNotFoundException" or "ManagementObjectNotFound" in fq:
        cls = ExchangeObjectNotFound
    elif short_type == "CommandNotFoundException" or fq.startswith("CommandNotFoundException"):
        cls = ExchangePermissionError
        message = f"the account is not allowed to run it (its RBAC roles do not grant the cmdlet): {message}"
    elif any(t in short_type or t in fq for t in _THROTTLE_TYPES) or raw_category in (29, 30) \
            or any(t in message.lower() for t in _THROTTLE_TEXT):
        return ExchangeThrottledError(cmdlet, server, message, retry_after=throttle_wait(message), fq_error_id=fq,
                                      category=_category_name(raw_category), target=None if target is None else str(target),
                                      exception_type=exception_type, terminating=terminating)
    elif short_type in ("UnauthorizedAccessException",) or raw_category == 18:
        cls = ExchangePermissionError
    return cls(cmdlet, server, message, fq_error_id=fq, category=_category_name(raw_category),
               target=None if target is None else str(target), exception_type=exception_type,
               terminating=terminating)


# System.Management.Automation.ErrorCategory, in enum order.
ERROR_CATEGORIES = (
    "NotSpecified", "OpenError", "CloseError", "DeviceError", "DeadlockDetected", "InvalidArgument", "InvalidData",
    "InvalidOperation", "InvalidResult", "InvalidType", "MetadataError", "NotImplemented", "NotInstalled",
    "ObjectNotFound", "OperationStopped", "OperationTimeout", "SyntaxError", "ParserError", "PermissionDenied",
    "ResourceBusy", "ResourceExists", "ResourceUnavailable", "ReadError", "WriteError", "FromStdErr",
    "SecurityError", "ProtocolError", "ConnectionError", "AuthenticationError", "LimitsExceeded", "QuotaExceeded",
    "NotEnabled",
)


def _category_name(value: Any) -> str:
    if isinstance(value, int) and 0 <= value < len(ERROR_CATEGORIES):
        return ERROR_CATEGORIES[value]
    return "" if value is None else str(value)


# ---- the session ----------------------------------------------------------------------------------
@dataclass
class PipelineOutcome:
    """What a finished pipeline left besides its output."""

    warnings: list[str] = field(default_factory=list)
    errors: list[ExchangeCommandError] = field(default_factory=list)


class Session:
    """One WSMan + RunspacePool on one server. Not thread-safe: one thread uses it at a time.

    Args:
        settings: connection settings.
        server: the address to connect to (FQDN or IP).
        name: a display name for messages (the server's name when known).
    """

    def __init__(self, settings: ConnectionSettings, server: str, name: str | None = None) -> None:
        self.settings = settings
        self.server = server
        self.name = name or server
        self.pool: RunspacePool | None = None
        self.wsman: WSMan | None = None
        self.last_used = 0.0
        self.broken = False  # a request failed: the connection may not be usable to close the pool

    def open(self) -> "Session":
        """Open the runspace pool. Raises ExchangeConnectionError (or ExchangeThrottledError)."""
        try:
            kerberos.prepare(self.settings, self.server, self.name)
            with kerberos.opening(self.settings):
                self._open_pool()
        except Exception as exc:  # every library failure becomes ours, at the edge
            self.broken = True  # e.g. Created, then the opening Receive timed out: the shell exists
            self.close()
            error = error_from_exception(exc, "", self.name)
            if getattr(error, "kind", "") == "tls" and self.settings.verify_tls:  # name the certificate refused
                shown = certificates.presented(self.server, self.settings.port, self.settings.ca_bundle)
                if shown:
                    error = ExchangeConnectionError("", self.name, f"{error.reason}; {shown}", kind="tls")
            raise error from None
        self.last_used = time.monotonic()
        return self

    def _open_pool(self) -> None:
        self.wsman = _WSMan(**wsman_options(self.settings, self.server))
        self.pool = RunspacePool(self.wsman, configuration_name=CONFIGURATION_NAME, max_runspaces=2)
        self.pool.shell.name = shells.shell_name()  # so the reclaim task knows whose shell it is
        if TUNED:  # pypsrp's private serializer, checked on that version only (like pypsrp_tuning)
            # Output stays XML text until the reader decodes it, fast for the bulk reads (stream(fast=True)).
            self.pool._fragmenter.serializer = clixml_decoder.RawOutputSerializer()
        shells.in_use(self.pool.id)
        self.pool.open()

    @property
    def is_open(self) -> bool:
        return self.pool is not None

    def idle_for(self) -> float:
        return time.monotonic() - self.last_used

    def stream(self, commands: Sequence[Command], outcome: PipelineOutcome | None = None, *,
               fast: bool = False) -> Iterator[dict[str, Any]]:
        """Run one pipeline, yielding each output object's properties as it arrives.

        With fast=True the objects are decoded by `clixml_decoder` (the bulk reads: flat objects, many
        of them) instead of pypsrp's generic deserialiser; the properties are the same.

        Terminating errors raise at once; non-terminating error records and warnings are collected into
        `outcome` (read it after the generator is exhausted). Transport failures raise
        ExchangeConnectionError with `.sent_nothing` telling whether the request surely never left.
        """
        if self.pool is None:
            raise ExchangeConnectionError(commands[0][0], self.name, "the session is not open", kind="session")
        outcome = outcome if outcome is not None else PipelineOutcome()
        cmdlet = " | ".join(name for name, _ in commands)
        ps = PowerShell(self.pool)
        for name, params in commands:
            ps.add_cmdlet(name)
            for key, value in params:
                ps.add_parameter(key, value)
        seen_errors, started = 0, False
        try:
            try:
                ps.begin_invoke()
                started = True
                # The bulk reads' Receives are reassembled without pypsrp's objects (fast_receive.py).
                poll = (lambda: fast_receive.poll(ps)) if fast and TUNED and clixml_decoder.ENABLED else ps.poll_invoke
                while ps.state == PSInvocationState.RUNNING:
                    poll()
                    self.last_used = time.monotonic()
                    if ps.output:
                        batch = list(ps.output)
                        ps.output.clear()  # memory stays flat however large the result
                        for obj in batch:
                            yield clixml_decoder.properties(obj, fast=fast)
                    # The poll that ends a Failed pipeline brings its terminating error record last.
                    seen_errors = self._collect(ps, outcome, cmdlet, seen_errors,
                                                terminating=ps.state == PSInvocationState.FAILED)
                for obj in list(ps.output):
                    yield clixml_decoder.properties(obj, fast=fast)
                ps.output.clear()
            except (GeneratorExit, ExchangeError):
                raise
            except Exception as exc:
                error = error_from_exception(exc, cmdlet, self.name)
                if isinstance(error, ExchangeConnectionError):
                    error.sent_nothing = not started and refused_before_running(exc)
                self.broken = True  # the connection is gone or unusable: rebuild it next time
                self.close()
                raise error from None
            failed = ps.state == PSInvocationState.FAILED or ps.had_errors
            self._collect(ps, outcome, cmdlet, seen_errors, terminating=failed)
            outcome.warnings.extend(str(getattr(w, "message", w)) for w in ps.streams.warning)
            if failed:
                terminating = [e for e in outcome.errors if e.terminating] or outcome.errors
                if terminating:
                    raise terminating[-1]
                raise ExchangeCommandError(cmdlet, self.name, "the pipeline failed without an error record",
                                           terminating=True)
        finally:
            self._finish(ps)

    def _collect(self, ps: PowerShell, outcome: PipelineOutcome, cmdlet: str, seen: int, *, terminating: bool) -> int:
        records = ps.streams.error
        for index in range(seen, len(records)):
            last = index == len(records) - 1
            name = getattr(records[index], "activity", None) or cmdlet
            outcome.errors.append(error_from_record(records[index], str(name), self.name,
                                                    terminating=terminating and last))
        return len(records)

    def _finish(self, ps: PowerShell) -> None:
        if self.pool is None:
            return
        try:
            if ps.state == PSInvocationState.RUNNING:
                ps.stop()  # the caller stopped reading: tell Exchange to stop producing
            ps.close()
        except Exception as exc:  # the pipeline is over either way; a broken pool is rebuilt next time
            log.debug("closing a pipeline on %s failed: %s", self.name, type(exc).__name__)

    def close(self) -> None:
        """Close the pool on the server and drop the local objects; never raises.

        A healthy session deletes its shell through its own connection; a broken one (or when that
        fails) through a fresh connection, since pypsrp 0.9.1 cannot reuse an encrypted connection the
        server dropped. Each try waits at most CLOSE_TIMEOUT_SECONDS. A close that fails is logged in
        EasDisc.log with the server and shell id; the reclaim task (pools.py) deletes the shell later.
        """
        pool, wsman, broken = self.pool, self.wsman, self.broken
        self.pool = self.wsman = None
        self.broken = False
        try:
            if pool is not None and pool.shell.opened:  # only a Create that was answered made a shell
                self._delete(pool.id, None if broken else wsman)
        finally:
            if pool is not None:
                shells.released(pool.id)
            if wsman is not None:
                _close_quietly(wsman)

    def _delete(self, shell_id: str, wsman: WSMan | None) -> None:
        reason = ""
        if wsman is not None:
            try:
                shells.delete_shell(wsman, shell_id, timeout=CLOSE_TIMEOUT_SECONDS - 2)
                return
            except Exception as exc:
                reason = _short(exc)
        fresh = None
        try:
            fresh = _WSMan(**close_options(self.settings, self.server))
            shells.delete_shell(fresh, shell_id, timeout=CLOSE_TIMEOUT_SECONDS - 2)
            log.info("closed runspace pool %s on %s through a new connection%s", shell_id, self.name,
                     f" ({reason})" if reason else "")
        except Exception as exc:
            reason = error_from_exception(exc, "", self.name).reason
            easdisc.warning("Could not close runspace pool %s on %s: %s", shell_id, self.name, reason,
                            extra={"server": self.name, "address": self.server, "shell_id": shell_id, "reason": reason})
        finally:
            if fresh is not None:
                _close_quietly(fresh)


def close_options(settings: ConnectionSettings, server: str) -> dict[str, Any]:
    """WSMan options for a short request (closing or listing pools): bounded by CLOSE_TIMEOUT_SECONDS."""
    return {**wsman_options(settings, server), "connection_timeout": min(settings.connect_timeout, CLOSE_TIMEOUT_SECONDS),
            "read_timeout": CLOSE_TIMEOUT_SECONDS, "operation_timeout": CLOSE_TIMEOUT_SECONDS - 2}


def _close_quietly(wsman: WSMan) -> None:
    try:
        wsman.close()
    except Exception:  # only the local HTTP session: nothing to report
        pass
