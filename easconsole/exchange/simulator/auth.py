"""HTTP authentication for the simulated endpoint: Basic, NTLM/Negotiate and Kerberos, with message encryption.

NTLM is connection-oriented: the security context lives on the TCP connection (the handler keeps
a `ConnectionAuth`), and once complete every request and response body on that connection may be
wrapped in `multipart/encrypted` (MS-WSMV 2.2.9.1), which pypsrp uses by default over HTTP.

pyspnego's pure-Python NTLM acceptor only reads passwords from the file named by the process-wide
`NTLM_USER_FILE` variable. `NtlmUserFile` owns one such file per process and writes the line for
an account (taken from `org.password_for`) just before the acceptor needs it, so several simulated
organizations can share a process.

Kerberos is accepted with a keytab holding `HTTP/<server address>` keys (see `kdc.py`): pyspnego's
GSSAPI acceptor only reads the default keytab, so the process-wide `KRB5_KTNAME` names it. The
client's principal (`user@REALM`) is mapped to the organization's account by its user part.
"""
from __future__ import annotations

import atexit
import base64
import binascii
import os
import re
import struct
import tempfile
import threading
from dataclasses import dataclass, field
from typing import Any, Protocol

import spnego
from spnego.exceptions import SpnegoError

SPNEGO_ENCRYPTED = "application/HTTP-SPNEGO-session-encrypted"
BOUNDARY = "Encrypted Boundary"
NTLMSSP = b"NTLMSSP\x00"


class PasswordSource(Protocol):
    def check_password(self, account: str, password: str) -> bool: ...
    def password_for(self, account: str) -> str | None: ...
    def canonical_account(self, account: str) -> str | None: ...


class NtlmUserFile:
    """The process-wide NTLM_USER_FILE pyspnego's acceptor reads (smbpasswd format: hashes, so any password works)."""

    _instance: "NtlmUserFile | None" = None
    _class_lock = threading.Lock()

    def __init__(self) -> None:
        handle, self.path = tempfile.mkstemp(prefix="easconsole-ntlm-", suffix=".txt")
        os.close(handle)
        self._entries: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()
        os.environ["NTLM_USER_FILE"] = self.path
        atexit.register(self._remove)

    def _remove(self) -> None:
        try:
            os.unlink(self.path)
        except OSError:
            pass

    @classmethod
    def shared(cls) -> "NtlmUserFile":
        with cls._class_lock:
            if cls._instance is None or not os.path.exists(cls._instance.path):
                cls._instance = cls()
            os.environ["NTLM_USER_FILE"] = cls._instance.path
            return cls._instance

    def ensure(self, domain: str, user: str, password: str) -> None:
        from spnego._ntlm_raw.crypto import lmowfv1, ntowfv1  # pyspnego's MD4; hashlib lacks it on OpenSSL 3

        key = (domain.upper(), user.upper())
        line = "%s:0:%s:%s:[U]:LCT-0" % (
            f"{domain}\\{user}" if domain else user,
            binascii.hexlify(lmowfv1(password)).decode().upper(),
            binascii.hexlify(ntowfv1(password)).decode().upper(),
        )
        with self._lock:
            if self._entries.get(key) == line:
                return
            self._entries[key] = line
            tmp = self.path + ".tmp"
            with open(tmp, "w", encoding="utf-8") as handle:
                handle.write("\n".join(self._entries.values()) + "\n")
            os.replace(tmp, self.path)


def ntlm_identity(token: bytes) -> tuple[str, str] | None:
    """(domain, user) from an NTLM AUTHENTICATE message, raw or inside SPNEGO."""
    start = token.find(NTLMSSP)
    if start < 0:
        return None
    msg = token[start:]
    if len(msg) < 64 or struct.unpack("<I", msg[8:12])[0] != 3:
        return None
    flags = struct.unpack("<I", msg[60:64])[0]
    encoding = "utf-16-le" if flags & 1 else "cp437"

    def field_at(offset: int) -> str:
        length, _max, pos = struct.unpack("<HHI", msg[offset : offset + 8])
        return msg[pos : pos + length].decode(encoding, errors="replace")

    return field_at(28), field_at(36)


@dataclass
class ConnectionAuth:
    """Authentication state of one TCP connection."""

    context: Any = None
    account: str | None = None
    method: str | None = None
    pending: dict[str, Any] = field(default_factory=dict)


class AuthResult:
    def __init__(self, account: str | None, challenge: str | None = None, final_token: str | None = None) -> None:
        self.account = account
        self.challenge = challenge  # WWW-Authenticate value for a 401 continuation
        self.final_token = final_token  # WWW-Authenticate value for the 200 (SPNEGO mechListMIC)


