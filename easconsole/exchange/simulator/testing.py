"""Helpers for tests, benchmarks and the console's integration tests.

    with running_simulator(devices=200) as sim:
        control = ControlClient.for_simulator(sim)
        wsman = wsman_for(sim, *DEFAULT_ACCOUNT)
        ...

Everything binds free ports on loopback and is torn down on exit (listeners, keep-alive sockets,
control API, engine sessions).
"""
from __future__ import annotations

import contextlib
import time
from typing import Any, Callable, Iterator, TypeVar

import requests

from .runner import SimulatedExchange

T = TypeVar("T")

DEFAULT_ACCOUNT = ("CONTOSO\\easadmin", "Sim-P@ssw0rd-1")
READONLY_ACCOUNT = ("CONTOSO\\easviewer", "Sim-P@ssw0rd-2")
DEFAULT_ACCOUNTS = dict([DEFAULT_ACCOUNT, READONLY_ACCOUNT])


def make_organization(*, seed: int = 1, devices: int = 50, accounts: dict[str, str] | None = None, **kwargs: Any) -> Any:
    """The engine's Organization, generated with the test accounts."""
    from .organization import Organization  # imported late: the engine is optional for protocol-only use

    return Organization.generate(seed=seed, devices=devices, accounts=accounts or dict(DEFAULT_ACCOUNTS), **kwargs)


@contextlib.contextmanager
def running_simulator(
    org: Any = None,
    *,
    seed: int = 1,
    devices: int = 50,
    accounts: dict[str, str] | None = None,
    auth: tuple[str, ...] = ("basic", "ntlm"),
    https: bool = False,
    state_file: str | None = None,
    bind_base: str = "127.0.0.11",
    tls_dir: str | None = None,
    keytab: str | None = None,
    **generate_kwargs: Any,
) -> Iterator[SimulatedExchange]:
    """Start a simulated organization on free ports, yield the runner, stop it cleanly."""
    if org is None:
        org = make_organization(seed=seed, devices=devices, accounts=accounts, **generate_kwargs)
    sim = SimulatedExchange(org, auth=auth, https=https, state_file=state_file, bind_base=bind_base, tls_dir=tls_dir,
                            keytab=keytab)
    sim.start()
    try:
        yield sim
    finally:
        sim.stop()


def simulator_fixture(scope: str = "module", **kwargs: Any) -> Any:
    """A pytest fixture running `running_simulator(**kwargs)` for the given scope.

    In a conftest: `exchange = simulator_fixture(scope="session", devices=200)`.
    """
    import pytest

    @pytest.fixture(scope=scope)
    def _fixture() -> Iterator[SimulatedExchange]:
        with running_simulator(**kwargs) as sim:
            yield sim

    return _fixture


def wsman_for(
    sim: SimulatedExchange,
    username: str,
    password: str,
    *,
    server: str | None = None,
    auth: str = "basic",
    **kwargs: Any,
) -> Any:
    """A pypsrp WSMan pointed at one simulated server (Basic: unencrypted HTTP, as tests need)."""
    from pypsrp.wsman import WSMan

    options: dict[str, Any] = {
        "port": sim.port,
        "path": "PowerShell",
        "ssl": sim.https,
        "auth": auth,
        "username": username,
        "password": password,
        "encryption": "never" if auth == "basic" and not sim.https else "auto",
        "operation_timeout": 20,
        "read_timeout": 30,
    }
    if sim.https and sim.ca_file:
        options["cert_validation"] = sim.ca_file
    options.update(kwargs)
    address = sim.server_address(server) if server else sim.server_address(next(iter(sim.listeners)))
    return WSMan(address, **options)


