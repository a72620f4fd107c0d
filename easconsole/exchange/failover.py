"""Failover: which Exchange server to open a session on.

For each AD site, in the order the connector lists them:
1. the configured Client Access Server (or CAS array name);
2. if it cannot be reached, another CAS of that site, found with Get-ExchangeServer: from what the
   last successful discovery remembered (`known_servers`, which the console persists), or else asked
   through the configured CAS of another site that answers;
3. if no CAS of the site answers, a mailbox server of that site.

Each failed attempt logs the warning `Failed to open runspace for site <site>` on the
`easconsole.easdisc` logger (EasDisc.log), with the server and reason in the record's `extra`
(`server`, `address`, `reason`) and on a following line. Authentication failures, throttling and
bad settings are not "unreachable": they raise at once instead of trying other servers.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator

from .errors import ExchangeConnectionError, ExchangeError, ExchangeThrottledError
from .parsing import server as parse_server
from .transport import Session
from .values import ConnectionSettings, ServerInfo

easdisc = logging.getLogger("easconsole.easdisc")
log = logging.getLogger(__name__)

SessionFactory = Callable[[ConnectionSettings, str, str], Session]


@dataclass(frozen=True)
class Candidate:
    site: str
    address: str  # what to connect to (FQDN or IP)
    name: str  # for messages: the server's name when known
    kind: str  # "configured", "cas" or "mailbox"


def _same(a: str, b: str) -> bool:
    return a.strip().rstrip(".").lower() == b.strip().rstrip(".").lower()


def site_candidates(site: str, configured: str, known: Iterable[ServerInfo]) -> list[Candidate]:
    """The servers to try for one site, in order (pure: from the settings and what discovery knew)."""
    known = list(known)
    by_address = next((s for s in known if _same(s.fqdn, configured) or _same(s.name, configured)), None)
    out = [Candidate(site, configured, by_address.name if by_address else configured, "configured")]
    in_site = [s for s in known if _same(s.site, site) and s.fqdn and not (_same(s.fqdn, configured) or
                                                                           _same(s.name, configured))]
    out += [Candidate(site, s.fqdn, s.name, "cas") for s in in_site if s.is_client_access]
    out += [Candidate(site, s.fqdn, s.name, "mailbox") for s in in_site if s.is_mailbox and not s.is_client_access]
    return out


class Failover:
    """Opens a session on the first server that answers, following the order above.

    Args:
        settings: the connector's settings (sites in order).
        known_servers: servers remembered from an earlier discovery (Get-ExchangeServer).
        prepare: run on every newly opened session before it is used (e.g. Set-ADServerSettings).
        session_factory: builds a Session (tests may replace it).
    """

    def __init__(self, settings: ConnectionSettings, known_servers: Iterable[ServerInfo] = (),
                 prepare: Callable[[Session], None] | None = None,
                 session_factory: SessionFactory | None = None) -> None:
        self.settings = settings
        self.known_servers: list[ServerInfo] = list(known_servers)
        self.prepare = prepare
        self.session_factory: SessionFactory = session_factory or Session
        self.current: Candidate | None = None
        self.attempts: list[tuple[Candidate, ExchangeError]] = []  # the failed attempts of the last connect()

    @property
    def current_server(self) -> str | None:
        return self.current.name if self.current else None

    @property
    def current_site(self) -> str | None:
        return self.current.site if self.current else None

    def connect(self) -> Session:
        """A prepared, open session. Raises ExchangeConnectionError when no server of any site answers."""
        self.attempts = []
        self.current = None
        for site, configured in self.settings.sites.items():
            tried: set[str] = set()
            session = self._try_all(self._site_plan(site, configured), tried)
            if session is not None:
                self._refresh_servers(session)
                return session
        tried_names = ", ".join(f"{c.name} ({c.site})" for c, _ in self.attempts) or "none"
        last = self.attempts[-1][1].reason if self.attempts else "no server is configured"
        kinds = {getattr(e, "kind", "unreachable") for _, e in self.attempts}
        raise ExchangeConnectionError("", tried_names, f"no Exchange server answered in any AD site; last error: {last}",
                                      kind=kinds.pop() if len(kinds) == 1 else "unreachable")

    def _site_plan(self, site: str, configured: str) -> Iterator[Candidate]:
        """Candidates of one site, discovering the site's other servers only when the configured one fails."""
        first, *rest = site_candidates(site, configured, self.known_servers)
        yield first
        if not rest and not self._knows_site(site):
            self._discover_elsewhere(site)
            first, *rest = site_candidates(site, configured, self.known_servers)
        yield from rest

    def _try_all(self, plan: Iterator[Candidate], tried: set[str]) -> Session | None:
        for candidate in plan:
            if candidate.address.lower() in tried:
                continue
            tried.add(candidate.address.lower())
            session = self._try(candidate)
            if session is not None:
                self.current = candidate
                return session
        return None

    def _try(self, candidate: Candidate, *, log_failure: bool = True) -> Session | None:
        session = self.session_factory(self.settings, candidate.address, candidate.name)
        try:
            session.open()
            if self.prepare is not None:
                self.prepare(session)
            return session
        except ExchangeConnectionError as exc:
            session.close()  # a session that failed while being prepared still has its pool on the server
            if exc.kind in ("authentication", "configuration"):
                raise  # another server will not accept a wrong password either
            self._failed(candidate, exc, log_failure)
        except ExchangeThrottledError:
            session.close()
            raise  # the session limit is per account, across servers
        except ExchangeError as exc:
            session.close()
            self._failed(candidate, exc, log_failure)
        return None

    def _failed(self, candidate: Candidate, error: ExchangeError, log_failure: bool) -> None:
        reason = error.reason
        if not log_failure:  # a discovery probe, not an attempt to serve the site
            log.info("discovery through %s failed: %s", candidate.name, reason)
            return
        self.attempts.append((candidate, error))
        extra = {"site": candidate.site, "server": candidate.name, "address": candidate.address,
                 "candidate_kind": candidate.kind, "reason": reason}
        easdisc.warning("Failed to open runspace for site %s", candidate.site, extra=extra)
        easdisc.warning("Server %s (%s, %s) could not be used: %s", candidate.name, candidate.address,
                        candidate.kind, reason, extra=extra)

    # ---- discovery -------------------------------------------------------------------------------
    def _knows_site(self, site: str) -> bool:
        return any(_same(s.site, site) for s in self.known_servers)

    def _discover_elsewhere(self, site: str) -> None:
        """Learn the servers through the configured CAS of another site (the first that answers)."""
        for other_site, configured in self.settings.sites.items():
            if other_site == site:
                continue
            candidate = Candidate(other_site, configured, configured, "configured")
            session = self._try(candidate, log_failure=False)
            if session is None:
                continue
            try:
                self._refresh_servers(session)
            finally:
                session.close()
            if self._knows_site(site):
                return

    def _refresh_servers(self, session: Session) -> None:
        """Remember every server Get-ExchangeServer reports (kept when the account may not run it)."""
        try:
            servers = [parse_server(p) for p in session.stream([("Get-ExchangeServer", [])])]
        except ExchangeError as exc:
            log.info("server discovery through %s failed: %s", session.name, exc.reason)
            return
        if servers:
            self.known_servers = servers
            if self.current is not None and self.current.kind == "configured":
                match = next((s for s in servers if _same(s.fqdn, self.current.address)), None)
                if match is not None:
                    self.current = Candidate(self.current.site, self.current.address, match.name, "configured")
                    session.name = match.name
