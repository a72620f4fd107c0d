"""The WSMan shell operations, on top of `psrp.RunspacePoolHost`, shared by every listener.

`ShellRegistry` holds the open runspace pools of the whole organization, because Exchange's
MaxConcurrency throttle counts a user's connections across all its servers. `WSManService`
answers one authenticated SOAP request for one server.
"""
from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import Counter
from typing import Any

from . import wsman
from .psrp import RunspacePoolHost
from .types import ExchangeServer
from .wsman import Request, WSManFault

log = logging.getLogger(__name__)

DEFAULT_MAX_SESSIONS = 18


def concurrency_message(account: str, limit: int) -> str:
    # The text Exchange returns when PowerShellMaxConcurrency is exceeded.
    return (
        "Fail to create a runspace because you have exceeded the maximum number of connections allowed : "
        f"{limit} for the policy party : MaxConcurrency. Please close existing runspace and try again. "
        f"The user {account} has exceeded the maximum number of concurrent connections."
    )


class ShellRegistry:
    """All open runspace pools, by shell id, with per-account limits."""

    def __init__(self, org: Any) -> None:
        self.org = org
        self._lock = threading.Lock()
        self._shells: dict[uuid.UUID, RunspacePoolHost] = {}
        self.session_limits: dict[str, int] = {}

    def limit_for(self, account: str) -> int:
        return self.session_limits.get(account.lower(), getattr(self.org, "max_sessions_per_account", DEFAULT_MAX_SESSIONS))

    def set_limit(self, account: str, limit: int | None) -> None:
        if limit is None:
            self.session_limits.pop(account.lower(), None)
        else:
            self.session_limits[account.lower()] = int(limit)

    def open(self, shell_id: uuid.UUID, account: str, server: ExchangeServer) -> RunspacePoolHost:
        with self._lock:
            if shell_id in self._shells:
                raise WSManFault(wsman.BAD_REQUEST, f"A shell with ShellId {shell_id} already exists.")
            open_count = sum(1 for s in self._shells.values() if s.account.lower() == account.lower())
            limit = self.limit_for(account)
            if open_count >= limit:
                raise WSManFault(wsman.MAX_SHELLS, concurrency_message(account, limit), "w:QuotaLimit")
            # Reserve the slot before the (possibly slow) engine call so concurrent Creates cannot overshoot.
            host = RunspacePoolHost(shell_id, account, server.name, _PendingSession())
            self._shells[shell_id] = host
        try:
            host.session = self.org.open_session(account, server)
        except Exception:
            with self._lock:
                self._shells.pop(shell_id, None)
            raise
        return host

    def get(self, shell_id: uuid.UUID | None, server_name: str, account: str) -> RunspacePoolHost:
        host = self._shells.get(shell_id) if shell_id else None
        if host is None or host.server_name != server_name or host.account.lower() != account.lower():
            raise WSManFault(
                wsman.SHELL_NOT_FOUND,
                f"The request for the Windows Remote Shell with ShellId {shell_id} failed because the shell was not "
                "found on the server. Possible causes are: the specified ShellId is incorrect or the shell no longer "
                "exists on the server. Provide the correct ShellId or create a new shell and retry the operation.",
            )
        host.touch()
        return host

    def touch(self, request: Request) -> None:
        """A request on a shell ended: it was active until now (a long-poll Receive, for as long as it waited)."""
        try:
            host = self._shells.get(request.shell_id) if request.shell_id else None
        except WSManFault:  # a malformed ShellId: answered as such already
            return
        if host is not None:
            host.touch()

    def held_by(self, account: str, server_name: str) -> list[RunspacePoolHost]:
        """The shells an account holds on one server (what WSMan Enumerate shows that account)."""
        with self._lock:
            return [h for h in self._shells.values()
                    if h.server_name == server_name and h.account.lower() == account.lower()]

    def close(self, shell_id: uuid.UUID) -> None:
        with self._lock:
            host = self._shells.pop(shell_id, None)
        if host is not None:
            host.close()

    def close_server(self, server_name: str) -> None:
        """A server going down takes its runspaces with it."""
        with self._lock:
            gone = [sid for sid, h in self._shells.items() if h.server_name == server_name]
        for shell_id in gone:
            self.close(shell_id)

    def close_all(self) -> None:
        for shell_id in list(self._shells):
            self.close(shell_id)

    def counts(self) -> dict[str, int]:
        with self._lock:
            return dict(Counter(h.account for h in self._shells.values()))

    def describe(self) -> list[dict[str, Any]]:
        with self._lock:
            return [
                {"shell_id": str(h.shell_id), "account": h.account, "server": h.server_name, "pipelines": len(h.pipelines),
                 "name": h.name, "inactivity": round(h.inactivity(), 1)}
                for h in self._shells.values()
            ]


