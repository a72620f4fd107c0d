"""One HTTP(S) listener per simulated Exchange server, serving WSMan at `/PowerShell`.

Each listener binds its own loopback address (all of 127.0.0.0/8 reaches loopback on Linux) on a
port shared by every server, so the Fqdn that Get-ExchangeServer reports is reachable with the
connector's port. Stopping a listener closes its keep-alive sockets too: `ThreadingHTTPServer`
leaves them open otherwise, and a client mid-pipeline must see a connection error, as it would
when a real server goes down.
"""
from __future__ import annotations

import logging
import socket
import ssl
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import urlsplit

from . import auth as auth_mod
from . import wsman
from .service import WSManService
from .types import CmdletError, ExchangeServer
from .wsman import WSManFault

log = logging.getLogger(__name__)

SOAP_CONTENT_TYPE = "application/soap+xml;charset=UTF-8"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "_HTTPServer"
    server_version = "Microsoft-IIS/10.0"
    sys_version = ""

    def setup(self) -> None:
        super().setup()
        # http.server writes headers and body in separate sends: without NODELAY, Nagle plus the
        # client's delayed ACK adds ~100 ms to every request.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.auth_state = auth_mod.ConnectionAuth()
        self.server.track(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass
        self.server.untrack(self.connection)

    def handle(self) -> None:
        try:
            super().handle()
        except (OSError, ssl.SSLError):
            self.close_connection = True  # the listener was stopped or the client went away

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - BaseHTTPRequestHandler's name
        log.debug("%s %s", self.server.listener.server.name, format % args)

    def do_GET(self) -> None:  # noqa: N802
        self._plain(405 if self._is_endpoint() else 404)

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if not self._is_endpoint():
            self._plain(404)
            return
        listener = self.server.listener
        delay = listener.latency()
        if delay > 0:
            time.sleep(delay)
        result = listener.authenticator.authenticate(self.headers.get("Authorization"), self.auth_state)
        if result.account is None:
            challenges = [result.challenge] if result.challenge else listener.authenticator.challenges()
            self._plain(401, [("WWW-Authenticate", c) for c in challenges])
            return
        extra = [("WWW-Authenticate", result.final_token)] if result.final_token else []
        if not body:  # pypsrp's empty request that only sets up the NTLM context
            self._plain(200, extra)
            return
        encrypted = auth_mod.is_encrypted(self.headers.get("Content-Type"))
        if encrypted:
            try:
                body = auth_mod.unwrap(self.auth_state.context, body, self.headers.get("Content-Type", ""))
            except Exception:
                log.debug("could not decrypt request", exc_info=True)
                self._plain(400)
                return
        listener.count_request("basic" if self.auth_state.context is None else self.auth_state.method or "", encrypted)
        status, payload = listener.dispatch(body, result.account, self.client_address[0])
        content_type = SOAP_CONTENT_TYPE
        if encrypted:
            content_type, payload = auth_mod.wrap(self.auth_state.context, payload)
        self._send(status, payload, [("Content-Type", content_type), *extra])

    def _is_endpoint(self) -> bool:
        return urlsplit(self.path).path.rstrip("/").lower() == "/powershell"

    def _plain(self, status: int, headers: list[tuple[str, str]] | None = None) -> None:
        self._send(status, b"", headers or [])

    def _send(self, status: int, payload: bytes, headers: list[tuple[str, str]]) -> None:
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if payload:
            self.wfile.write(payload)
        self.wfile.flush()


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, address: tuple[str, int], listener: "ExchangeListener", ssl_context: ssl.SSLContext | None):
        self.listener = listener
        self.ssl_context = ssl_context
        self._connections: set[socket.socket] = set()
        self._conn_lock = threading.Lock()
        super().__init__(address, _Handler)

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, addr = super().get_request()
        if self.ssl_context is not None:
            # The handshake runs in the handler thread (first read), so a slow client cannot stall accept().
            sock = self.ssl_context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, addr

    def track(self, conn: socket.socket) -> None:
        with self._conn_lock:
            self._connections.add(conn)

    def untrack(self, conn: socket.socket) -> None:
        with self._conn_lock:
            self._connections.discard(conn)

    def close_connections(self) -> None:
        with self._conn_lock:
            connections, self._connections = list(self._connections), set()
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            try:
                conn.close()
            except OSError:
                pass


class ExchangeListener:
    """The `/PowerShell` endpoint of one simulated Exchange server."""

    def __init__(
        self,
        server: ExchangeServer,
        address: str,
        port: int,
        service: WSManService,
        authenticator: auth_mod.Authenticator,
        *,
        ssl_context: ssl.SSLContext | None = None,
        latency: Callable[[], float] = lambda: 0.0,
        on_close_server: Callable[[str], None] | None = None,
    ) -> None:
        self.server = server
        self.address = address
        self.port = port
        self.service = service
        self.authenticator = authenticator
        self.ssl_context = ssl_context
        self.latency = latency
        self._on_close_server = on_close_server
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.requests: Counter[tuple[str, bool]] = Counter()  # (auth method, encrypted) -> SOAP requests served
        self._count_lock = threading.Lock()

    def count_request(self, method: str, encrypted: bool) -> None:
        with self._count_lock:
            self.requests[(method, encrypted)] += 1

    @property
    def running(self) -> bool:
        return self._httpd is not None

    def start(self) -> None:
        if self._httpd is not None:
            return
        httpd = _HTTPServer((self.address, self.port), self, self.ssl_context)
        self.port = httpd.server_address[1]
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.1}, name=f"exsim-{self.server.name}", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.shutdown()
        httpd.server_close()
        httpd.close_connections()
        if self._on_close_server is not None:
            self._on_close_server(self.server.name)
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def drop_connections(self) -> None:
        """Close idle keep-alive sockets as IIS does after its idle timeout; the listener keeps running."""
        if self._httpd is not None:
            self._httpd.close_connections()

    def dispatch(self, body: bytes, account: str, client_ip: str) -> tuple[int, bytes]:
        """Run one SOAP request; (HTTP status, response envelope)."""
        request = None
        try:
            request = wsman.parse_request(body)
            return 200, self.service.handle(request, account, client_ip)
        except WSManFault as exc:
            return 500, wsman.fault(request, exc, self.server.fqdn)
        except CmdletError as exc:  # open_session refusing the account: surfaced as access denied
            return 500, wsman.fault(request, WSManFault(wsman.ACCESS_DENIED, exc.info.message), self.server.fqdn)
        except Exception as exc:
            log.exception("WSMan request failed on %s", self.server.name)
            error = WSManFault(wsman.BAD_REQUEST, f"The simulated server failed to process the request: {exc!r}")
            return 500, wsman.fault(request, error, self.server.fqdn)
