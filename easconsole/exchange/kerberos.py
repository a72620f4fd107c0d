"""Kerberos for a connector's connection account, with each connector's configuration its own.

The ticket comes from the connector's user name and password (gssapi's
`acquire_cred_with_password`): nothing needs a keytab or `kinit` on the host, and the host's
/etc/krb5.conf is neither read nor changed. A keytab of the account is the option without a password
(`ConnectionSettings.keytab`).

Why this shape: MIT Kerberos reads its configuration from the file named by `KRB5_CONFIG`, a variable
of the whole process, while a worker serves several connectors from threads. So the process has one
generated krb5.conf that lists every realm (with its KDCs, or none: then DNS SRV records find them)
and every server -> realm mapping that any connector of this process has used; it only ever grows, and
each new version is a new file, so a thread that has already read the old one is never surprised.
What must not be shared is kept per connector: its own credential cache (a FILE ccache named after the
connector, written with `store_cred_into` and read back with `acquire_cred_from`, never the default
ccache), handed to pypsrp/pyspnego as a `KerberosCCache` credential instead of the password.

`ensure_ticket` runs before a session is opened: it gets (or reuses) the ticket-granting ticket, then
the service ticket for `HTTP/<server>`, so every failure is found here, where the principal, realm,
KDC and server are known, and is explained in words with what to do.
"""
from __future__ import annotations

import atexit
import contextlib
import hashlib
import hmac
import os
import re
import secrets
import shutil
import tempfile
import threading
from typing import Any, Iterator

from .errors import ExchangeConnectionError
from .values import ConnectionSettings

DEBIAN_PACKAGES = ("krb5-user", "libkrb5-dev")
PYTHON_PACKAGES = ("gssapi", "krb5")
RENEW_BEFORE_SECONDS = 300  # a ticket with less left than this is fetched again
KDC_PATTERN = re.compile(r"^(?=.{1,253}(:\d{1,5})?$)[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:\d{1,5})?$")
REALM_PATTERN = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$")

_SALT = secrets.token_bytes(16)  # passwords are remembered only as HMACs with this per-process key


def unavailable_reason() -> str | None:
    """None when Kerberos can be used here; otherwise what to install, in words."""
    try:
        import gssapi  # noqa: F401
        import krb5  # noqa: F401
        from spnego._gss import HAS_GSSAPI
    except ImportError as error:
        missing = getattr(error, "name", None) or str(error)
        return (f"Kerberos is not available on this server (the Python package {missing} is missing): install "
                f"Debian's {' and '.join(DEBIAN_PACKAGES)}, then the pinned {' and '.join(PYTHON_PACKAGES)} "
                f"(python3 -m easconsole.bootstrap does both)")
    if not HAS_GSSAPI:
        return "Kerberos is not available: pyspnego could not load gssapi and krb5"
    return None


def realm_for(username: str, realm: str = "") -> str:
    """The realm to use: the one given, else the domain of a user@domain account, in capitals."""
    if realm.strip():
        return realm.strip().upper()
    if "@" in username:
        return username.rpartition("@")[2].strip().upper()
    return ""


def principal_for(username: str, realm: str = "") -> str:
    """`user@REALM` for CONTOSO\\user, user@contoso.com or user, with `realm` when given.

    Raises ValueError in words when no realm can be found.
    """
    name = username.strip()
    user = name.rpartition("\\")[2] if "\\" in name else name.partition("@")[0]
    if not user:
        raise ValueError("Kerberos needs the connection account's user name")
    found = realm_for(name, realm)
    if not found:
        domain = name.partition("\\")[0] if "\\" in name else ""
        raise ValueError(
            (f"{name} names the NetBIOS domain {domain}, which is not a Kerberos realm: " if domain else "")
            + "give the Kerberos realm (the Active Directory DNS domain in capitals, e.g. CONTOSO.COM) or write "
              "the account as user@contoso.com")
    if not REALM_PATTERN.match(found):
        raise ValueError(f"{found} is not a Kerberos realm (letters, digits, dots and hyphens, e.g. CONTOSO.COM)")
    return f"{user}@{found}"


def parse_kdcs(text: str) -> list[str]:
    """KDCs given as "dc1.contoso.com, dc2.contoso.com:88" (empty: found through DNS). Raises ValueError."""
    kdcs = [item for item in re.split(r"[\s,;]+", text or "") if item]
    bad = [item for item in kdcs if not KDC_PATTERN.match(item) or int(item.partition(":")[2] or 88) > 65535]
    if bad:
        raise ValueError(f"not a KDC name or name:port: {', '.join(bad)}")
    return kdcs


