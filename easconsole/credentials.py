"""Secrets encrypted at rest with a key kept apart from the database and from SECRET_KEY.

Keys come from ``EASCONSOLE_CREDENTIAL_KEYS`` (comma-separated Fernet keys, newest first) or,
on a workstation, from ``var/credential.key`` (generated on first use, mode 0600). Rotation adds
a new key in front, re-encrypts every stored secret with it, then drops the old keys
(``manage.py rotate_credential_key``).
"""
from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class CredentialError(Exception):
    """A stored secret cannot be decrypted with the keys at hand."""


def key_file() -> Path:
    return Path(settings.VAR_DIR) / "credential.key"


def _keys() -> list[bytes]:
    if configured := os.environ.get("EASCONSOLE_CREDENTIAL_KEYS"):
        return [k.strip().encode() for k in configured.split(",") if k.strip()]
    if getattr(settings, "SECURE", False):
        raise ImproperlyConfigured("Set EASCONSOLE_CREDENTIAL_KEYS in the environment of a production console.")
    path = key_file()
    if not path.exists():
        path.write_bytes(Fernet.generate_key() + b"\n")
        path.chmod(0o600)
    return [k.strip() for k in path.read_bytes().splitlines() if k.strip()]


@lru_cache(maxsize=1)
def _fernet() -> MultiFernet:
    return MultiFernet([Fernet(k) for k in _keys()])


def reload_keys() -> None:
    _fernet.cache_clear()


def encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode() if plaintext else ""


def decrypt(token: str) -> str:
    if not token:
        return ""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as error:
        raise CredentialError("A stored password cannot be decrypted: the credential key changed or is missing.") from error


def rotate(token: str) -> str:
    """The same secret encrypted with the newest key."""
    return _fernet().rotate(token.encode()).decode() if token else ""


def add_key_to_file() -> None:
    """Put a new key in front of the key file's keys (the workstation set-up)."""
    path = key_file()
    existing = path.read_bytes() if path.exists() else b""
    path.write_bytes(Fernet.generate_key() + b"\n" + existing)
    path.chmod(0o600)
    reload_keys()


def keep_only_newest_key_in_file() -> None:
    path = key_file()
    newest = path.read_bytes().splitlines()[0]
    path.write_bytes(newest + b"\n")
    reload_keys()
