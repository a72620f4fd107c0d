"""Exchange Online's transport: the REST InvokeCommand endpoint the ExchangeOnlineManagement v3 module
uses, signed in app-only through MSAL. The same ExchangeGateway operations as PsrpGateway.

    with gateway_for(settings) as exchange:      # settings.online: a RestGateway
        for device in exchange.devices(): ...

Each call is one cmdlet with structured parameters in a JSON body (never a script). Results come in
pages (`@odata.nextLink`), read one page at a time so memory stays flat in the organization's size.
A 429 is waited out as its Retry-After says (up to MAX_THROTTLE_WAIT in all, then
ExchangeThrottledError); a 401 gets a new token once. The credential is never logged or put in an error.
"""
from __future__ import annotations

import json
import logging
import time
from typing import Any, Iterator, Sequence
from urllib.parse import quote, urlsplit

import requests

from . import online_settings, parsing
from . import preflight as preflight_module
from .errors import (ExchangeCommandError, ExchangeConnectionError, ExchangeError, ExchangeObjectNotFound,
                     ExchangePermissionError, ExchangeThrottledError)
from .gateway import _key
from .operations import CmdletOperations, _required
from .rest_signin import AppSignIn, HttpSession
from .values import (CommandResult, ConnectionSettings, DeviceRecord, DeviceStatistics, OrganizationInfo, PreflightResult,
                     RecipientInfo, ServerInfo)

log = logging.getLogger(__name__)

APP_ANCHOR = "APP:SystemMailbox{bb558c35-97f1-4cb9-8ff7-d53741dc928c}@"
PAGE_SIZE = 1000
MAX_THROTTLE_WAIT = 120.0  # seconds of Retry-After waited out per call before giving up
MODULE_VERSION = "3.7.1"
online_name = online_settings.online_name


def error_text(payload: Any) -> tuple[str, str]:
    """(message, exception type) of a JSON error: details[].message, then innererror, then message.
    Exchange writes "<code>|<exception type>|<text>"; the type decides the exception class."""
    error = payload.get("error") if isinstance(payload, dict) else None
    if not isinstance(error, dict):
        return "", ""
    candidates = [d.get("message") for d in error.get("details") or [] if isinstance(d, dict)]
    inner = (error.get("innererror") or {}).get("internalException") or {}
    candidates += [inner.get("message") if isinstance(inner, dict) else None, error.get("message")]
    message = next((str(m) for m in candidates if m), "")
    parts = message.split("|", 2)
    if len(parts) == 3 and "." in parts[1]:
        return parts[2].strip(), parts[1].strip()
    return message.strip(), ""


