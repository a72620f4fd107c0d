"""The cmdlets of the simulated organization and the registry the Session looks them up in.

Every cmdlet is a generator function `(ctx, params, pipe) -> Iterator[Output]`: `params` holds the bound
parameters under their canonical names, `pipe` the Records of the previous command (None for the first).
Cmdlets take the organization lock only around short reads and writes and never while yielding,
so a slow consumer of a 100,000-device stream does not block other sessions.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator

from ..model import Device, User
from ..params import CmdletDef, Param, UNLIMITED, ambiguous, exchange_error, not_found
from ..records import dc_name
from ..types import CmdletError, ErrorCategory, ErrorInfo, NonTerminatingError, Output, Record, Warning

if TYPE_CHECKING:  # pragma: no cover
    from ..session import Session

CHUNK = 500
RESULT_SIZE_WARNING = (
    "By default, only the first 1000 items are returned. Use the ResultSize parameter to specify the number of "
    "items returned. To return all items, specify \"-ResultSize Unlimited\". Be aware that, depending upon the "
    "actual number of items, returning all items can take a long time and consume a large amount of memory. Also, "
    "we don't recommend storing the results in a variable. Instead, pipe the results to another task or script to "
    "perform batch changes."
)
DEFAULT_RESULT_SIZE = 1000

REGISTRY: dict[str, CmdletDef] = {}


def cmdlet(name: str, *params: Param, confirm: bool = False, should_process: bool | None = None,
           exchange: bool = True, aliases: tuple[str, ...] = ()) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a cmdlet function under `name` (and its aliases, e.g. the *-MobileDevice names)."""
    verb = name.split("-", 1)[0]
    if should_process is None:
        should_process = verb in ("Set", "New", "Remove", "Clear")

    def register(func: Callable[..., Any]) -> Callable[..., Any]:
        for each in (name,) + aliases:
            REGISTRY[each.lower()] = CmdletDef(each, params, func, should_process=should_process,
                                               confirm=confirm, exchange=exchange)
        return func
    return register


@dataclass
class Context:
    """What a running cmdlet may use: the organization (its lock and store) and the calling session."""

    session: "Session"
    name: str

    @property
    def org(self) -> Any:
        return self.session.org

    @property
    def store(self) -> Any:
        return self.session.org.store

    @property
    def lock(self) -> Any:
        return self.session.org.lock

    @property
    def server(self) -> str:
        return self.session.server.name

    @property
    def account(self) -> str:
        return self.session.account

    def now(self) -> int:
        return self.session.org.now()

    def not_found(self, identity: Any) -> NonTerminatingError:
        return NonTerminatingError(not_found(self.name, self.server, identity, dc_name(self.store)))

    def ambiguous(self, identity: Any) -> NonTerminatingError:
        return NonTerminatingError(ambiguous(self.name, self.server, identity))

    def fail(self, info: ErrorInfo) -> CmdletError:
        return CmdletError(info)

    def scope(self, p: dict[str, Any]) -> Callable[[User], bool] | None:
        """Recipient scope: -OrganizationalUnit and the session's RecipientViewRoot (Set-ADServerSettings).

        Returns None when every mailbox is in scope. Users live in one OU per AD site
        ("contoso.com/Users/HQ"); a root of the domain or "contoso.com/Users" covers them all.
        """
        roots = [p["OrganizationalUnit"]] if p.get("OrganizationalUnit") else []
        settings = self.session.ad_settings
        if not p.get("IgnoreDefaultScope") and not settings.get("ViewEntireForest") and settings.get("RecipientViewRoot"):
            roots.append(settings["RecipientViewRoot"])
        allowed: set[str] | None = None
        for root in roots:
            site = ou_site(self, root)
            if site is not None:
                allowed = {site} if allowed is None else allowed & {site}
        if allowed is None:
            return None
        return lambda user: user.site.lower() in allowed  # type: ignore[operator]


def ou_site(ctx: Context, root: Any) -> str | None:
    """The site OU a scope root names (lower case), None for the whole domain; CmdletError if unknown."""
    text = str(root).strip().strip("/").lower()
    domain = ctx.store.domain.lower()
    sites = {s.site_name.lower() for s in ctx.store.servers}
    if text in (domain, f"{domain}/users", "ou=users," + ctx.store.domain_dn.lower()):
        return None
    if text.startswith(f"{domain}/users/"):
        site = text[len(domain) + 7:]
    elif text.startswith("ou="):
        site = text[3:].split(",", 1)[0]
    else:
        site = text
    if site in sites:
        return site
    raise ctx.fail(exchange_error(ctx.name, ctx.server, f"The organizational unit \"{root}\" wasn't found. "
                                  "Please make sure you have typed it correctly.",
                                  "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException",
                                  ErrorCategory.ObjectNotFound, root, "1D2C3B4A"))


def pipe_identities(pipe: Iterable[Record] | None) -> Iterator[tuple[Any, Record | None]]:
    """Identities of the objects piped in (their Identity property), with the object."""
    if pipe is None:
        return
    for record in pipe:
        yield record.properties.get("Identity", record.to_string), record


def one_device(ctx: Context, identity: Any) -> Device | NonTerminatingError:
    """Resolve a device identity under the lock; an error record when none or several match."""
    with ctx.lock:
        found = ctx.store.find_devices(identity)
    if not found:
        return ctx.not_found(identity)
    if len(found) > 1:
        return ctx.ambiguous(identity)
    return found[0]


def one_user(ctx: Context, identity: Any) -> User | NonTerminatingError:
    with ctx.lock:
        found = ctx.store.find_users(identity)
    return found[0] if found else ctx.not_found(identity)


def plain(value: Any) -> Any:
    """The value a filter compares: enum names instead of EnumValue objects."""
    name = getattr(value, "name", None)
    if name is not None and hasattr(value, "type_name"):
        return name
    return value


def limited(ctx: Context, params: dict[str, Any], rows: Iterator[Record]) -> Iterator[Output]:
    """Apply -ResultSize (default 1000, with Exchange's warning when more results exist)."""
    explicit = "ResultSize" in params
    limit = params.get("ResultSize", DEFAULT_RESULT_SIZE) if explicit else DEFAULT_RESULT_SIZE
    count = 0
    for record in rows:
        if limit is not UNLIMITED and count >= limit:
            if not explicit:
                yield Warning(RESULT_SIZE_WARNING)
            return
        count += 1
        yield record


def chunked_keys(keys: list[int]) -> Iterator[list[int]]:
    for start in range(0, len(keys), CHUNK):
        yield keys[start:start + CHUNK]


from . import config, devices, recipients, shell  # noqa: E402,F401  (registers the cmdlets)