# ---- the process's krb5.conf -----------------------------------------------------------------------
class _Configuration:
    """The generated krb5.conf of this process (see the module's docstring)."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.realms: dict[str, list[str]] = {}
        self.hosts: dict[str, str] = {}
        self.path: str | None = None
        self.tickets: dict[str, bytes] = {}  # ccache -> HMAC of the password that filled it
        self._directory: str | None = None
        self._pid = 0

    @property
    def directory(self) -> str:
        return self._own_directory()

    def _own_directory(self) -> str:
        """This process's private directory (mode 0700: ccaches hold tickets). A forked worker (django-q2)
        gets its own, so one worker's exit never removes another's configuration or tickets."""
        with self.lock:
            if self._directory is None or self._pid != os.getpid():
                self._directory, self._pid = tempfile.mkdtemp(prefix="easconsole-krb5-"), os.getpid()
                self.path = None
                self.tickets.clear()
                atexit.register(_remove, self._directory, self._pid)
            return self._directory

    def activate(self) -> None:
        """Point this process at the generated configuration (written once, even with no realm yet)."""
        with self.lock:
            self._own_directory()
            if self.path is None:
                self._write()

    def register(self, realm: str, kdcs: list[str], host: str) -> None:
        with self.lock:
            self._own_directory()  # a forked process starts its own directory (and file) here
            known = self.realms.setdefault(realm, [])
            changed = self.path is None or self.hosts.get(host.lower()) != realm
            for kdc in kdcs:
                if kdc not in known:
                    known.append(kdc)
                    changed = True
            self.hosts[host.lower()] = realm
            if changed:
                self._write()

    def text(self) -> str:
        lines = ["[libdefaults]",
                 "    dns_lookup_kdc = true", "    dns_lookup_realm = false",
                 # The SPN is HTTP/<the name the connector was given>, as Windows clients build it.
                 "    dns_canonicalize_hostname = false", "    rdns = false",
                 "    udp_preference_limit = 1",  # TCP: Active Directory tickets carry a PAC too large for UDP
                 f"    default_ccache_name = FILE:{self.directory}/ccache-unused",
                 "", "[realms]"]
        for realm, kdcs in sorted(self.realms.items()):
            lines += [f"    {realm} = {{", *(f"        kdc = {kdc}" for kdc in kdcs), "    }"]
        lines += ["", "[domain_realm]", *(f"    {host} = {realm}" for host, realm in sorted(self.hosts.items()))]
        return "\n".join(lines) + "\n"

    def _write(self) -> None:
        text = self.text()
        path = os.path.join(self.directory, f"krb5-{hashlib.sha256(text.encode()).hexdigest()[:12]}.conf")
        if not os.path.exists(path):
            tmp = f"{path}.tmp"
            with open(tmp, "w", encoding="utf-8") as handle:
                handle.write(text)
            os.replace(tmp, path)
        self.path = path
        os.environ["KRB5_CONFIG"] = path


def _remove(directory: str, pid: int) -> None:
    if os.getpid() == pid:
        shutil.rmtree(directory, ignore_errors=True)


configuration = _Configuration()
# Getting tickets is serialised in the process (it takes milliseconds): under concurrent
# acquire/store in two threads, MIT's FILE ccache was seen missing right after it was written.
_acquire_lock = threading.Lock()
_NO_CCACHE = 2529639107  # KRB5_FCC_NOFILE, "No credentials cache found"


@contextlib.contextmanager
def opening(settings: ConnectionSettings) -> Iterator[None]:
    """Around a Kerberos session's first requests, where pyspnego reads the connector's ccache: one at a
    time in the process, as tickets are fetched. MIT's FILE ccaches, read and written by two threads at
    once, were seen missing ("No credentials cache found") about once in six tries with two realms."""
    if settings.auth != "kerberos":
        yield
        return
    with _acquire_lock:
        yield


def ccache_for(settings: ConnectionSettings) -> str:
    """The connector's own credential cache (a FILE ccache in this process's private directory)."""
    key = "|".join((*settings.connector_key, settings.realm.upper(), settings.kdc.lower(), settings.keytab or ""))
    return f"FILE:{configuration.directory}/ccache-{hashlib.sha256(key.encode()).hexdigest()[:16]}"


def pypsrp_options(settings: ConnectionSettings) -> dict[str, Any]:
    """What pypsrp's WSMan needs for Kerberos (and Negotiate, which may use it): the SPN's service, and
    for Kerberos the connector's ticket cache instead of the password."""
    options: dict[str, Any] = {"negotiate_service": "HTTP"}  # Exchange's /PowerShell runs in IIS: not pypsrp's WSMAN/
    if settings.auth != "kerberos":
        return options
    import spnego

    try:
        principal: str | None = principal_for(settings.username, settings.realm)
    except ValueError:  # ensure_ticket refuses such settings before any connection: keep this function pure
        principal = None
    return {**options, "username": [spnego.KerberosCCache(ccache=ccache_for(settings), principal=principal)],
            "password": None}


