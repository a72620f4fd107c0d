"""One runspace pool's view of the organization: its account, RBAC command set and AD scope, and the
pipeline runner."""
from __future__ import annotations

import collections
from typing import TYPE_CHECKING, Any, Iterable, Iterator

from .cmdlets import REGISTRY, Context
from .params import CmdletDef, bind
from .types import CmdletError, CommandCall, ErrorCategory, ErrorInfo, ExchangeServer, Output, Record

if TYPE_CHECKING:  # pragma: no cover
    from .organization import Organization

NO_LANGUAGE = "The syntax is not supported by this runspace. This can occur if the runspace is in no-language mode."
_CONFIRM_TEXT = {"Clear": "Wiping mobile device", "Remove": "Removing mobile device"}


def _not_recognized(name: str) -> CmdletError:
    return CmdletError(ErrorInfo(
        message=f"The term '{name}' is not recognized as the name of a cmdlet, function, script file, or operable "
        "program. Check the spelling of the name, or if a path was included, verify that the path is correct and "
        "try again.", exception_type="System.Management.Automation.CommandNotFoundException",
        fq_error_id="CommandNotFoundException", category=ErrorCategory.ObjectNotFound, target=name, activity=name))


def _needs_confirmation(defn: CmdletDef, params: dict[str, Any]) -> CmdletError:
    verb = defn.name.split("-", 1)[0]
    target = params.get("Identity") or "(piped objects)"
    action = _CONFIRM_TEXT.get(verb, "Performing the operation") + f' "{target}".'
    if verb == "Remove" and "ActiveSyncDevice" not in defn.name and "MobileDevice" not in defn.name:
        action = f'Removing {defn.name.split("-", 1)[1]} "{target}".'
    return CmdletError(ErrorInfo(
        message="A command that prompts the user failed because the host program or the command type does not "
        "support user interaction. The host was attempting to request confirmation with the following message: "
        f"Are you sure you want to perform this action?\r\n{action}",
        exception_type="System.Management.Automation.Host.HostException", fq_error_id=f"HostException,{defn.name}",
        category=ErrorCategory.ResourceUnavailable, target=str(target), activity=defn.name))


class Session:
    """One runspace pool: runs pipelines as `account` against `server`."""

    module_name = "tmp_exchange_session"  # Exchange's implicit-remoting module name, as Get-Command shows

    def __init__(self, org: "Organization", account: str, server: ExchangeServer):
        self.org = org
        self.account = account
        self.server = server
        self.ad_settings: dict[str, Any] = {"ViewEntireForest": False, "RecipientViewRoot": org.domain}
        self.closed = False

    def commands(self) -> list[str]:
        """Names of the commands this account may run (granted Exchange cmdlets plus built-ins)."""
        denied = self.org.denied_cmdlets(self.account)
        return sorted({d.name for d in REGISTRY.values() if not (d.exchange and d.name.lower() in denied)})

    def run(self, commands: list[CommandCall]) -> Iterator[Output]:
        """Run a pipeline lazily. Raises CmdletError for terminating errors (on the first next())."""
        if self.closed:
            raise CmdletError(ErrorInfo("The runspace pool is closed.", "System.InvalidOperationException",
                                        "RunspacePoolClosed", ErrorCategory.InvalidOperation))
        return self._run(list(commands))

    def _prepare(self, commands: list[CommandCall]) -> list[tuple[CmdletDef, dict[str, Any]]]:
        logged = [self.org.log_call(self.account, self.server.name, call) for call in commands]
        if not commands:
            raise CmdletError(ErrorInfo(NO_LANGUAGE, "System.Management.Automation.ParseException",
                                        "ScriptsNotAllowed", ErrorCategory.ParserError))
        denied = self.org.denied_cmdlets(self.account)
        prepared = []
        for index, call in enumerate(commands):
            if call.is_script:
                raise CmdletError(ErrorInfo(NO_LANGUAGE, "System.Management.Automation.ParseException",
                                            "ScriptsNotAllowed", ErrorCategory.ParserError, target=call.name))
            defn = REGISTRY.get(call.name.strip().lower())
            if defn is None or (defn.exchange and defn.name.lower() in denied):
                raise _not_recognized(call.name)
            params = bind(defn, call, pipeline_input=index > 0)
            if defn.confirm and params.get("Confirm") is not False and not params.get("WhatIf"):
                raise _needs_confirmation(defn, params)
            prepared.append((defn, params))
        exchange = [d for d, _ in prepared if d.exchange]
        if exchange:
            try:
                self.org.budget.charge(self.account, len(exchange), exchange[0].name, self.server.name)
            except CmdletError:
                self.org.mark_calls(logged, throttled=True)  # refused, never run: the call log says so
                raise
        return prepared

    def _run(self, commands: list[CommandCall]) -> Iterator[Output]:
        prepared = self._prepare(commands)
        side: collections.deque[Output] = collections.deque()

        def records_only(items: Iterable[Output]) -> Iterator[Record]:
            # Warnings and errors of an upstream command go straight to the output streams.
            for item in items:
                if isinstance(item, Record):
                    yield item
                else:
                    side.append(item)

        stream: Iterator[Output] | None = None
        for defn, params in prepared:
            ctx = Context(self, defn.name)
            stream = defn.func(ctx, params, records_only(stream) if stream is not None else None)
        assert stream is not None
        for item in stream:
            while side:
                yield side.popleft()
            yield item
        while side:
            yield side.popleft()

    def close(self) -> None:
        self.closed = True
        self.org.session_closed(self)
