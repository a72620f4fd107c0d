"""A simulated Exchange Online tenant over the same organization: the REST InvokeCommand endpoint and a
token endpoint MSAL accepts, on HTTPS with the simulator's CA.

    with SimulatedTenant(org).start() as tenant:
        tenant.url, tenant.tenant_id, tenant.app_id, tenant.app_credential, tenant.ca_file

Sign-in: `GET /{tenant}/v2.0/.well-known/openid-configuration` and `POST /{tenant}/oauth2/v2.0/token`
(client credentials; a client assertion is checked against the registered certificate: signature,
x5t/x5t#S256 thumbprint, audience, issuer and expiry; or a client secret). Tokens are JWTs the tenant
signs itself. `POST /adminapi/beta/{tenant}/InvokeCommand` runs one cmdlet as the application's Exchange
account through the engine's Session (RBAC, budgets and the call log as for Remote PowerShell) and
pages its output (`Prefer: odata.maxpagesize`, `@odata.nextLink` holding a cursor on the running
stream, so neither side holds the organization). Faults to inject: `throttle(count, retry_after)`
(429 + Retry-After) and `expire_tokens()` (401 for every token issued so far).
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import re
import secrets
import socket
import ssl
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator
from urllib.parse import parse_qs, urlsplit

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from . import tls
from .model import Account
from .organization import _jsonable
from .types import CmdletError, CommandCall, NonTerminatingError, Record, Warning

log = logging.getLogger(__name__)

# Cmdlets Exchange Online does not have: no servers, no AD sites, and the ActiveSync device names retired.
ABSENT = {"get-exchangeserver", "set-adserversettings", "get-activesyncdevice", "get-activesyncdevicestatistics",
          "clear-activesyncdevice", "remove-activesyncdevice", "get-activesyncmailboxpolicy",
          "set-activesyncmailboxpolicy", "new-activesyncmailboxpolicy", "remove-activesyncmailboxpolicy"}
MAX_PAGE = 1000
CURSOR_IDLE_SECONDS = 600


@dataclass
class AppRegistration:
    app_id: str
    account: str  # the Exchange account the service principal acts as ("CONTOSO\\app-...")
    certificate: x509.Certificate | None = None
    secret: str | None = None


@dataclass
class _Cursor:
    stream: Iterator[Any]
    account: str
    session: Any
    used: float = field(default_factory=time.monotonic)


def app_certificate(common_name: str = "EAS Console app-only") -> tuple[str, str]:
    """A self-signed RSA certificate and its key, in PEM, as an administrator makes for an app registration."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=365)).sign(key, hashes.SHA256()))
    return (cert.public_bytes(serialization.Encoding.PEM).decode(),
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()).decode())


