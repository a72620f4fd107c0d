"""Starts and stops a whole simulated Exchange organization: one listener per server plus the control API."""
from __future__ import annotations

import ipaddress
import logging
import os
import secrets
import tempfile
import threading
from typing import Any

from . import tls
from .auth import Authenticator
from .control import ControlServer
from .server import ExchangeListener
from .service import ShellRegistry, WSManService

log = logging.getLogger(__name__)

DEFAULT_BIND_BASE = "127.0.0.11"
AUTOSAVE_SECONDS = 2.0


class SimulatedExchange:
    """A running simulated Exchange organization.

    Args:
        org: the engine's Organization. Replaced by `type(org).load(state_file)` at start when the
            state file exists.
        port: the port every server listens on (0 picks a free one shared by all servers).
        auth: accepted HTTP auth methods: "basic", "ntlm" (NTLM/Negotiate with message encryption),
            "kerberos" (Kerberos inside Negotiate, with message encryption; needs `keytab`).
        https: serve HTTPS with a generated CA (see `ca_file`).
        control_port: port of the JSON control API on 127.0.0.1 (0 picks a free one).
        state_file: JSON file the organization is saved to on changes and at stop.
        bind_base: first loopback address; servers get consecutive addresses from it.
        control_token: token for the control API (random when None).
        tls_dir: where the HTTPS CA and certificate live; reused across restarts while they cover the
            servers' addresses (a temporary directory, removed at stop, when None).
        keytab: keytab with the `HTTP/<server address>` keys, for "kerberos" (see `kdc.py`).
    """

    def __init__(
        self,
        org: Any,
        *,
        port: int = 0,
        auth: tuple[str, ...] | list[str] = ("basic", "ntlm"),
        https: bool = False,
        control_port: int = 0,
        state_file: str | None = None,
        bind_base: str = DEFAULT_BIND_BASE,
        control_token: str | None = None,
        tls_dir: str | None = None,
        keytab: str | None = None,
    ) -> None:
        self.org = org
        self.keytab = keytab
        self.requested_port = port
        self.auth = tuple(auth)
        self.https = https
        self.requested_control_port = control_port
        self.state_file = state_file
        self.bind_base = bind_base
        self.control_token = control_token or secrets.token_urlsafe(24)
        self.tls_dir = tls_dir
        self.ca_file: str | None = None
        self.port = 0
        self.registry: ShellRegistry | None = None
        self.listeners: dict[str, ExchangeListener] = {}
        self._control: ControlServer | None = None
        self._latency: dict[str | None, float] = {}
        self._tmpdir: tempfile.TemporaryDirectory[str] | None = None
        self._save_lock = threading.Lock()
        self._stop_saver = threading.Event()
        self._saver: threading.Thread | None = None
        self._saved_calls = 0

    # -- lifecycle --------------------------------------------------------------------------------
    def start(self) -> "SimulatedExchange":
        if self.state_file and os.path.exists(self.state_file):
            self.org = type(self.org).load(self.state_file)
        self.registry = ShellRegistry(self.org)
        authenticator = Authenticator(self.org, self.auth, realm=getattr(self.org, "domain", "Exchange"),
                                      keytab=self.keytab)
        base = ipaddress.IPv4Address(self.bind_base)
        addresses = [str(base + i) for i in range(len(self.org.servers))]
        for server, address in zip(self.org.servers, addresses):
            server.fqdn = address  # Get-ExchangeServer must report an address the client can reach
        ssl_context = None
        if self.https:
            if self.tls_dir:
                files = tls.load_or_generate(self.tls_dir, addresses + ["127.0.0.1"], ["localhost"])
            else:
                self._tmpdir = tempfile.TemporaryDirectory(prefix="easconsole-sim-tls-")
                files = tls.generate(self._tmpdir.name, addresses + ["127.0.0.1"], ["localhost"])
            self.ca_file = files.ca_file
            ssl_context = tls.server_context(files)
        self.listeners = {}
        for server, address in zip(self.org.servers, addresses):
            service = WSManService(self.registry, server, self._endpoint(address))
            self.listeners[server.name] = ExchangeListener(
                server, address, 0, service, authenticator, ssl_context=ssl_context,
                latency=lambda name=server.name: self._latency.get(name, self._latency.get(None, 0.0)),
                on_close_server=self.registry.close_server,
            )
        self._bind_all()
        self._control = ControlServer(self, self.control_token, self.requested_control_port)
        self._control.start()
        if self.state_file:
            self._stop_saver.clear()
            self._saved_calls = _last_call(self.org.call_log(0), 0)
            self._saver = threading.Thread(target=self._autosave, name="exsim-autosave", daemon=True)
            self._saver.start()
        log.info("simulated Exchange %s started on port %s", getattr(self.org, "name", ""), self.port)
        return self

    def _bind_all(self) -> None:
        """Every server on the same port: pick it with the first bind, retry if another address has it taken."""
        for _attempt in range(20):
            port = self.requested_port
            try:
                for listener in self.listeners.values():
                    listener.port = port
                    listener.start()
                    port = listener.port
                self.port = port
                return
            except OSError:
                for listener in self.listeners.values():
                    listener.stop()
                if self.requested_port:
                    raise
        raise OSError("could not find a port free on every simulated server address")

    def stop(self) -> None:
        self._stop_saver.set()
        if self._saver is not None:
            self._saver.join(timeout=5)
            self._saver = None
        if self._control is not None:
            self._control.stop()
            self._control = None
        for listener in self.listeners.values():
            listener.stop()
        if self.registry is not None:
            self.registry.close_all()
        self.save()
        if self._tmpdir is not None:
            self._tmpdir.cleanup()
            self._tmpdir = None

    def __enter__(self) -> "SimulatedExchange":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # -- addresses ---------------------------------------------------------------------------------
    @property
    def scheme(self) -> str:
        return "https" if self.https else "http"

    @property
    def control_url(self) -> str:
        if self._control is None:
            raise RuntimeError("the simulator is not running")
        return self._control.url

    def server_address(self, name: str) -> str:
        """The loopback address the server listens on (its Fqdn in Get-ExchangeServer)."""
        return self._listener(name).address

    def endpoint(self, name: str | None = None) -> str:
        """The full `/PowerShell` URL of a server (the first one when None)."""
        address = self.server_address(name) if name else next(iter(self.listeners.values())).address
        return self._endpoint(address)

    def _endpoint(self, address: str) -> str:
        return f"{self.scheme}://{address}:{self.port}/PowerShell"

    def _listener(self, name: str) -> ExchangeListener:
        for key, listener in self.listeners.items():
            if key.lower() == name.lower():
                return listener
        raise KeyError(f"no such server: {name}")

    # -- fault injection (also used by the control API) ---------------------------------------------
    def stop_server(self, name: str) -> None:
        self._listener(name).stop()

    def start_server(self, name: str) -> None:
        listener = self._listener(name)
        listener.port = self.port
        listener.start()

    def drop_connections(self, name: str | None = None) -> None:
        """Close the keep-alive connections of one server (all when None), like an IIS idle timeout."""
        for listener in [self._listener(name)] if name else list(self.listeners.values()):
            listener.drop_connections()

    def set_latency(self, server: str | None, seconds: float) -> None:
        key = self._listener(server).server.name if server else None
        if seconds:
            self._latency[key] = float(seconds)
        else:
            self._latency.pop(key, None)

    def set_session_limit(self, account: str, limit: int | None) -> None:
        assert self.registry is not None
        self.registry.set_limit(account, limit)

    def state(self) -> dict[str, Any]:
        assert self.registry is not None
        return {
            "organization": self.org.snapshot(),
            "port": self.port,
            "scheme": self.scheme,
            "servers": [
                {
                    "name": l.server.name,
                    "address": l.address,
                    "fqdn": l.server.fqdn,
                    "port": self.port,
                    "endpoint": self._endpoint(l.address),
                    "running": l.running,
                    "roles": list(l.server.roles),
                    "site": l.server.site_name,
                    "latency": self._latency.get(l.server.name, self._latency.get(None, 0.0)),
                }
                for l in self.listeners.values()
            ],
            "open_pools": self.registry.counts(),
            "shells": self.registry.describe(),
            "session_limits": dict(self.registry.session_limits),
        }

    # -- persistence ---------------------------------------------------------------------------------
    def changed(self) -> None:
        self.save()

    def save(self) -> None:
        if not self.state_file:
            return
        with self._save_lock:
            tmp = self.state_file + ".tmp"
            self.org.save(tmp)
            os.replace(tmp, self.state_file)

    def _autosave(self) -> None:
        # Cmdlets (wipes, rules, policies) change the organization too: save when new calls appear.
        while not self._stop_saver.wait(AUTOSAVE_SECONDS):
            try:
                calls = self.org.call_log(self._saved_calls)
                if calls:
                    self._saved_calls = _last_call(calls, self._saved_calls)
                    self.save()
            except Exception:
                log.exception("autosave failed")


def _last_call(calls: list[dict[str, Any]], since: int) -> int:
    """The cursor to pass as `since` next time: the engine numbers entries with `seq`."""
    if not calls:
        return since
    return int(calls[-1].get("seq", since + len(calls)))
