"""The JSON control API: how tests and the demo drive the simulated organization and inject faults.

It listens on 127.0.0.1 on its own port, separate from the `/PowerShell` listeners, and every
request must carry the token chosen at start (`Authorization: Bearer <token>` or
`X-Simulator-Token`). Routes are listed in docs/simulator.md.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import hmac
import json
import logging
import re
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

from . import lifecycle
from .model import STATE_NAMES, to_dt
from .types import CmdletError, EnumValue, ErrorCategory

log = logging.getLogger(__name__)


class ControlTarget(Protocol):
    """What the control API needs from the runner."""

    org: Any

    def state(self) -> dict[str, Any]: ...
    def stop_server(self, name: str) -> None: ...
    def start_server(self, name: str) -> None: ...
    def drop_connections(self, name: str | None = None) -> None: ...
    def set_latency(self, server: str | None, seconds: float) -> None: ...
    def set_session_limit(self, account: str, limit: int | None) -> None: ...
    def changed(self) -> None: ...


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def to_json(value: Any) -> Any:
    """json.dumps default: the engine's snapshot may hold datetimes, GUIDs, enums and dataclasses."""
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, EnumValue):
        return value.name
    if isinstance(value, enum.Enum):
        return value.name
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    return str(value)


Route = tuple[str, "re.Pattern[str]", Callable[..., Any]]