def wait_until(predicate: Callable[[], T], timeout: float = 10.0, interval: float = 0.02, message: str = "") -> T:
    """Poll `predicate` until it returns something truthy; raise AssertionError at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(message or f"condition not met within {timeout} s")
        time.sleep(interval)


class ControlError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


class ControlClient:
    """A small client of the JSON control API."""

    def __init__(self, url: str, token: str, timeout: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"

    @classmethod
    def for_simulator(cls, sim: SimulatedExchange) -> "ControlClient":
        return cls(sim.control_url, sim.control_token)

    def close(self) -> None:
        self.session.close()

    def request(self, method: str, path: str, payload: Any = None, **params: Any) -> Any:
        response = self.session.request(method, self.url + path, json=payload, params=params or None, timeout=self.timeout)
        data = response.json() if response.content else None
        if response.status_code >= 400:
            raise ControlError(response.status_code, (data or {}).get("error", response.text))
        return data

    @staticmethod
    def _quote(identity: str) -> str:
        from urllib.parse import quote

        return quote(identity, safe="")

    def state(self) -> dict[str, Any]:
        return self.request("GET", "/state")

    def calls(self, since: int = 0) -> list[dict[str, Any]]:
        return self.request("GET", "/calls", since=since)["calls"]

    def stop_server(self, name: str) -> Any:
        return self.request("POST", f"/servers/{self._quote(name)}/stop")

    def start_server(self, name: str) -> Any:
        return self.request("POST", f"/servers/{self._quote(name)}/start")

    def drop_connections(self, name: str) -> Any:
        return self.request("POST", f"/servers/{self._quote(name)}/drop-connections")

    def latency(self, seconds: float, server: str | None = None) -> Any:
        return self.request("POST", "/latency", {"server": server, "seconds": seconds})

    def deny(self, account: str, cmdlets: list[str]) -> Any:
        return self.request("POST", "/deny", {"account": account, "cmdlets": cmdlets})

    def grant(self, account: str, cmdlets: list[str]) -> Any:
        return self.request("POST", "/grant", {"account": account, "cmdlets": cmdlets})

    def throttle(self, account: str, *, max_sessions: int | None = None, max_cmdlets: int | None = None,
                 period_seconds: int | None = None) -> Any:
        payload: dict[str, Any] = {"account": account}
        if max_sessions is not None:
            payload["max_sessions"] = max_sessions
        if max_cmdlets is not None:
            payload["max_cmdlets"] = max_cmdlets
        if period_seconds is not None:
            payload["period_seconds"] = period_seconds
        return self.request("POST", "/throttle", payload)

    def sync_device(self, identity: str) -> Any:
        return self.request("POST", f"/devices/{self._quote(identity)}/sync")

    def sync_all(self, include_dormant: bool | None = None) -> int:
        payload = None if include_dormant is None else {"include_dormant": include_dormant}
        return self.request("POST", "/sync-all", payload)["synced"]

    def devices(self, *, user: str | None = None, q: str | None = None, access_state: str | None = None,
                offset: int = 0, limit: int = 100) -> dict[str, Any]:
        """A page of the devices Exchange holds: {"total", "offset", "limit", "devices": [...]}, values as stored."""
        params = {"user": user, "q": q, "access_state": access_state, "offset": offset, "limit": limit}
        return self.request("GET", "/devices", **{k: v for k, v in params.items() if v is not None})

    def device(self, identity: str) -> dict[str, Any]:
        return self.request("GET", f"/devices/{self._quote(identity)}")

    def users(self, *, q: str | None = None, offset: int = 0, limit: int = 100) -> dict[str, Any]:
        """A page of the mailboxes: {"total", "offset", "limit", "users": [...]}."""
        params = {"q": q, "offset": offset, "limit": limit}
        return self.request("GET", "/users", **{k: v for k, v in params.items() if v is not None})

    def user(self, identity: str) -> dict[str, Any]:
        return self.request("GET", f"/users/{self._quote(identity)}")

    def add_user(self, **fields: Any) -> Any:
        return self.request("POST", "/users", fields)

    def remove_user(self, identity: str) -> Any:
        return self.request("DELETE", f"/users/{self._quote(identity)}")

    def add_device(self, user: str, **fields: Any) -> Any:
        return self.request("POST", "/devices", {"user": user, **fields})

    def remove_device(self, identity: str) -> Any:
        return self.request("DELETE", f"/devices/{self._quote(identity)}")

    def change_device(self, identity: str, **fields: Any) -> Any:
        return self.request("PATCH", f"/devices/{self._quote(identity)}", fields)

    def reset(self) -> Any:
        return self.request("POST", "/reset")

    def admin_center(self, cmdlet: str, **parameters: Any) -> Any:
        """Change the organization's policy, rules or settings as an Exchange administrator would."""
        return self.request("POST", "/admin-center", {"cmdlet": cmdlet, "parameters": parameters})
