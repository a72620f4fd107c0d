"""The gateway's one exception family: every library or PowerShell failure becomes one of these.

`str(error)` is one human sentence naming the cmdlet, the server and why. Nothing here ever holds a
password: messages are built from cmdlet names, server names and Exchange's own error text.
"""
from __future__ import annotations

import re


class ExchangeError(Exception):
    """Base class: something went wrong talking to Exchange.

    Attributes:
        cmdlet: the cmdlet being run ("" when the failure is not tied to one, e.g. opening a session).
        server: the server tried or in use ("" when none was reached).
        reason: why, in Exchange's or the transport's words.
    """

    def __init__(self, cmdlet: str = "", server: str = "", reason: str = "", *, detail: str = "") -> None:
        self.cmdlet = cmdlet
        self.server = server
        self.reason = reason
        self.detail = detail  # the library's own words, for EasDisc.log: never shown on a page
        super().__init__(self._sentence())

    def _sentence(self) -> str:
        what = f"Running {self.cmdlet}" if self.cmdlet else "Talking to Exchange"
        where = f" on {self.server}" if self.server else ""
        reason = self.reason.rstrip(".") if self.reason else "no reason given"
        return f"{what}{where} failed: {reason}."

    def __repr__(self) -> str:
        return f"{type(self).__name__}(cmdlet={self.cmdlet!r}, server={self.server!r}, reason={self.reason!r})"


class ExchangeConnectionError(ExchangeError):
    """Exchange could not be reached or would not let us in.

    `kind` says which: "unreachable" (refused, timed out, reset), "authentication" (HTTP 401: wrong
    account or password, or the auth method is not offered), "tls" (certificate validation or handshake),
    "session" (the runspace pool could not be opened or broke), "configuration" (bad settings).
    """

    def __init__(self, cmdlet: str = "", server: str = "", reason: str = "", *, kind: str = "unreachable",
                 sent_nothing: bool = False, detail: str = "") -> None:
        self.kind = kind
        self.sent_nothing = sent_nothing  # the request surely never reached Exchange: safe to retry a write
        super().__init__(cmdlet, server, reason, detail=detail)


class ExchangeCommandError(ExchangeError):
    """A PowerShell error record: a terminating error (pipeline Failed) or a non-terminating one.

    Attributes:
        fq_error_id: FullyQualifiedErrorId as Exchange wrote it.
        category: the ErrorCategory name (e.g. "ObjectNotFound").
        target: the target object's text (often the identity given).
        exception_type: the .NET exception type (e.g.
            "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException").
        terminating: True when the pipeline ended Failed.
    """

    def __init__(self, cmdlet: str = "", server: str = "", reason: str = "", *, fq_error_id: str = "",
                 category: str = "", target: str | None = None, exception_type: str = "",
                 terminating: bool = False, detail: str = "") -> None:
        self.fq_error_id = fq_error_id
        self.category = category
        self.target = target
        self.exception_type = exception_type
        self.terminating = terminating
        super().__init__(cmdlet, server, reason, detail=detail)


class ExchangeObjectNotFound(ExchangeCommandError):
    """The identity given does not exist (ManagementObjectNotFoundException)."""


class ExchangePermissionError(ExchangeCommandError):
    """The account's RBAC roles do not grant the cmdlet (CommandNotFoundException), or access was denied."""


class ExchangeThrottledError(ExchangeCommandError):
    """Exchange's throttling refused the work (over budget, or too many sessions); retry later.

    Nothing was run: a write refused this way may be sent again. `retry_after` is the wait Exchange
    asked for, in seconds (None when it named none, e.g. the session cap: wait until a session closes).
    """

    def __init__(self, cmdlet: str = "", server: str = "", reason: str = "", *, retry_after: float | None = None,
                 **kwargs) -> None:
        self.retry_after = retry_after
        super().__init__(cmdlet, server, reason, **kwargs)


class ExchangeNotSupportedError(ExchangeError):
    """The operation or environment is not supported by this gateway (e.g. Exchange Online for now)."""


# "wait 12 seconds", "Please wait for 45 seconds", "Suggested backoff time 29734 ms", "Back off for 500 msec",
# "recharged in 30 seconds", "will not be approved for at least 2000 milliseconds", "Actual delayed: 21956 msecs".
_WAIT = re.compile(
    r"(?:wait(?:\s+for)?|back\s*-?off(?:\s+time)?(?:\s+(?:for|of))?|recharged\s+in|at\s+least|"
    r"(?:retry|try\s+again)\s+(?:after|in)|delayed:?)\s+(\d+(?:\.\d+)?)\s*"
    r"(milliseconds?|msecs?|ms|seconds?|secs?|s|minutes?|mins?)\b", re.IGNORECASE)
_UNIT_SECONDS = {"ms": 0.001, "msec": 0.001, "msecs": 0.001, "millisecond": 0.001, "milliseconds": 0.001,
                 "minute": 60.0, "minutes": 60.0, "min": 60.0, "mins": 60.0}


def throttle_wait(text: str) -> float | None:
    """The back-off Exchange asked for in a throttling message, in seconds (None when it names none).

    Only a number after a word of waiting counts, so a policy's period ("10 cmdlets in 60 seconds")
    is never taken for the wait.
    """
    found = _WAIT.search(text or "")
    if found is None:
        return None
    return float(found.group(1)) * _UNIT_SECONDS.get(found.group(2).lower(), 1.0)