class _PendingSession:
    """Stands in for the engine session while open_session runs."""

    def run(self, commands: Any) -> Any:
        raise RuntimeError("session not open yet")

    def close(self) -> None:
        pass


class WSManService:
    """Answers the WSMan operations of one simulated Exchange server."""

    def __init__(self, registry: ShellRegistry, server: ExchangeServer, address: str) -> None:
        self.registry = registry
        self.server = server
        self.address = address

    def handle(self, request: Request, account: str, client_ip: str) -> bytes:
        operation = request.operation
        handler = getattr(self, f"_op_{operation.lower()}", None)
        if handler is None:
            raise WSManFault(wsman.UNSUPPORTED_ACTION, f"The action {request.action} is not supported by the service.")
        try:
            return handler(request, account, client_ip)
        finally:
            self.registry.touch(request)

    def _op_create(self, request: Request, account: str, client_ip: str) -> bytes:
        if not wsman.same_resource(request.resource_uri):
            raise WSManFault(
                wsman.INVALID_RESOURCE_URI,
                f"The WS-Management service cannot process the request because the resource URI "
                f"{request.resource_uri} is not a configured session configuration on this server.",
            )
        body = request.body
        shell_id = wsman.parse_guid(body.get("ShellId")) if body is not None and body.get("ShellId") else uuid.uuid4()
        data = wsman.creation_xml(body)
        host = self.registry.open(shell_id, account, self.server)
        host.name, host.client_ip = wsman.shell_name(body), client_ip
        try:
            host.feed(data)
        except Exception:
            self.registry.close(shell_id)
            raise
        return wsman.response(request, wsman.created_xml(self.address, shell_id, account, client_ip, host.name))

    def _op_command(self, request: Request, account: str, client_ip: str) -> bytes:
        host = self.registry.get(request.shell_id, self.server.name, account)
        command_id, data = wsman.command_arguments(request.body)
        host.new_pipeline(wsman.parse_guid(command_id), data)
        return wsman.response(request, wsman.command_xml(command_id))

    def _op_send(self, request: Request, account: str, client_ip: str) -> bytes:
        host = self.registry.get(request.shell_id, self.server.name, account)
        for command_id, data in wsman.send_streams(request.body):
            host.feed(data, wsman.parse_guid(command_id) if command_id else None)
        return wsman.response(request, "<rsp:SendResponse/>")

    def _op_receive(self, request: Request, account: str, client_ip: str) -> bytes:
        host = self.registry.get(request.shell_id, self.server.name, account)
        command_id = wsman.receive_command_id(request.body)
        pipeline_id = wsman.parse_guid(command_id) if command_id else None
        result = host.receive(pipeline_id, wsman.receive_budget(request.max_envelope_size), request.operation_timeout)
        if result is None:
            raise WSManFault(
                wsman.TIMED_OUT,
                "The WS-Management service cannot complete the operation within the time specified in OperationTimeout.",
                "w:TimedOut",
            )
        data, done = result
        return wsman.response(request, wsman.receive_xml(data, command_id, done))

    def _op_signal(self, request: Request, account: str, client_ip: str) -> bytes:
        host = self.registry.get(request.shell_id, self.server.name, account)
        command_id, code = wsman.signal_of(request.body)
        host.signal(wsman.parse_guid(command_id), code)
        return wsman.response(request, "<rsp:SignalResponse/>")

    def _op_delete(self, request: Request, account: str, client_ip: str) -> bytes:
        host = self.registry.get(request.shell_id, self.server.name, account)
        self.registry.close(host.shell_id)
        return wsman.response(request)

    def _op_get(self, request: Request, account: str, client_ip: str) -> bytes:
        host = self.registry.get(request.shell_id, self.server.name, account)
        return wsman.response(request, self._shell(host, state="Connected"))

    def _op_enumerate(self, request: Request, account: str, client_ip: str) -> bytes:
        """The account's shells on this server, as `Get-WSManInstance -Enumerate` of the shell resource
        (or of the Exchange configuration's) lists them; other accounts' shells are not shown."""
        if not (wsman.same_resource(request.resource_uri, wsman.SHELL_URI) or wsman.same_resource(request.resource_uri)):
            raise WSManFault(
                wsman.INVALID_RESOURCE_URI,
                f"The WS-Management service cannot process the request because the resource URI "
                f"{request.resource_uri} cannot be enumerated on this server.",
            )
        shells = [self._shell(h, state="Connected") for h in self.registry.held_by(account, self.server.name)]
        return wsman.response(request, wsman.enumerate_xml(shells))

    @staticmethod
    def _shell(host: RunspacePoolHost, state: str) -> str:
        return wsman.shell_xml(host.shell_id, host.account, host.client_ip, state=state, name=host.name,
                               idle_timeout=host.idle_timeout, run_time=time.time() - host.created_at,
                               inactivity=host.inactivity())