class RestGateway(CmdletOperations):
    """ExchangeGateway over Exchange Online's REST InvokeCommand endpoint (app-only sign-in)."""

    def __init__(self, settings: ConnectionSettings) -> None:
        if not settings.online:
            raise ValueError("RestGateway is for Exchange Online settings")
        self.settings = settings
        self.base = online_settings.endpoint_of(settings)
        self.tenant = settings.tenant.strip()
        self._http: requests.Session | None = None
        self._sign_in: AppSignIn | None = None

    def __repr__(self) -> str:
        return f"RestGateway(tenant={self.tenant!r}, endpoint={self.base!r})"

    # ---- lifecycle and where we are ------------------------------------------------------------------
    @property
    def current_server(self) -> str | None:
        return urlsplit(self.base).hostname

    @property
    def current_site(self) -> str | None:
        return None  # no AD sites in Exchange Online

    @property
    def known_servers(self) -> list[ServerInfo]:
        return []

    def open(self) -> "RestGateway":
        """Sign in now (instead of at the first operation): a wrong certificate or app ID fails here."""
        if self._http is None:
            self._http = HttpSession()
            self._http.verify = self.settings.ca_bundle or self.settings.verify_tls
            self._sign_in = AppSignIn(self.settings, self._http)
        try:
            self._access_token()
        except BaseException:
            self.close()  # a failed sign-in leaves no connection behind
            raise
        return self

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None
            self._sign_in = None

    @property
    def tenant_id(self) -> str | None:
        """The tenant's GUID, from the token (None before the sign-in)."""
        return self._sign_in.tenant_id if self._sign_in else None

    def _access_token(self, *, fresh: bool = False) -> str:
        if self._sign_in is None:
            self.open()
        assert self._sign_in is not None
        return self._sign_in.token(fresh=fresh)

    # ---- one cmdlet, page by page ------------------------------------------------------------------------
    def _call(self, cmdlet: str, params: Sequence[tuple[str, Any]] = (), *, select: Sequence[str] = (),
              warnings: list[str] | None = None) -> Iterator[dict[str, Any]]:
        """Run one cmdlet and yield its output objects, following @odata.nextLink one page at a time."""
        name = online_name(cmdlet)
        body = json.dumps({"CmdletInput": {"CmdletName": name,
                                           "Parameters": {k: parsing.plain(v) for k, v in params}}}).encode()
        url = f"{self.base}/adminapi/beta/{quote(self.tenant_id or self.tenant, safe='')}/InvokeCommand"
        if select:
            url += "?$select=" + ",".join(select)
        while url:
            payload = self._post(name, url, body)
            if warnings is not None:
                warnings.extend(str(w) for w in payload.get("@adminapi.warnings") or [])
            yield from payload.get("value") or []
            url = payload.get("@odata.nextLink")

    def _post(self, cmdlet: str, url: str, body: bytes) -> dict[str, Any]:
        if self._http is None:
            self.open()
        assert self._http is not None
        waited, refreshed = 0.0, False
        while True:
            headers = {"Authorization": f"Bearer {self._access_token()}", "Content-Type": "application/json; charset=utf-8",
                       "X-AnchorMailbox": APP_ANCHOR + (self.tenant_id or self.tenant),
                       "Prefer": f"odata.maxpagesize={PAGE_SIZE}", "Accept": "application/json"}
            try:
                response = self._http.post(url, data=body, headers=headers,
                                           timeout=(self.settings.connect_timeout, self.settings.read_timeout))
            except requests.exceptions.RequestException as exc:
                from .transport import error_from_exception  # the same words as the on-premises path

                raise error_from_exception(exc, cmdlet, self.current_server or "") from None
            if response.status_code == 401 and not refreshed:
                refreshed = True  # the token expired or was revoked: sign in again, once
                self._access_token(fresh=True)
                continue
            if response.status_code == 429:
                retry_after = _retry_after(response)
                if waited + retry_after > MAX_THROTTLE_WAIT:
                    raise ExchangeThrottledError(cmdlet, self.current_server or "",
                                                 f"Exchange Online is throttling the application (HTTP 429); "
                                                 f"retry after {retry_after:g} seconds", retry_after=retry_after)
                log.info("%s throttled by Exchange Online; waiting %s s as Retry-After asks", cmdlet, retry_after)
                time.sleep(retry_after)  # the server's own instruction, not a guess
                waited += retry_after
                continue
            if response.status_code >= 400:
                raise self._error(cmdlet, response)
            try:
                return response.json()
            except ValueError:
                raise ExchangeConnectionError(cmdlet, self.current_server or "", "Exchange Online answered with "
                                              "something that is not JSON", kind="session") from None

    def _error(self, cmdlet: str, response: requests.Response) -> ExchangeError:
        server = self.current_server or ""
        try:
            message, exception_type = error_text(response.json())
        except ValueError:
            message, exception_type = "", ""
        message = message or f"HTTP {response.status_code}"
        if response.status_code == 401:
            return ExchangeConnectionError(cmdlet, server, f"Exchange Online refused the application's token "
                                           f"(HTTP 401): {message}", kind="authentication")
        short = exception_type.rsplit(".", 1)[-1]
        if short == "ManagementObjectNotFoundException":
            return ExchangeObjectNotFound(cmdlet, server, message, exception_type=exception_type, terminating=True)
        if short == "CommandNotFoundException" or response.status_code == 403:
            return ExchangePermissionError(cmdlet, server, f"the application is not allowed to run it (its Exchange "
                                           f"role does not grant the cmdlet): {message}",
                                           exception_type=exception_type, terminating=True)
        if response.status_code >= 500:
            return ExchangeConnectionError(cmdlet, server, f"HTTP {response.status_code}: {message}", kind="session")
        return ExchangeCommandError(cmdlet, server, message, exception_type=exception_type, terminating=True)

    def _read(self, cmdlet: str, params: Sequence[tuple[str, Any]] = ()) -> list[dict[str, Any]]:
        return list(self._call(cmdlet, params))

    def _write(self, cmdlet: str, params: Sequence[tuple[str, Any]]) -> tuple[CommandResult, list[dict[str, Any]]]:
        warnings: list[str] = []
        rows = list(self._call(cmdlet, params, warnings=warnings))
        result = CommandResult(cmdlet=online_name(cmdlet), parameters={k: parsing.plain(v) for k, v in params},
                               warnings=tuple(warnings), server=self.current_server or "")
        return result, rows

    # ---- organization ------------------------------------------------------------------------------------
    def organization(self) -> OrganizationInfo:
        """The tenant: its organization name from Exchange, its GUID the tenant ID (one connector per tenant)."""
        rows = self._read("Get-ActiveSyncOrganizationSettings")
        found = parsing.organization(rows[0]) if rows else OrganizationInfo(self.tenant, None, "")
        return OrganizationInfo(found.name, parsing.guid(self.tenant_id) or found.guid, found.distinguished_name)

    def servers(self) -> list[ServerInfo]:
        return []  # no servers to choose in Exchange Online

    def available_cmdlets(self) -> list[str]:
        """The cmdlets Exchange Online lets the application run (what the v3 module downloads)."""
        if self._http is None:
            self.open()
        assert self._http is not None
        url = f"{self.base}/adminapi/v1.0/{quote(self.tenant_id or self.tenant, safe='')}/EXOModuleFile"
        try:
            response = self._http.get(url, params={"Version": MODULE_VERSION}, timeout=self.settings.read_timeout,
                                      headers={"Authorization": f"Bearer {self._access_token()}", "CommandName": "*",
                                               "X-AnchorMailbox": APP_ANCHOR + (self.tenant_id or self.tenant)})
        except requests.exceptions.RequestException as exc:
            from .transport import error_from_exception

            raise error_from_exception(exc, "EXOModuleFile", self.current_server or "") from None
        if response.status_code >= 400:
            raise self._error("EXOModuleFile", response)
        values = response.json().get("value") or [{}]
        return [c.strip() for c in str(values[0].get("exportedCmdlets") or "").split(",") if c.strip()]

    def preflight(self) -> PreflightResult:
        """The required cmdlets (in their Exchange Online names) the application's role does not grant."""
        present = {c.lower() for c in self.available_cmdlets()}
        missing = [online_name(c) for c in preflight_module.required_cmdlets(online=True)
                   if online_name(c).lower() not in present]
        by_online = {online_name(c): g for c, g in preflight_module.ROLE_GROUP_OF.items()}
        for cmdlet in missing:
            preflight_module.easdisc.warning("Invoking cmdlet %s failed", cmdlet,
                                             extra={"cmdlet": cmdlet, "role_group": by_online.get(cmdlet, "")})
        return PreflightResult(missing=missing, role_groups={c: by_online.get(c, "") for c in missing})

    # ---- devices ------------------------------------------------------------------------------------------
    @staticmethod
    def _device_params(result_size: str | int = "Unlimited", filter: str | None = None,
                       organizational_unit: str | None = None) -> list[tuple[str, Any]]:
        params: list[tuple[str, Any]] = [("ResultSize", result_size)]
        if filter:
            params.append(("Filter", filter))
        if organizational_unit:
            params.append(("OrganizationalUnit", _required("organizational_unit", organizational_unit)))
        return params

    def devices(self, *, result_size: str | int = "Unlimited", filter: str | None = None) -> Iterator[DeviceRecord]:
        for props in self._call("Get-ActiveSyncDevice", self._device_params(result_size, filter)):
            yield parsing.device(props)

    def _page_statistics(self, page: list[DeviceRecord]) -> Iterator[DeviceStatistics]:
        """Statistics of one page of devices: one call per mailbox (REST has no pipeline)."""
        seen: set[str] = set()
        for device in page:
            mailbox = device.mailbox or device.identity
            if mailbox.lower() in seen:
                continue
            seen.add(mailbox.lower())
            try:
                rows = self._call("Get-ActiveSyncDeviceStatistics", [("Mailbox", mailbox)])
                for props in rows:
                    yield parsing.statistics(props)
            except ExchangeObjectNotFound:  # the mailbox went away mid-way: its devices get no statistics
                log.info("statistics of %s skipped: the mailbox no longer exists", mailbox)

    def statistics(self, *, filter: str | None = None) -> Iterator[DeviceStatistics]:
        for _, stats in self.devices_with_statistics(filter=filter):
            if stats is not None:
                yield stats

    def devices_with_statistics(self, *, filter: str | None = None, organizational_unit: str | None = None,
                                statistics_properties: Sequence[str] | None = None, readers: int = 1
                                ) -> Iterator[tuple[DeviceRecord, DeviceStatistics | None]]:
        """Each device with its statistics, a page at a time: only one page is held in memory.
        (``readers`` is for Remote PowerShell's parallel reading; REST reads one page at a time.)"""
        page: list[DeviceRecord] = []
        for props in self._call("Get-ActiveSyncDevice", self._device_params("Unlimited", filter, organizational_unit)):
            page.append(parsing.device(props))
            if len(page) >= PAGE_SIZE:
                yield from self._with_statistics(page)
                page = []
        if page:
            yield from self._with_statistics(page)

    def _with_statistics(self, page: list[DeviceRecord]) -> Iterator[tuple[DeviceRecord, DeviceStatistics | None]]:
        by_key = {_key(s): s for s in self._page_statistics(page)}
        for device in page:
            yield device, by_key.get(_key(device))

    def device_versions(self, *, organizational_unit: str | None = None) -> Iterator[tuple[Any, Any]]:
        for props in self._call("Get-ActiveSyncDevice", self._device_params("Unlimited", None, organizational_unit),
                                select=("Guid", "WhenChanged")):
            yield parsing.guid(props.get("Guid")), parsing.when(props.get("WhenChanged"))

    # ---- recipients ---------------------------------------------------------------------------------------
    def mailboxes(self, *, identity: str | None = None, organizational_unit: str | None = None
                  ) -> Iterator[RecipientInfo]:
        params: list[tuple[str, Any]] = [("ResultSize", "Unlimited")]
        if identity is not None:
            params.insert(0, ("Identity", _required("identity", identity)))
        if organizational_unit:
            params.append(("OrganizationalUnit", _required("organizational_unit", organizational_unit)))
        for props in self._call("Get-Mailbox", params, select=parsing.MAILBOX_PROPERTIES):
            yield parsing.recipient(props)

    def recipients(self, *, result_size: str | int = "Unlimited", filter: str | None = None) -> Iterator[RecipientInfo]:
        params: list[tuple[str, Any]] = [("ResultSize", result_size)]
        if filter:
            params.append(("Filter", filter))
        for props in self._call("Get-Recipient", params):
            yield parsing.recipient(props)

    # ---- device actions -------------------------------------------------------------------------------------
    def wipe(self, identity: str, *, notification_addresses: Sequence[str] = (),
             account_only: bool = False) -> CommandResult:
        params: list[tuple[str, Any]] = [("Identity", _required("identity", identity))]
        if account_only:
            params.append(("AccountOnly", True))
        if notification_addresses:
            params.append(("NotificationEmailAddresses", [str(a) for a in notification_addresses]))
        params.append(("Confirm", False))
        return self._write("Clear-MobileDevice", params)[0]

    def cancel_wipe(self, identity: str, *, account_only: bool = False) -> CommandResult:
        params: list[tuple[str, Any]] = [("Identity", _required("identity", identity)), ("Cancel", True)]
        if account_only:
            params.append(("AccountOnly", True))
        params.append(("Confirm", False))
        return self._write("Clear-MobileDevice", params)[0]

    def remove_device(self, identity: str) -> CommandResult:
        return self._write("Remove-MobileDevice", [("Identity", _required("identity", identity)), ("Confirm", False)])[0]

    # ---- access rules, organization settings, mailbox policies -------------------------------------------



def _retry_after(response: requests.Response) -> float:
    try:
        return max(0.0, float(response.headers.get("Retry-After", "")))
    except ValueError:
        return 5.0
