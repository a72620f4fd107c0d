"""The gateway: the operations the product needs from Exchange, and their pypsrp transport.

Callers (services, django-q2 tasks, the wizard) build a `ConnectionSettings` from the connector's row,
then:

    with PsrpGateway(settings, known_servers=saved) as exchange:
        for device in exchange.devices():
            ...
        result = exchange.wipe(identity)        # a CommandResult for the audit trail
        saved = exchange.known_servers          # persist for the next failover

Every invocation is built with `add_cmdlet`/`add_parameter` only: never a script, never text built
from input. Every failure is an `ExchangeError` (see errors.py). A gateway instance serves one thread.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Iterable, Iterator, Protocol, Sequence, runtime_checkable

from . import parsing, preflight as preflight_module
from .connection import Connection
from .errors import ExchangeNotSupportedError
from .failover import site_candidates
from .operations import CmdletOperations, _required
from .parallel import ChildReader
from .transport import Command, PipelineOutcome
from .values import (AccessRule, CommandResult, ConnectionSettings, DeviceRecord, DeviceStatistics,
                     MailboxPolicy, OrganizationInfo, OrgSettings, PreflightResult, RecipientInfo, ServerInfo)


@runtime_checkable
class ExchangeGateway(Protocol):
    """The operations the product needs from one Exchange organization."""

    @property
    def current_server(self) -> str | None: ...
    @property
    def current_site(self) -> str | None: ...
    @property
    def known_servers(self) -> list[ServerInfo]: ...

    def open(self) -> "ExchangeGateway": ...
    def close(self) -> None: ...
    def organization(self) -> OrganizationInfo: ...
    def servers(self) -> list[ServerInfo]: ...
    def preflight(self) -> PreflightResult: ...
    def devices(self, *, result_size: str | int = "Unlimited", filter: str | None = None) -> Iterator[DeviceRecord]: ...
    def device_statistics(self, identity: str) -> DeviceStatistics: ...
    def statistics(self, *, filter: str | None = None) -> Iterator[DeviceStatistics]: ...
    def devices_with_statistics(self, *, filter: str | None = None, organizational_unit: str | None = None,
                                statistics_properties: Sequence[str] | None = None, readers: int = 1
                                ) -> Iterator[tuple[DeviceRecord, DeviceStatistics | None]]: ...
    def device_versions(self, *, organizational_unit: str | None = None) -> Iterator[tuple[Any, Any]]: ...
    def mailboxes(self, *, identity: str | None = None, organizational_unit: str | None = None
                  ) -> Iterator[RecipientInfo]: ...
    def recipients(self, *, result_size: str | int = "Unlimited", filter: str | None = None
                   ) -> Iterator[RecipientInfo]: ...
    def recipient(self, identity: str) -> RecipientInfo: ...
    def wipe(self, identity: str, *, notification_addresses: Sequence[str] = (),
             account_only: bool = False) -> CommandResult: ...
    def cancel_wipe(self, identity: str, *, account_only: bool = False) -> CommandResult: ...
    def allow_device(self, mailbox: str, device_id: str) -> CommandResult: ...
    def block_device(self, mailbox: str, device_id: str) -> CommandResult: ...
    def remove_from_lists(self, mailbox: str, device_id: str) -> CommandResult: ...
    def remove_device(self, identity: str) -> CommandResult: ...
    def set_active_sync_enabled(self, mailbox: str, enabled: bool) -> CommandResult: ...
    def access_rules(self) -> list[AccessRule]: ...
    def new_access_rule(self, characteristic: str, query_string: str, access_level: str) -> CommandResult: ...
    def set_access_rule(self, identity: str, access_level: str) -> CommandResult: ...
    def remove_access_rule(self, identity: str) -> CommandResult: ...
    def organization_settings(self) -> OrgSettings: ...
    def set_organization_settings(self, *, default_access_level: str | None = None,
                                  admin_mail_recipients: Sequence[str] | None = None,
                                  user_mail_insert: str | None = None) -> CommandResult: ...
    def mailbox_policies(self) -> list[MailboxPolicy]: ...
    def new_mailbox_policy(self, name: str, params: dict[str, Any]) -> CommandResult: ...
    def set_mailbox_policy(self, identity: str, params: dict[str, Any]) -> CommandResult: ...
    def set_cas_mailbox_policy(self, mailbox: str, policy: str | None) -> CommandResult: ...


class PsrpGateway(CmdletOperations):
    """ExchangeGateway over on-premises Remote PowerShell (pypsrp 0.9.1).

    Args:
        settings: the connector's connection settings.
        known_servers: servers remembered from the last discovery (for failover).
    """

    def __init__(self, settings: ConnectionSettings, known_servers: Iterable[ServerInfo] = ()) -> None:
        if settings.online:
            raise ExchangeNotSupportedError("", "", "Exchange Online is reached through RestGateway (gateway_for)")
        self.settings = settings
        self._connection = Connection(settings, known_servers)

    def __repr__(self) -> str:
        return f"PsrpGateway(sites={self.settings.sites!r}, server={self.current_server!r})"

    # ---- lifecycle and where we are ------------------------------------------------------------------
    def open(self) -> "PsrpGateway":
        """Connect now (through failover) instead of at the first operation."""
        with self._connection.slot():
            self._connection.ensure()
        return self

    def close(self) -> None:
        self._connection.close()

    @property
    def current_server(self) -> str | None:
        return self._connection.failover.current_server

    @property
    def current_site(self) -> str | None:
        return self._connection.failover.current_site

    @property
    def known_servers(self) -> list[ServerInfo]:
        return list(self._connection.failover.known_servers)

    # ---- plumbing ---------------------------------------------------------------------------------------
    def _read(self, cmdlet: str, params: Sequence[tuple[str, Any]] = ()) -> list[dict[str, Any]]:
        rows, _, _ = self._connection.run([(cmdlet, list(params))], write=False)
        return rows

    def _write(self, cmdlet: str, params: Sequence[tuple[str, Any]]) -> tuple[CommandResult, list[dict[str, Any]]]:
        rows, outcome, server = self._connection.run([(cmdlet, list(params))], write=True)
        result = CommandResult(cmdlet=cmdlet, parameters={k: parsing.plain(v) for k, v in params},
                               warnings=tuple(outcome.warnings), server=server)
        return result, rows

    # ---- organization and servers --------------------------------------------------------------------
    def organization(self) -> OrganizationInfo:
        rows = self._read("Get-ActiveSyncOrganizationSettings")
        if not rows:
            raise ExchangeNotSupportedError("Get-ActiveSyncOrganizationSettings", self.current_server or "",
                                            "Exchange returned no organization settings")
        return parsing.organization(rows[0])

    def servers(self) -> list[ServerInfo]:
        servers = [parsing.server(p) for p in self._read("Get-ExchangeServer")]
        if servers:
            self._connection.failover.known_servers = servers
        return servers

    def preflight(self) -> PreflightResult:
        names = [str(p.get("Name") or "") for p in self._read("Get-Command")]
        return preflight_module.evaluate(names, online=self.settings.online)

    # ---- devices ------------------------------------------------------------------------------------------
    @staticmethod
    def _device_query(result_size: str | int = "Unlimited", filter: str | None = None,
                      organizational_unit: str | None = None) -> Command:
        params: list[tuple[str, Any]] = [("ResultSize", result_size)]
        if filter:
            params.append(("Filter", filter))
        if organizational_unit:
            params.append(("OrganizationalUnit", _required("organizational_unit", organizational_unit)))
        return ("Get-ActiveSyncDevice", params)

    def devices(self, *, result_size: str | int = "Unlimited", filter: str | None = None) -> Iterator[DeviceRecord]:
        """Every device partnership (streamed); `filter` is an OPATH filter, e.g. for delta discovery."""
        for props in self._connection.stream([self._device_query(result_size, filter)], fast=True):
            yield parsing.device(props)

    def _statistics_pipeline(self, filter: str | None, organizational_unit: str | None = None,
                             properties: Sequence[str] | None = None) -> list[Command]:
        kept = list(properties or parsing.STATISTICS_PROPERTIES)
        for key in ("Guid", "Identity"):  # the join needs them
            if key not in kept:
                kept.append(key)
        return [self._device_query("Unlimited", filter, organizational_unit), ("Get-ActiveSyncDeviceStatistics", []),
                ("Select-Object", [("Property", kept)])]

    def _device_pipeline(self, filter: str | None, organizational_unit: str | None) -> list[Command]:
        """Get-ActiveSyncDevice | Select-Object <the properties a DeviceRecord is made of>: the same records as
        from the whole objects, with about two thirds of their properties to send and decode."""
        return [self._device_query("Unlimited", filter, organizational_unit),
                ("Select-Object", [("Property", list(parsing.DEVICE_PROPERTIES))])]

    def statistics(self, *, filter: str | None = None) -> Iterator[DeviceStatistics]:
        """Statistics of every device in one streamed pipeline:
        Get-ActiveSyncDevice | Get-ActiveSyncDeviceStatistics | Select-Object <the properties kept>.

        A device that vanishes mid-way (its statistics error record) is skipped and logged, not raised.
        """
        for props in self._connection.stream(self._statistics_pipeline(filter), strict=False, fast=True):
            yield parsing.statistics(props)

    def devices_with_statistics(self, *, filter: str | None = None, organizational_unit: str | None = None,
                                statistics_properties: Sequence[str] | None = None, readers: int = 1
                                ) -> Iterator[tuple[DeviceRecord, DeviceStatistics | None]]:
        """Each device with its statistics: two pipelines streamed side by side and joined by Guid
        (Identity when absent). Both come in Exchange's order, so little is held in memory. Statistics
        missing for a device (it vanished mid-way) give None. ``statistics_properties`` keeps only those
        statistics (the others are None): fewer properties are received much faster.

        ``readers`` is how many sessions read (parallel.py), each taking one of the connector's
        ``max_concurrency`` slots if one is free at that moment: 1, both pipelines on this session;
        2, the statistics read and decoded by a child process on a second session; 3, the devices by a
        second child too, so that this process only joins what they send. Where a child cannot start,
        its pipeline is read on this session.

        The children start at once, before the first record is asked for: a caller may do something
        else meanwhile (discovery reads the mailboxes), their first records waiting in their pipes.
        Close the iterator (or exhaust it) to stop them.
        """
        joined = self._devices_with_statistics(filter, organizational_unit, statistics_properties, readers)
        next(joined)  # to its first yield: the slots taken, the children started
        return joined

    def _devices_with_statistics(self, filter: str | None, organizational_unit: str | None,
                                 statistics_properties: Sequence[str] | None, readers: int
                                 ) -> Iterator[Any]:
        conn = self._connection
        statistics = self._statistics_pipeline(filter, organizational_unit, statistics_properties)
        devices = self._device_pipeline(filter, organizational_unit)
        children: list[ChildReader] = []
        streams: list[Iterator[Any]] = []
        with conn.slot(), conn.spare_slot(readers > 1) as spare, conn.spare_slot(spare and readers > 2) as second:
            try:
                # Both children start at once; if the first cannot read, neither does (no second try).
                stats_reader = self._child_reader(statistics, parse="statistics", elsewhere=True) if spare else None
                device_reader = self._child_reader(devices, parse="device") if stats_reader and second else None
                children = [r for r in (stats_reader, device_reader) if r is not None]
                if stats_reader is not None and not stats_reader.started():
                    stats_reader = None
                    if device_reader is not None:
                        device_reader.close()
                        device_reader = None
                if device_reader is not None and not device_reader.started():
                    device_reader = None
                yield None  # started: the caller's next() returns here

                def here(pipeline: list[Command], to_record, **options) -> Iterator[Any]:
                    rows = conn.stream(pipeline, fast=True, **options)
                    streams.append(rows)
                    return map(to_record, rows)

                yield from _join(iter(device_reader) if device_reader else here(devices, parsing.device),
                                 iter(stats_reader) if stats_reader else here(
                                     statistics, parsing.statistics, strict=False, outcome=PipelineOutcome()))
            finally:
                for stream in streams:
                    stream.close()
                for child in children:
                    child.close()

    def _child_reader(self, pipeline: list[Command], *, parse: str, elsewhere: bool = False) -> ChildReader | None:
        """A pipeline read by a child process on its own session (parallel.py), ``elsewhere``: preferably
        on another Client Access server of the site than this session's; None when it cannot start."""
        conn = self._connection
        conn.ensure()
        settings = self.settings
        current = conn.failover.current
        if elsewhere and current is not None:
            others = [c for c in site_candidates(current.site, settings.sites[current.site], conn.failover.known_servers)
                      if c.kind in ("configured", "cas") and c.address.lower() != current.address.lower()]
            if others:
                settings = dataclasses.replace(settings, sites={current.site: others[0].address, **{
                    site: server for site, server in settings.sites.items() if site != current.site}})
        reader = ChildReader(settings, conn.failover.known_servers, pipeline, parse=parse)
        return reader if reader.start() else None

    def device_versions(self, *, organizational_unit: str | None = None) -> Iterator[tuple[Any, Any]]:
        """(Guid, WhenChanged) of every device, cheaply: Get-ActiveSyncDevice -ResultSize Unlimited |
        Select-Object Guid,WhenChanged (two properties an object: about ten times faster than devices()).
        Delta discovery uses it to find devices Exchange no longer has."""
        query = [self._device_query("Unlimited", None, organizational_unit),
                 ("Select-Object", [("Property", ["Guid", "WhenChanged"])])]
        for props in self._connection.stream(query, fast=True):
            yield parsing.guid(props.get("Guid")), parsing.when(props.get("WhenChanged"))

    # ---- recipients ---------------------------------------------------------------------------------------
    def mailboxes(self, *, identity: str | None = None, organizational_unit: str | None = None
                  ) -> Iterator[RecipientInfo]:
        """Mailboxes with what matching a person needs (UserPrincipalName, which Get-Recipient lacks):
        Get-Mailbox [-Identity <id>] -ResultSize Unlimited | Select-Object <MAILBOX_PROPERTIES>, streamed."""
        params: list[tuple[str, Any]] = [("ResultSize", "Unlimited")]
        if identity is not None:
            params.insert(0, ("Identity", _required("identity", identity)))
        if organizational_unit:
            params.append(("OrganizationalUnit", _required("organizational_unit", organizational_unit)))
        query = [("Get-Mailbox", params), ("Select-Object", [("Property", list(parsing.MAILBOX_PROPERTIES))])]
        for props in self._connection.stream(query, fast=True):
            yield parsing.recipient(props)

    def recipients(self, *, result_size: str | int = "Unlimited", filter: str | None = None) -> Iterator[RecipientInfo]:
        params: list[tuple[str, Any]] = [("ResultSize", result_size)]
        if filter:
            params.append(("Filter", filter))
        for props in self._connection.stream([("Get-Recipient", params)]):
            yield parsing.recipient(props)

    # ---- device actions -------------------------------------------------------------------------------------
    def wipe(self, identity: str, *, notification_addresses: Sequence[str] = (),
             account_only: bool = False) -> CommandResult:
        """Queue a remote wipe (Clear-ActiveSyncDevice); account_only wipes only the mailbox's data
        (Clear-MobileDevice -AccountOnly: Exchange 2016+, devices with EAS 16.1)."""
        params: list[tuple[str, Any]] = [("Identity", _required("identity", identity))]
        if account_only:
            params.append(("AccountOnly", True))
        if notification_addresses:
            params.append(("NotificationEmailAddresses", [str(a) for a in notification_addresses]))
        params.append(("Confirm", False))
        return self._write("Clear-MobileDevice" if account_only else "Clear-ActiveSyncDevice", params)[0]

    def cancel_wipe(self, identity: str, *, account_only: bool = False) -> CommandResult:
        params: list[tuple[str, Any]] = [("Identity", _required("identity", identity)), ("Cancel", True)]
        if account_only:
            params.append(("AccountOnly", True))
        params.append(("Confirm", False))
        return self._write("Clear-MobileDevice" if account_only else "Clear-ActiveSyncDevice", params)[0]

    def remove_device(self, identity: str) -> CommandResult:
        return self._write("Remove-ActiveSyncDevice", [("Identity", _required("identity", identity)),
                                                       ("Confirm", False)])[0]


def gateway_for(settings: ConnectionSettings, known_servers: Iterable[ServerInfo] = ()) -> ExchangeGateway:
    """The gateway for a connection: Exchange Online's REST transport or on-premises Remote PowerShell.
    Callers use what they get the same way (a context manager with the ExchangeGateway operations)."""
    if settings.online:
        from .rest import RestGateway  # imported late: msal is needed only for Exchange Online

        return RestGateway(settings)
    return PsrpGateway(settings, known_servers=known_servers)


def _key(item: DeviceRecord | DeviceStatistics) -> str:
    return str(item.guid) if item.guid is not None else item.identity.lower()


def _join(devices: Iterator[DeviceRecord], stats: Iterator[DeviceStatistics]
          ) -> Iterator[tuple[DeviceRecord, DeviceStatistics | None]]:
    """Join two streams in (mostly) the same order, holding only what is out of step."""
    waiting_stats: dict[str, DeviceStatistics] = {}
    stats_done = False
    for device in devices:
        key = _key(device)
        while key not in waiting_stats and not stats_done:
            stat = next(stats, None)
            if stat is None:
                stats_done = True
                break
            waiting_stats[_key(stat)] = stat
        yield device, waiting_stats.pop(key, None)