class Authenticator:
    """Checks the Authorization header of a request against the organization's accounts."""

    def __init__(self, org: PasswordSource, methods: tuple[str, ...] = ("basic", "ntlm"), realm: str = "Exchange",
                 keytab: str | None = None) -> None:
        self.org = org
        self.methods = tuple(m.lower() for m in methods)
        self.realm = realm
        if self.accepts_ntlm:
            NtlmUserFile.shared()
        if "kerberos" in self.methods:
            if not keytab:
                raise ValueError("Kerberos needs a keytab with the servers' HTTP/<address> keys")
            os.environ["KRB5_KTNAME"] = f"FILE:{keytab}"

    @property
    def accepts_ntlm(self) -> bool:
        return "ntlm" in self.methods or "negotiate" in self.methods

    @property
    def offers_negotiate(self) -> bool:
        """Offers Negotiate (SPNEGO with NTLM and/or Kerberos inside)."""
        return self.accepts_ntlm or "kerberos" in self.methods

    def challenges(self) -> list[str]:
        """WWW-Authenticate values of a fresh 401, strongest first as IIS lists them."""
        values = []
        if self.offers_negotiate:
            values.append("Negotiate")
        if "basic" in self.methods:
            values.append(f'Basic realm="{self.realm}"')
        return values

    def authenticate(self, header: str | None, conn: ConnectionAuth) -> AuthResult:
        if not header:
            return AuthResult(conn.account if conn.context is not None else None)
        scheme, _, value = header.strip().partition(" ")
        scheme = scheme.lower()
        if scheme == "basic" and "basic" in self.methods:
            conn.context, conn.account = None, None
            return AuthResult(self._basic(value.strip()))
        if scheme in ("negotiate", "ntlm") and self.offers_negotiate:
            return self._negotiate(scheme, value.strip(), conn)
        return AuthResult(None)

    def _basic(self, value: str) -> str | None:
        try:
            raw = base64.b64decode(value)
        except binascii.Error:
            return None
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("latin-1")  # requests encodes Basic credentials as Latin-1
        user, _, password = text.partition(":")
        if not self.org.check_password(user, password):
            return None
        return self.org.canonical_account(user) or user

    def _negotiate(self, scheme: str, value: str, conn: ConnectionAuth) -> AuthResult:
        label = "Negotiate" if scheme == "negotiate" else "NTLM"
        try:
            token = base64.b64decode(value)
        except binascii.Error:
            return AuthResult(None)
        identity = ntlm_identity(token)
        if identity is not None and not self.accepts_ntlm:
            return AuthResult(None)
        if identity is None:  # a first token (NTLM NEGOTIATE, or Kerberos) starts a new context on this connection
            conn.context = spnego.server(protocol="negotiate")
            conn.account = None
        elif conn.context is None:
            return AuthResult(None)
        else:
            domain, user = identity
            password = self._password(domain, user)
            if password is None:
                conn.context = None
                return AuthResult(None)
            NtlmUserFile.shared().ensure(domain, user, password)
        try:
            out = conn.context.step(token)
        except (SpnegoError, Exception):  # any acceptor failure is a bad credential to the client
            conn.context, conn.account = None, None
            return AuthResult(None)
        encoded = f"{label} {base64.b64encode(out).decode()}" if out else None
        if not conn.context.complete:
            return AuthResult(None, challenge=encoded or label)
        if identity is None:  # Kerberos: the ticket names the client
            principal = str(getattr(conn.context, "client_principal", None) or "")
            conn.account = self.org.canonical_account(principal.rpartition("@")[0] or principal)
            conn.method = "kerberos"
            if conn.account is None:
                conn.context = None
            return AuthResult(conn.account, final_token=encoded)
        domain, user = identity
        name = f"{domain}\\{user}" if domain else user
        conn.account = self.org.canonical_account(name) or self.org.canonical_account(user) or name
        conn.method = "ntlm"
        return AuthResult(conn.account, final_token=encoded)

    def _password(self, domain: str, user: str) -> str | None:
        for candidate in (f"{domain}\\{user}" if domain else None, user):
            if candidate:
                password = self.org.password_for(candidate)
                if password is not None:
                    return password
        return None


# -- message encryption (MS-WSMV 2.2.9.1) ---------------------------------------------------------
def is_encrypted(content_type: str | None) -> bool:
    return bool(content_type) and content_type.lower().startswith(("multipart/encrypted", "multipart/x-multi-encrypted"))


def unwrap(context: Any, body: bytes, content_type: str) -> bytes:
    match = re.search(r'boundary="?([^";]+)"?', content_type)
    boundary = match.group(1) if match else BOUNDARY
    parts = [p for p in re.split(rb"--\s*" + re.escape(boundary.encode()) + rb"(?:--)?\r\n", body) if p]
    message = b""
    for i in range(0, len(parts) - 1, 2):
        header, payload = parts[i], parts[i + 1]
        expected = int(header.split(b"Length=")[1].split(b"\r\n")[0].strip())
        payload = payload.replace(b"\tContent-Type: application/octet-stream\r\n", b"", 1)
        header_length = struct.unpack("<i", payload[:4])[0]
        data = context.unwrap_winrm(payload[4 : 4 + header_length], payload[4 + header_length :])
        if len(data) != expected:
            raise ValueError(f"decrypted length {len(data)} != {expected}")
        message += data
    return message


def wrap(context: Any, message: bytes) -> tuple[str, bytes]:
    result = context.wrap_winrm(message)
    header, data, padding = result.header, result.data, result.padding_length
    payload = (
        f"--{BOUNDARY}\r\n\tContent-Type: {SPNEGO_ENCRYPTED}\r\n"
        f"\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length={len(message) + padding}\r\n"
        f"--{BOUNDARY}\r\n\tContent-Type: application/octet-stream\r\n"
    ).encode() + struct.pack("<i", len(header)) + header + data + f"--{BOUNDARY}--\r\n".encode()
    content_type = f'multipart/encrypted;protocol="{SPNEGO_ENCRYPTED}";boundary="{BOUNDARY}"'
    return content_type, payload