class ControlApi:
    """Routes of the control API, independent of HTTP so they are easy to test."""

    def __init__(self, target: ControlTarget) -> None:
        self.target = target
        p = re.compile
        self.routes: list[Route] = [
            ("GET", p(r"/state"), self.state),
            ("GET", p(r"/calls"), self.calls),
            ("POST", p(r"/servers/(?P<name>[^/]+)/(?P<action>stop|start|drop-connections)"), self.server_action),
            ("POST", p(r"/latency"), self.latency),
            ("POST", p(r"/deny"), self.deny),
            ("POST", p(r"/grant"), self.grant),
            ("POST", p(r"/throttle"), self.throttle),
            ("POST", p(r"/devices/(?P<identity>.+)/sync"), self.sync_device),
            ("POST", p(r"/sync-all"), self.sync_all),
            ("GET", p(r"/users"), self.list_users),
            ("POST", p(r"/users"), self.add_user),
            ("GET", p(r"/users/(?P<identity>.+)"), self.get_user),
            ("DELETE", p(r"/users/(?P<identity>.+)"), self.remove_user),
            ("GET", p(r"/devices"), self.list_devices),
            ("POST", p(r"/devices"), self.add_device),
            ("GET", p(r"/devices/(?P<identity>.+)"), self.get_device),
            ("DELETE", p(r"/devices/(?P<identity>.+)"), self.remove_device),
            ("PATCH", p(r"/devices/(?P<identity>.+)"), self.change_device),
            ("POST", p(r"/reset"), self.reset),
            ("POST", p(r"/admin-center"), self.admin_center),
        ]

    def dispatch(self, method: str, path: str, query: dict[str, list[str]], body: Any) -> Any:
        known_path = False
        for route_method, pattern, handler in self.routes:
            match = pattern.fullmatch(path)
            if match is None:
                continue
            known_path = True
            if route_method == method:
                args = {k: unquote(v) for k, v in match.groupdict().items()}
                return handler(body=body, query=query, **args)
        if known_path:
            raise ApiError(405, f"{method} is not allowed on {path}")
        raise ApiError(404, f"no such route: {method} {path}")

    # -- routes ----------------------------------------------------------------------------------
    def state(self, **_: Any) -> Any:
        return self.target.state()

    def calls(self, query: dict[str, list[str]], **_: Any) -> Any:
        try:
            since = int(query.get("since", ["0"])[0])
        except ValueError:
            raise ApiError(400, "since must be an integer") from None
        calls = self.target.org.call_log(since)
        last = calls[-1].get("seq", since + len(calls)) if calls else since
        return {"since": since, "next": last, "calls": calls}

    def server_action(self, name: str, action: str, **_: Any) -> Any:
        if action == "drop-connections":
            self.target.drop_connections(name)
            return {"server": name, "dropped": True}
        if action == "stop":
            self.target.stop_server(name)
        else:
            self.target.start_server(name)
        return {"server": name, "running": action == "start"}

    def latency(self, body: dict[str, Any], **_: Any) -> Any:
        seconds = _number(body, "seconds")
        if seconds < 0:
            raise ApiError(400, "seconds must be >= 0")
        self.target.set_latency(body.get("server"), seconds)
        return {"server": body.get("server"), "seconds": seconds}

    def deny(self, body: dict[str, Any], **_: Any) -> Any:
        account, cmdlets = _field(body, "account"), _cmdlets(body)
        self.target.org.deny_cmdlets(account, cmdlets)
        self.target.changed()
        return {"account": account, "denied": cmdlets}

    def grant(self, body: dict[str, Any], **_: Any) -> Any:
        account, cmdlets = _field(body, "account"), _cmdlets(body)
        self.target.org.grant_cmdlets(account, cmdlets)
        self.target.changed()
        return {"account": account, "granted": cmdlets}

    def throttle(self, body: dict[str, Any], **_: Any) -> Any:
        account = _field(body, "account")
        result: dict[str, Any] = {"account": account}
        if "max_sessions" in body:
            limit = body["max_sessions"]
            self.target.set_session_limit(account, None if limit is None else int(_number(body, "max_sessions")))
            result["max_sessions"] = limit
        if "max_cmdlets" in body:
            period = _number(body, "period_seconds") if "period_seconds" in body else 60
            self.target.org.set_cmdlet_budget(account, body["max_cmdlets"], period)
            result.update(max_cmdlets=body["max_cmdlets"], period_seconds=period)
        self.target.changed()
        return result

    def sync_device(self, identity: str, **_: Any) -> Any:
        result = self.target.org.sync_device(identity)
        self.target.changed()
        return result

    def sync_all(self, body: Any, **_: Any) -> Any:
        # include_dormant: lost/abandoned devices sync too (the engine's option); only passed when given.
        extra = {"include_dormant": bool(body["include_dormant"])} if isinstance(body, dict) and "include_dormant" in body else {}
        count = self.target.org.sync_all(**extra)
        self.target.changed()
        return {"synced": count}

    def list_devices(self, query: dict[str, list[str]], **_: Any) -> Any:
        """Devices as Exchange holds them: ?user=<mailbox>&q=<text>&access_state=<name>&offset=&limit=."""
        offset, limit = _page(query)
        state = _one(query, "access_state")
        if state is not None and state not in STATE_NAMES:
            raise ApiError(400, f"access_state must be one of {', '.join(STATE_NAMES)}")
        org = self.target.org
        with org.lock:
            store = org.store
            user = _user(store, _one(query, "user")) if _one(query, "user") else None
            found = list(store.search_devices(user=user, text=_one(query, "q"),
                                              access_state=STATE_NAMES.index(state) if state else None))
            return {"total": len(found), "offset": offset, "limit": limit,
                    "devices": [device_view(store, d) for d in found[offset:offset + limit]]}

    def get_device(self, identity: str, **_: Any) -> Any:
        org = self.target.org
        with org.lock:
            return device_view(org.store, _device(org.store, identity))

    def list_users(self, query: dict[str, list[str]], **_: Any) -> Any:
        """Mailboxes: ?q=<text>&offset=&limit=."""
        offset, limit = _page(query)
        org = self.target.org
        with org.lock:
            found = list(org.store.search_users(text=_one(query, "q")))
            return {"total": len(found), "offset": offset, "limit": limit,
                    "users": [lifecycle.user_summary(org.store, u) for u in found[offset:offset + limit]]}

    def get_user(self, identity: str, **_: Any) -> Any:
        org = self.target.org
        with org.lock:
            return lifecycle.user_summary(org.store, _user(org.store, identity))

    def add_user(self, body: dict[str, Any], **_: Any) -> Any:
        result = self.target.org.add_user(**_object(body))
        self.target.changed()
        return result

    def remove_user(self, identity: str, **_: Any) -> Any:
        self.target.org.remove_user(identity)
        self.target.changed()
        return {"removed": identity}

    def add_device(self, body: dict[str, Any], **_: Any) -> Any:
        fields = dict(_object(body))
        user = fields.pop("user", None)
        if not user:
            raise ApiError(400, "missing field: user")
        result = self.target.org.add_device(user, **fields)
        self.target.changed()
        return result

    def remove_device(self, identity: str, **_: Any) -> Any:
        self.target.org.remove_device(identity)
        self.target.changed()
        return {"removed": identity}

    def change_device(self, identity: str, body: dict[str, Any], **_: Any) -> Any:
        result = self.target.org.change_device(identity, **_object(body))
        self.target.changed()
        return result

    def admin_center(self, body: dict[str, Any], **_: Any) -> Any:
        result = self.target.org.admin_center(str(_field(body, "cmdlet")), dict(_object(body.get("parameters") or {})))
        self.target.changed()
        return {"output": result}

    def reset(self, **_: Any) -> Any:
        self.target.org.reset()
        self.target.changed()
        return {"reset": True}


MAX_PAGE = 1000


