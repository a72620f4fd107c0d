"""Secrets encrypted at rest with a key kept apart from the database and from SECRET_KEY.

Keys come from ``EASCONSOLE_CREDENTIAL_KEYS`` (comma-separated Fernet keys, newest first) or,
on a workstation, from ``var/credential.key`` (generated on first use, mode 0600). Rotation adds
a new key in front, re-encrypts every stored secret with it, then drops the old keys
(``manage.py rotate_credential_key``).

Running processes (the web server, every django-q2 worker) follow a rotation of the key file
without a restart: the key set is read again when the file changes, and once more when a token
does not decrypt with the keys at hand. A process's environment cannot change, so keys from
``EASCONSOLE_CREDENTIAL_KEYS`` are only ever those it was started with: see the command's help.
"""
from __future__ import annotations

import os
import threading
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

ENVIRONMENT = "EASCONSOLE_CREDENTIAL_KEYS"


class CredentialError(Exception):
    """A stored secret cannot be decrypted with the keys at hand."""


def key_file() -> Path:
    return Path(settings.VAR_DIR) / "credential.key"


def keys_from_environment() -> bool:
    return bool(os.environ.get(ENVIRONMENT))


def _source() -> tuple:
    """What the key set was read from: it is read again when this changes (the file was rewritten)."""
    if configured := os.environ.get(ENVIRONMENT):
        return ("environment", configured)
    path = key_file()
    try:
        stat = path.stat()
    except FileNotFoundError:
        return ("file", str(path), None)
    return ("file", str(path), stat.st_mtime_ns, stat.st_size, stat.st_ino)


def _keys() -> list[bytes]:
    if configured := os.environ.get(ENVIRONMENT):
        return [k.strip().encode() for k in configured.split(",") if k.strip()]
    if getattr(settings, "SECURE", False):
        raise ImproperlyConfigured(f"Set {ENVIRONMENT} in the environment of a production console.")
    path = key_file()
    if not path.exists():
        path.write_bytes(Fernet.generate_key() + b"\n")
        path.chmod(0o600)
    return [k.strip() for k in path.read_bytes().splitlines() if k.strip()]


_lock = threading.Lock()
_cached: tuple[tuple, MultiFernet] | None = None


def _fernet(*, reload: bool = False) -> MultiFernet:
    """The key set, read again when the key file changed (one stat per use) or when asked to."""
    global _cached
    with _lock:
        source = _source()
        if reload or _cached is None or _cached[0] != source:
            fernet = MultiFernet([Fernet(k) for k in _keys()])
            _cached = (_source(), fernet)  # after _keys(): it may have just created the file
        return _cached[1]


def reload_keys() -> None:
    """Forget the key set: the next use reads it again."""
    global _cached
    with _lock:
        _cached = None


def encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode() if plaintext else ""


def decrypt(token: str) -> str:
    if not token:
        return ""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        pass
    try:  # the file may have been rotated within the file system's timestamp granularity: read it once more
        return _fernet(reload=True).decrypt(token.encode()).decode()
    except InvalidToken as error:
        if keys_from_environment():
            raise CredentialError(
                f"A stored password cannot be decrypted with the keys this process was started with ({ENVIRONMENT}): "
                "restart it with the key list that includes the newest key."
            ) from error
        raise CredentialError("A stored password cannot be decrypted: the credential key changed or is missing.") from error


def rotate(token: str) -> str:
    """The same secret encrypted with the newest key."""
    return _fernet().rotate(token.encode()).decode() if token else ""


def _write_key_file(content: bytes) -> None:
    """Replace the key file in one step: a worker reading it meanwhile sees the old or the new keys, never half."""
    path = key_file()
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    temporary.write_bytes(content)
    temporary.chmod(0o600)
    os.replace(temporary, path)
    reload_keys()


def add_key_to_file() -> None:
    """Put a new key in front of the key file's keys (the workstation set-up)."""
    path = key_file()
    existing = path.read_bytes() if path.exists() else b""
    _write_key_file(Fernet.generate_key() + b"\n" + existing)


def keep_only_newest_key_in_file() -> None:
    newest = key_file().read_bytes().splitlines()[0]
    _write_key_file(newest + b"\n")