def prepare(settings: ConnectionSettings, server: str, name: str | None = None) -> None:
    """Before a session opens: Kerberos gets its tickets; Negotiate gets the generated configuration too,
    so its Kerberos attempt never reads the host's /etc/krb5.conf (and its default realm) before NTLM."""
    if settings.auth == "kerberos":
        ensure_ticket(settings, server, name)
    elif settings.auth == "negotiate" and unavailable_reason() is None:
        configuration.activate()


def ensure_ticket(settings: ConnectionSettings, server: str, name: str | None = None) -> None:
    """Make sure the connector's ccache holds a valid ticket for its account and for HTTP/<server>.

    Raises ExchangeConnectionError whose reason says what went wrong and what to do; its kind is
    "authentication" only when the account or its password was refused (see `error_kind`).
    """
    name = name or server
    missing = unavailable_reason()
    if missing:
        raise ExchangeConnectionError("", name, missing, kind="configuration")
    try:
        principal = principal_for(settings.username, settings.realm)
        kdcs = parse_kdcs(settings.kdc)
    except ValueError as error:
        raise ExchangeConnectionError("", name, str(error), kind="configuration") from None
    if not settings.password and not settings.keytab:
        raise ExchangeConnectionError("", name, "Kerberos needs the connection account's password (or a keytab)",
                                      kind="configuration")
    realm = principal.rpartition("@")[2]
    configuration.register(realm, kdcs, server)
    ccache = ccache_for(settings)
    with _acquire_lock:
        for attempt in (1, 2):
            stage = "account"
            try:
                if settings.keytab:
                    _ticket_from_keytab(principal, settings.keytab, ccache)
                else:
                    _ticket_granting_ticket(principal, settings.password, ccache)
                stage = "service"
                _service_ticket(principal, ccache, f"HTTP/{server}@{realm}")
                return
            except Exception as error:  # gssapi's GSSError family: explained in words
                if attempt == 1 and getattr(error, "min_code", None) == _NO_CCACHE:
                    configuration.tickets.pop(ccache, None)  # the ccache vanished: get the ticket again, once
                    continue
                reason = explain(error, principal=principal, realm=realm, kdcs=kdcs, server=server, stage=stage)
                raise ExchangeConnectionError("", name, reason, kind=error_kind(error)) from None


def _store(**entries: str) -> dict[bytes, bytes]:
    """A credential store as bytes, held by the caller for the whole call: given str, python-gssapi
    encodes them into objects that may be freed before MIT reads them, and under threads MIT then
    wrote a ccache named after whatever was in that memory (files with garbage names appeared, and
    "No credentials cache found" a third of the time with two realms)."""
    return {key.encode(): value.encode() for key, value in entries.items()}


def _ticket_granting_ticket(principal: str, password: str, ccache: str) -> None:
    import gssapi
    import gssapi.raw

    fingerprint = hmac.new(_SALT, password.encode(), hashlib.sha256).digest()
    tickets = configuration.tickets
    if tickets.get(ccache) == fingerprint and _lifetime(principal, ccache) > RENEW_BEFORE_SECONDS:
        return
    tickets.pop(ccache, None)
    client = gssapi.Name(principal, gssapi.NameType.kerberos_principal)
    acquired = gssapi.raw.acquire_cred_with_password(client, password.encode(), usage="initiate",
                                                     mechs=[gssapi.MechType.kerberos])
    store = _store(ccache=ccache)
    gssapi.raw.store_cred_into(store, acquired.creds, usage="initiate", mech=gssapi.MechType.kerberos,
                               overwrite=True, set_default=False)
    tickets[ccache] = fingerprint


def _ticket_from_keytab(principal: str, keytab: str, ccache: str) -> None:
    """The option without a stored password: MIT gets the ticket from the keytab into the ccache itself."""
    import gssapi

    if not os.path.exists(keytab):
        raise FileNotFoundError(f"the keytab {keytab} does not exist")
    store = _store(client_keytab=f"FILE:{keytab}", ccache=ccache)
    gssapi.Credentials(name=gssapi.Name(principal, gssapi.NameType.kerberos_principal), usage="initiate",
                       store=store).lifetime  # noqa: B018 - acquires


def _lifetime(principal: str, ccache: str) -> int:
    import gssapi

    store = _store(ccache=ccache)
    try:
        creds = gssapi.Credentials(name=gssapi.Name(principal, gssapi.NameType.kerberos_principal), usage="initiate",
                                   store=store)
        return int(creds.lifetime or 0)
    except gssapi.exceptions.GSSError:
        return 0