def device_view(store: Any, d: Any) -> dict[str, Any]:
    """One device as the control API lists it: its summary and the properties a device reports, as stored."""
    return {**lifecycle.device_summary(store, d), "friendly_name": store.friendly_name(d), "model": d.model,
            "os": d.os, "os_language": d.os_language, "user_agent": d.user_agent, "imei": d.imei,
            "operator": d.operator, "phone": d.phone, "client_type": d.client_type, "client_version": d.client_version,
            "first_sync": to_dt(d.first_sync), "last_success": to_dt(d.last_success),
            "last_attempt": to_dt(d.last_attempt), "when_changed": to_dt(d.when_changed),
            "wipe_requested": to_dt(d.wipe_request), "wipe_sent": to_dt(d.wipe_sent), "wipe_acknowledged": to_dt(d.wipe_ack),
            "account_only_wipe_requested": to_dt(d.ao_request), "account_only_wipe_acknowledged": to_dt(d.ao_ack)}


def _user(store: Any, identity: str) -> Any:
    found = store.find_users(identity)
    if not found:
        raise KeyError(f"mailbox {identity!r} not found")
    return found[0]


def _device(store: Any, identity: str) -> Any:
    found = store.find_devices(identity)
    if len(found) != 1:
        raise KeyError(f"device {identity!r} {'is ambiguous' if found else 'not found'}")
    return found[0]


def _one(query: dict[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[0] if values and values[0] != "" else None


def _page(query: dict[str, list[str]]) -> tuple[int, int]:
    try:
        offset = int(_one(query, "offset") or 0)
        limit = int(_one(query, "limit") or 100)
    except ValueError:
        raise ApiError(400, "offset and limit must be integers") from None
    if offset < 0 or not 1 <= limit <= MAX_PAGE:
        raise ApiError(400, f"offset must be >= 0 and limit between 1 and {MAX_PAGE}")
    return offset, limit


def _object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ApiError(400, "the request body must be a JSON object")
    return body


def _field(body: Any, name: str) -> Any:
    value = _object(body).get(name)
    if value in (None, ""):
        raise ApiError(400, f"missing field: {name}")
    return value


def _number(body: Any, name: str) -> float:
    value = _object(body).get(name)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ApiError(400, f"{name} must be a number")
    return float(value)


def _cmdlets(body: Any) -> list[str]:
    cmdlets = _field(body, "cmdlets")
    if isinstance(cmdlets, str):
        cmdlets = [cmdlets]
    if not isinstance(cmdlets, list) or not all(isinstance(c, str) for c in cmdlets):
        raise ApiError(400, "cmdlets must be a list of cmdlet names")
    return cmdlets


def error_status(exc: Exception) -> tuple[int, str]:
    """Map an engine exception to an HTTP status: unknown things are 404, bad input 400."""
    if isinstance(exc, ApiError):
        return exc.status, exc.message
    if isinstance(exc, CmdletError):
        status = 404 if exc.info.category == ErrorCategory.ObjectNotFound else 400
        return status, exc.info.message
    if isinstance(exc, LookupError):
        return 404, str(exc.args[0] if exc.args else exc)
    if isinstance(exc, (ValueError, TypeError)):
        return 400, str(exc)
    return 500, repr(exc)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "ControlServer"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        log.debug("control: " + format, *args)

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if not self._authorised():
            self._reply(401, {"error": "missing or wrong control token"})
            return
        try:
            body = json.loads(raw) if raw.strip() else {}
        except ValueError:
            self._reply(400, {"error": "the request body is not valid JSON"})
            return
        url = urlsplit(self.path)
        try:
            with self.server.lock:
                result = self.server.api.dispatch(self.command, url.path.rstrip("/") or "/", parse_qs(url.query), body)
            self._reply(200, result)
        except Exception as exc:
            status, message = error_status(exc)
            if status == 500:
                log.exception("control API %s %s failed", self.command, self.path)
            self._reply(status, {"error": message})

    do_GET = do_POST = do_DELETE = do_PATCH = _handle  # noqa: N815

    def _authorised(self) -> bool:
        supplied = self.headers.get("X-Simulator-Token") or ""
        header = self.headers.get("Authorization") or ""
        if header.lower().startswith("bearer "):
            supplied = header[7:].strip()
        return hmac.compare_digest(supplied.encode(), self.server.token.encode())

    def _reply(self, status: int, payload: Any) -> None:
        data = json.dumps(payload, default=to_json).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class ControlServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, target: ControlTarget, token: str, port: int = 0, host: str = "127.0.0.1") -> None:
        self.api = ControlApi(target)
        self.token = token
        self.lock = threading.RLock()  # control changes are rare: serialise them against each other
        super().__init__((host, port), _Handler)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> None:
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="exsim-control", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