class SimulatedTenant:
    """Exchange Online in front of a simulated organization (see the module docstring)."""

    def __init__(self, org: Any, *, tenant_id: str | None = None, domain: str | None = None,
                 tls_dir: str | None = None, address: str = "127.0.0.1", port: int = 0,
                 token_lifetime: int = 3600, app_id: str | None = None, app_credential: str | None = None) -> None:
        self.org = org
        self.tenant_id = tenant_id or str(uuid.uuid5(uuid.NAMESPACE_DNS, f"{org.name}.onmicrosoft.com"))
        self.domain = domain or f"{org.name.lower()}.onmicrosoft.com"
        self.tls_dir = tls_dir
        self.address = address
        self.requested_port = port
        self.token_lifetime = token_lifetime
        self.apps: dict[str, AppRegistration] = {}
        self.ca_file: str | None = None
        self._signing_key = secrets.token_bytes(32)
        self._generation = 0  # tokens of an older generation are expired (expire_tokens)
        self._throttled = 0
        self._retry_after = 0
        self._cursors: dict[str, _Cursor] = {}
        self._lock = threading.Lock()
        self._httpd: _Server | None = None
        self._tmpdir: tempfile.TemporaryDirectory[str] | None = None
        self.requests: list[str] = []  # "METHOD path" of each request, for tests
        self.throttled_answers = 0  # 429s sent by throttle()
        if app_credential is None:
            app_credential = "".join(app_certificate())
        self.app_credential = app_credential  # certificate + key: what the connector is given
        self.app_id = self.register_app(app_id=app_id, certificate_pem=app_credential).app_id

    # ---- lifecycle ---------------------------------------------------------------------------------
    def start(self) -> "SimulatedTenant":
        if self.tls_dir:
            files = tls.load_or_generate(self.tls_dir, [self.address], ["localhost"])
        else:
            self._tmpdir = tempfile.TemporaryDirectory(prefix="easconsole-tenant-tls-")
            files = tls.generate(self._tmpdir.name, [self.address], ["localhost"])
        self.ca_file = files.ca_file
        self._httpd = _Server((self.address, self.requested_port), self, tls.server_context(files))
        threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.1}, name="exsim-tenant",
                         daemon=True).start()
        log.info("simulated Exchange Online tenant %s on %s", self.domain, self.url)
        return self

    def stop(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is not None:
            httpd.shutdown()
            httpd.server_close()
        with self._lock:
            cursors, self._cursors = list(self._cursors.values()), {}
        for cursor in cursors:
            cursor.session.close()
        if self._tmpdir is not None:
            self._tmpdir.cleanup()
            self._tmpdir = None

    def __enter__(self) -> "SimulatedTenant":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The base of both endpoints: the connector's REST endpoint and its sign-in authority."""
        if self._httpd is None:
            raise RuntimeError("the tenant is not running")
        return f"https://{self.address}:{self._httpd.server_address[1]}"

    # ---- applications and faults -------------------------------------------------------------------------
    def register_app(self, *, app_id: str | None = None, certificate_pem: str | None = None,
                     secret: str | None = None) -> AppRegistration:
        """An app registration with Exchange.ManageAsApp and an Exchange role (its own Exchange account)."""
        app_id = app_id or str(uuid.uuid4())
        account = f"{self.org.store.netbios}\\app-{app_id[:8]}"
        cert = x509.load_pem_x509_certificate(certificate_pem.encode()) if certificate_pem else None
        app = AppRegistration(app_id, account, cert, secret)
        self.apps[app_id.lower()] = app
        self._ensure_account(app)
        return app

    def _ensure_account(self, app: AppRegistration) -> None:
        with self.org.lock:  # a reset() of the organization forgets accounts it did not start with
            if app.account.lower() not in self.org.accounts:
                self.org.accounts[app.account.lower()] = Account(app.account, secrets.token_urlsafe(16))

    def throttle(self, count: int, retry_after: int = 1) -> None:
        """The next `count` InvokeCommand requests get 429 with Retry-After."""
        self._throttled, self._retry_after = count, retry_after

    def expire_tokens(self) -> None:
        """Every token issued so far expires now (as an hour passing would)."""
        self._generation += 1

    # ---- sign-in ------------------------------------------------------------------------------------------
    def _known_tenant(self, name: str) -> bool:
        return name.lower() in (self.tenant_id.lower(), self.domain.lower())

    def openid_configuration(self, tenant: str) -> tuple[int, dict[str, Any]]:
        if not self._known_tenant(tenant):
            return 400, _aad("invalid_tenant", f"AADSTS90002: Tenant '{tenant}' not found. Check to make sure you "
                                               "have the correct tenant ID and are signing into the correct cloud.")
        base = f"{self.url}/{tenant}"
        return 200, {"token_endpoint": f"{base}/oauth2/v2.0/token", "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                     "issuer": f"{self.url}/{self.tenant_id}/v2.0", "jwks_uri": f"{base}/discovery/v2.0/keys",
                     "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt"]}

    def token(self, tenant: str, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        if not self._known_tenant(tenant):
            return 400, _aad("invalid_tenant", f"AADSTS90002: Tenant '{tenant}' not found.")
        if form.get("grant_type") != "client_credentials":
            return 400, _aad("unsupported_grant_type", "AADSTS70003: The app requested an unsupported grant type.")
        app = self.apps.get((form.get("client_id") or "").lower())
        if app is None:
            return 400, _aad("unauthorized_client", f"AADSTS700016: Application with identifier "
                                                    f"'{form.get('client_id')}' was not found in the directory "
                                                    f"'{self.domain}'.")
        if form.get("scope") != f"{self.url}/.default":
            return 400, _aad("invalid_resource", f"AADSTS500011: The resource principal named {form.get('scope')} "
                                                 f"was not found in the tenant named {self.domain}.")
        problem = self._check_credential(app, tenant, form)
        if problem:
            return 401, _aad("invalid_client", problem)
        now = int(time.time())
        claims = {"aud": self.url, "iss": f"https://sts.windows.net/{self.tenant_id}/", "tid": self.tenant_id,
                  "appid": app.app_id, "roles": ["Exchange.ManageAsApp"], "iat": now, "nbf": now,
                  "exp": now + self.token_lifetime, "jti": secrets.token_hex(8), "gen": self._generation}
        token = jwt.encode(claims, self._signing_key, algorithm="HS256")
        return 200, {"token_type": "Bearer", "expires_in": self.token_lifetime, "ext_expires_in": self.token_lifetime,
                     "access_token": token}

    def _check_credential(self, app: AppRegistration, tenant: str, form: dict[str, str]) -> str:
        if form.get("client_secret") is not None:
            if app.secret and secrets.compare_digest(app.secret, form["client_secret"]):
                return ""
            return f"AADSTS7000215: Invalid client secret provided for app '{app.app_id}'."
        assertion = form.get("client_assertion") or ""
        if app.certificate is None:
            return f"AADSTS700027: No certificate is registered on application '{app.app_id}'."
        try:
            header = jwt.get_unverified_header(assertion)
        except jwt.PyJWTError:
            return "AADSTS50027: The client assertion is not a valid JWT."
        sha1 = _b64(app.certificate.fingerprint(hashes.SHA1()))
        sha256 = _b64(app.certificate.fingerprint(hashes.SHA256()))
        if str(header.get("x5t#S256", "")).rstrip("=") != sha256 and str(header.get("x5t", "")).rstrip("=") != sha1:
            return ("AADSTS700027: The certificate with identifier used to sign the client assertion is not "
                    f"registered on application '{app.app_id}'.")
        try:
            jwt.decode(assertion, app.certificate.public_key(), algorithms=["RS256", "PS256"],
                       audience=f"{self.url}/{tenant}/oauth2/v2.0/token", issuer=app.app_id,
                       options={"require": ["exp", "aud", "iss", "sub"]})
        except jwt.ExpiredSignatureError:
            return "AADSTS700024: Client assertion is not within its valid time range."
        except jwt.InvalidAudienceError:
            return "AADSTS700016: The client assertion's audience is not this tenant's token endpoint."
        except jwt.InvalidSignatureError:
            return "AADSTS700027: Client assertion contains an invalid signature."
        except jwt.PyJWTError as error:
            return f"AADSTS700027: Client assertion failed validation: {error}."
        return ""

    def _app_of(self, authorization: str | None, tenant: str) -> tuple[AppRegistration | None, str]:
        token = (authorization or "")[7:] if (authorization or "").startswith("Bearer ") else ""
        try:
            claims = jwt.decode(token, self._signing_key, algorithms=["HS256"], audience=self.url)
        except jwt.ExpiredSignatureError:
            return None, "The access token has expired."
        except jwt.PyJWTError:
            return None, "The access token is missing or not valid."
        if claims.get("gen") != self._generation:
            return None, "The access token has expired."
        if not self._known_tenant(tenant):
            return None, f"The tenant {tenant} in the URL is not the token's tenant."
        app = self.apps.get(str(claims.get("appid", "")).lower())
        if app is not None:
            self._ensure_account(app)
        return app, "" if app else "The application no longer exists."

    # ---- the REST endpoint -------------------------------------------------------------------------------
    def cmdlets(self, app: AppRegistration) -> list[str]:
        session = self.org.open_session(app.account, self.org.servers[0])
        try:
            return [c for c in session.commands() if c.lower() not in ABSENT]
        finally:
            session.close()

    def invoke(self, app: AppRegistration, body: dict[str, Any], query: dict[str, str], page_size: int
               ) -> tuple[int, dict[str, Any], dict[str, str]]:
        """One page of a cmdlet's output: (status, JSON, extra headers)."""
        if self._throttled > 0:
            self._throttled -= 1
            self.throttled_answers += 1
            return 429, _error("TooManyRequests", "Too many requests: the application is over its budget.",
                               "Microsoft.Exchange.Data.Directory.OverBudgetException"), {"Retry-After": str(self._retry_after)}
        cursor = self._take_cursor(query.get("$skiptoken"), app) if query.get("$skiptoken") else None
        if cursor is None:
            if query.get("$skiptoken"):
                return 400, _error("BadRequest", "The next link has expired; run the cmdlet again.", ""), {}
            status, found = self._start(app, body)
            if status != 200:
                return status, found, {}
            cursor = found
        return self._page(cursor, query, page_size)

    def _start(self, app: AppRegistration, body: dict[str, Any]) -> tuple[int, Any]:
        cmdlet_input = body.get("CmdletInput") if isinstance(body, dict) else None
        name = str((cmdlet_input or {}).get("CmdletName") or "")
        params = (cmdlet_input or {}).get("Parameters") or {}
        if not name or not isinstance(params, dict):
            return 400, _error("BadRequest", 'The body must be {"CmdletInput": {"CmdletName": ..., '
                                             '"Parameters": {...}}}.', "")
        if name.lower() in ABSENT:
            return 400, _error("BadRequest", f"The term '{name}' is not recognized as the name of a cmdlet.",
                               "System.Management.Automation.CommandNotFoundException")
        session = self.org.open_session(app.account, self.org.servers[0])
        return 200, _Cursor(session.run([CommandCall(name, list(params.items()))]), app.account, session)

    def _page(self, cursor: _Cursor, query: dict[str, str], page_size: int) -> tuple[int, dict[str, Any], dict[str, str]]:
        select = [s.strip() for s in (query.get("$select") or "").split(",") if s.strip()]
        values: list[dict[str, Any]] = []
        warnings: list[str] = []
        try:
            for item in cursor.stream:
                if isinstance(item, Record):
                    props = item.properties
                    values.append({k: _jsonable(v) for k, v in props.items() if not select or k in select})
                elif isinstance(item, Warning):
                    warnings.append(item.message)
                elif isinstance(item, NonTerminatingError):
                    cursor.session.close()
                    return _cmdlet_error(item.info)
                if len(values) >= page_size:
                    break
            else:
                cursor.session.close()
                return 200, _payload(values, warnings, None), {}
        except CmdletError as error:
            cursor.session.close()
            return _cmdlet_error(error.info)
        token = secrets.token_urlsafe(16)
        cursor.used = time.monotonic()
        with self._lock:
            self._cursors[token] = cursor
        next_link = f"{self.url}/adminapi/beta/{self.tenant_id}/InvokeCommand?$skiptoken={token}"
        if select:
            next_link += "&$select=" + ",".join(select)
        return 200, _payload(values, warnings, next_link), {}

    def _take_cursor(self, token: str, app: AppRegistration) -> _Cursor | None:
        now = time.monotonic()
        with self._lock:
            for key in [k for k, c in self._cursors.items() if now - c.used > CURSOR_IDLE_SECONDS]:
                self._cursors.pop(key).session.close()
            cursor = self._cursors.pop(token, None)
        if cursor is not None and cursor.account != app.account:
            self._cursors[token] = cursor
            return None
        return cursor


def _payload(values: list[dict[str, Any]], warnings: list[str], next_link: str | None) -> dict[str, Any]:
    payload: dict[str, Any] = {"@odata.context": "https://outlook.office365.com/adminapi/beta/$metadata#Collection",
                               "value": values}
    if warnings:
        payload["@adminapi.warnings"] = warnings
    if next_link:
        payload["@odata.nextLink"] = next_link
    return payload


def _error(code: str, message: str, exception_type: str) -> dict[str, Any]:
    detail = f"Ex{secrets.token_hex(3).upper()}|{exception_type}|{message}" if exception_type else message
    return {"error": {"code": code, "message": message, "details": [{"message": detail}],
                      "innererror": {"internalException": {"message": message}}}}


def _cmdlet_error(info: Any) -> tuple[int, dict[str, Any], dict[str, str]]:
    if info.exception_type.endswith("OverBudgetException"):
        wait = re.search(r"wait (\d+) seconds", info.message)
        return 429, _error("TooManyRequests", info.message, info.exception_type), {"Retry-After": wait.group(1) if wait else "5"}
    return 400, _error("BadRequest", info.message, info.exception_type), {}


def _aad(error: str, description: str) -> dict[str, Any]:
    code = int(re.sub(r"\D", "", description.split(":")[0]) or 0)
    return {"error": error, "error_description": description, "error_codes": [code],
            "timestamp": dt.datetime.now(dt.timezone.utc).isoformat(), "trace_id": str(uuid.uuid4())}


def _b64(data: bytes) -> str:
    import base64

    return base64.urlsafe_b64encode(data).decode().rstrip("=")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "_Server"

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def handle(self) -> None:
        try:
            super().handle()
        except (OSError, ssl.SSLError):
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        log.debug("tenant " + format, *args)

    def do_GET(self) -> None:  # noqa: N802
        self._route("GET", b"")

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        self._route("POST", self.rfile.read(length) if length else b"")

    def _route(self, method: str, body: bytes) -> None:
        tenant_sim = self.server.tenant
        split = urlsplit(self.path)
        parts = [p for p in split.path.split("/") if p]
        query = {k: v[0] for k, v in parse_qs(split.query).items()}
        tenant_sim.requests.append(f"{method} {split.path}")
        try:
            if method == "GET" and len(parts) == 4 and parts[1:] == ["v2.0", ".well-known", "openid-configuration"]:
                return self._json(*tenant_sim.openid_configuration(parts[0]))
            if method == "POST" and len(parts) == 4 and parts[1:] == ["oauth2", "v2.0", "token"]:
                form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
                return self._json(*tenant_sim.token(parts[0], form))
            if len(parts) == 4 and parts[0] == "adminapi":
                app, problem = tenant_sim._app_of(self.headers.get("Authorization"), parts[2])
                if app is None:
                    return self._json(401, _error("Unauthorized", problem, ""),
                                      {"WWW-Authenticate": f'Bearer error="invalid_token", error_description="{problem}"'})
                if method == "GET" and parts[1] == "v1.0" and parts[3] == "EXOModuleFile":
                    return self._json(200, {"value": [{"exportedCmdlets": ",".join(tenant_sim.cmdlets(app))}]})
                if method == "POST" and parts[1] == "beta" and parts[3] == "InvokeCommand":
                    match = re.search(r"odata\.maxpagesize=(\d+)", self.headers.get("Prefer") or "")
                    size = min(MAX_PAGE, int(match.group(1))) if match else MAX_PAGE
                    try:
                        payload = json.loads(body or b"{}")
                    except ValueError:
                        return self._json(400, _error("BadRequest", "The body is not JSON.", ""))
                    return self._json(*tenant_sim.invoke(app, payload, query, max(1, size)))
            self._json(404, _error("NotFound", f"No such resource: {split.path}", ""))
        except Exception as exc:  # the simulator's own bug: answer as a server error, keep serving
            log.exception("tenant request failed")
            self._json(500, _error("InternalServerError", f"The simulated tenant failed: {exc!r}", ""))

    def _json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], tenant: SimulatedTenant, context: ssl.SSLContext) -> None:
        self.tenant = tenant
        self.context = context
        super().__init__(address, _Handler)

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, addr = super().get_request()
        return self.context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), addr