def _service_ticket(principal: str, ccache: str, service: str) -> None:
    """Ask the KDC for `service` (HTTP/<server>@REALM) now, so its failures are found here and named.

    The realm is explicit: a host-based name would let MIT fall back to the host's realm after a
    failure, hiding the KDC's reason (an unknown SPN, a clock skew) behind "no default realm".
    """
    import gssapi

    store = _store(ccache=ccache)
    creds = gssapi.Credentials(name=gssapi.Name(principal, gssapi.NameType.kerberos_principal), usage="initiate",
                               store=store)
    target = gssapi.Name(service, gssapi.NameType.kerberos_principal)
    gssapi.SecurityContext(name=target, creds=creds, usage="initiate", mech=gssapi.MechType.kerberos).step()


# ---- errors in words ---------------------------------------------------------------------------------
_KRB5 = 2529638912  # MIT's krb5 error table base, as gssapi's unsigned minor status
_FAILURES = (  # (minor codes, words in the message, explanation)
    ((_KRB5 + 37,), ("clock skew too great",), "skew"),
    ((_KRB5 + 24, _KRB5 + 31), ("preauthentication failed", "integrity check on decrypted field failed",
                                "password incorrect"), "password"),
    ((_KRB5 + 6,), ("client", "not found in kerberos database"), "client"),
    ((_KRB5 + 7,), ("server not found in kerberos database",), "spn"),
    ((_KRB5 + 18,), ("revoked", "credentials have been revoked"), "revoked"),
    ((_KRB5 + 23,), ("password has expired",), "expired"),
    ((_KRB5 + 156,), ("cannot contact any kdc",), "unreachable"),
    ((_KRB5 + 154,), ("cannot find kdc for realm",), "no-kdc"),
    ((_KRB5 + 224,), ("does not specify default realm",), "no-realm"),
)


def classify(error: BaseException) -> str | None:
    """Which Kerberos failure `error` is ("skew", "password", "client", "spn", ...), or None."""
    codes, texts, item = set(), [], error
    while item is not None:
        codes.add(getattr(item, "min_code", None))
        texts.append(str(item).lower())
        item = item.__cause__ or item.__context__ or getattr(item, "base_error", None)
    text = " ".join(texts)
    for numbers, words, kind in _FAILURES:
        if codes & set(numbers):
            return kind
    for numbers, words, kind in _FAILURES:
        if kind == "client":
            if all(w in text for w in words) and "server not found" not in text:
                return kind
        elif any(w in text for w in words):
            return kind
    return None


def error_kind(error: BaseException) -> str:
    """"authentication" when the domain refused the account itself (the console then stops its hourly
    retries, which would lock the account out); "configuration" for the domain's side (SPN, KDC, clock):
    another Exchange server would fail the same way, so failover stops, but retries go on."""
    return "authentication" if classify(error) in ("password", "client", "revoked", "expired") else "configuration"


def explain(error: BaseException, *, principal: str, realm: str, kdcs: list[str], server: str,
            stage: str = "account") -> str:
    """A Kerberos failure as a sentence an administrator can act on (`stage`: "account" while getting the
    account's ticket, "service" while getting the one for HTTP/<server>)."""
    where = f"the KDC {', '.join(kdcs)}" if kdcs else f"the KDCs that DNS names for {realm} (_kerberos._tcp.{realm.lower()})"
    words = {
        "skew": f"Kerberos refused the request because the clocks differ too much (clock skew too great) between "
                f"this server and {where}: synchronise this server's clock with the domain (NTP); Kerberos allows 5 minutes",
        "password": f"{where} refused the password of {principal} (pre-authentication failed): correct the "
                    f"connection account's password; repeated attempts can lock the account out",
        "client": f"{where} does not know the account {principal}: check the user name and the realm {realm}",
        "spn": f"the domain has no service principal HTTP/{server} (SPN) for this server: register it on the "
               f"Exchange server's computer account (setspn -S HTTP/{server} <computer>) or on the CAS array's "
               f"alternate service account, or connect with the name that has the SPN",
        "revoked": f"the account {principal} is disabled or locked out in {realm}: enable or unlock it",
        "expired": f"the password of {principal} has expired: set a new one in the domain and here",
        "unreachable": f"no KDC of {realm} answered ({where}): check that a domain controller is reachable on "
                       f"TCP port 88, or give the KDC explicitly",
        "no-kdc": f"no KDC of {realm} was found: DNS has no _kerberos._tcp.{realm.lower()} SRV record; give the KDC "
                  f"(a domain controller) explicitly or check the realm",
        "no-realm": f"no realm is known for {server}: give the connector's Kerberos realm",
    }
    kind = classify(error)
    if kind:
        return words[kind]
    if isinstance(error, FileNotFoundError):
        return f"{error}: give the path of a keytab with the keys of {principal}"
    detail = " ".join(str(error).split())[:300]
    return f"Kerberos failed for {principal} ({detail})"
