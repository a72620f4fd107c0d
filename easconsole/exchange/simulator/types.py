"""The values the organization (cmdlets) and the protocol layer (WSMan/PSRP) hand each other.

The organization runs pipelines and yields plain values; the protocol layer serialises them to
CLIXML. Neither side knows the other's internals.
"""
from __future__ import annotations

import datetime as dt
import enum
import uuid
from dataclasses import dataclass, field
from typing import Any, Union


@dataclass(frozen=True)
class EnumValue:
    """A .NET enum value: serialised with its type names, read by pypsrp as an object whose str() is the name."""

    type_name: str  # e.g. "Microsoft.Exchange.Data.Directory.SystemConfiguration.DeviceAccessState"
    name: str  # e.g. "Allowed"
    value: int


@dataclass
class Record:
    """One output object: .NET type names (most specific first) and ordered adapted properties.

    Property values may be None, str, bool, int, float, datetime (aware, UTC), timedelta, uuid.UUID,
    EnumValue, or a list of those (serialised as a collection).
    """

    type_names: tuple[str, ...]
    properties: dict[str, Any]
    to_string: str | None = None


@dataclass
class CommandCall:
    """One command of a pipeline, as the client sent it."""

    name: str
    parameters: list[tuple[str | None, Any]] = field(default_factory=list)  # (None, value) = positional
    is_script: bool = False


class ErrorCategory(enum.IntEnum):
    """The PowerShell ErrorCategory values the simulator uses."""

    NotSpecified = 0
    InvalidArgument = 5
    InvalidOperation = 7
    ObjectNotFound = 13
    PermissionDenied = 18
    ResourceUnavailable = 19
    ParserError = 17
    QuotaExceeded = 29  # close enough to Exchange's throttling answer; shown as a category name


@dataclass
class ErrorInfo:
    """An error record as Exchange would write it."""

    message: str
    exception_type: str  # e.g. "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException"
    fq_error_id: str  # e.g. "[Server=EXCAS01,...] 6A2C1E33,Microsoft.Exchange.Management.Tasks.GetMobileDevice"
    category: ErrorCategory = ErrorCategory.NotSpecified
    target: str | None = None
    activity: str | None = None  # the cmdlet name


class CmdletError(Exception):
    """A terminating error: the pipeline ends Failed with this error record."""

    def __init__(self, info: ErrorInfo):
        super().__init__(info.message)
        self.info = info


@dataclass
class NonTerminatingError:
    """Yielded by a pipeline among its output: written to the error stream, the pipeline goes on."""

    info: ErrorInfo


@dataclass
class Warning:
    """Yielded by a pipeline: written to the warning stream."""

    message: str


Output = Union[Record, NonTerminatingError, Warning]


@dataclass
class ExchangeServer:
    """One simulated Exchange server: its identity and the loopback address it listens on."""

    name: str  # "EXCAS01"
    fqdn: str  # reachable: the loopback address the server listens on, e.g. "127.0.0.11"
    roles: tuple[str, ...]  # ("ClientAccess",) or ("Mailbox",) or both
    site: str  # AD site, e.g. "contoso.local/Configuration/Sites/Default-First-Site-Name"
    site_name: str  # short name, e.g. "HQ"
    version: str = "Version 15.1 (Build 2507.6)"
    guid: uuid.UUID = field(default_factory=uuid.uuid4)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)
