"""Exchange Online's connection settings: the tenant, the application and its credential, checked
before any sign-in so that the wizard can say exactly what to fix.

The credential is either a client secret or a PEM holding the application's certificate with its
private key (the certificate Entra ID knows, the key only the console has). Nothing here does I/O.
"""
from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa

MICROSOFT_ENDPOINT = "https://outlook.office365.com"
MICROSOFT_AUTHORITY = "https://login.microsoftonline.com"
# Hosts whose authority MSAL validates itself (instance discovery stays on for them).
MICROSOFT_AUTHORITY_HOSTS = ("login.microsoftonline.com", "login.microsoftonline.us", "login.chinacloudapi.cn",
                             "login.partner.microsoftonline.cn", "login.microsoft.com", "login.windows.net")
_DOMAIN = re.compile(r"^(?=.{4,253}$)(?!-)[A-Za-z0-9-]{1,63}(?<!-)(\.(?!-)[A-Za-z0-9-]{1,63}(?<!-))+$")
_URL = re.compile(r"^https://[A-Za-z0-9.-]+(:\d{1,5})?(/[^\s?#]*)?$")


# The on-premises cmdlet names the gateway speaks -> Exchange Online's (the others keep their names).
ONLINE_NAMES = {
    "Get-ActiveSyncDevice": "Get-MobileDevice", "Get-ActiveSyncDeviceStatistics": "Get-MobileDeviceStatistics",
    "Clear-ActiveSyncDevice": "Clear-MobileDevice", "Remove-ActiveSyncDevice": "Remove-MobileDevice",
    "Get-ActiveSyncMailboxPolicy": "Get-MobileDeviceMailboxPolicy",
    "Set-ActiveSyncMailboxPolicy": "Set-MobileDeviceMailboxPolicy",
    "New-ActiveSyncMailboxPolicy": "New-MobileDeviceMailboxPolicy",
}


def online_name(cmdlet: str) -> str:
    """What Exchange Online calls a cmdlet."""
    return ONLINE_NAMES.get(cmdlet, cmdlet)


@dataclass(frozen=True)
class Certificate:
    """The application's certificate and private key, as MSAL takes them."""

    certificate_pem: str
    private_key_pem: str
    thumbprint_sha1: str
    subject: str
    not_after: Any


def tenant_problem(tenant: str) -> str:
    """What is wrong with a tenant ID or domain ("" when fine)."""
    value = (tenant or "").strip()
    if not value:
        return "Give the tenant ID (a GUID) or its domain, e.g. contoso.onmicrosoft.com."
    if re.fullmatch(r"[0-9A-Fa-f-]{30,40}", value):
        try:
            uuid.UUID(value)
            return ""
        except ValueError:
            return f"{value} is not a tenant ID: a tenant ID is a GUID such as 72f988bf-86f1-41af-91ab-2d7cd011db47."
    if not _DOMAIN.match(value):
        return (f"{value} is neither a tenant ID (a GUID) nor a domain name such as contoso.onmicrosoft.com.")
    return ""


def app_id_problem(app_id: str) -> str:
    value = (app_id or "").strip()
    try:
        uuid.UUID(value)
    except ValueError:
        return ("Give the application (client) ID from the app registration's Overview page in Entra ID: "
                "a GUID such as 0d4a2f3e-1b2c-4d5e-8f90-123456789abc.")
    return ""


def is_certificate(credential: str) -> bool:
    return "-----BEGIN" in (credential or "")


def load_certificate(pem: str) -> Certificate:
    """The certificate and private key of a PEM; ValueError saying what to fix otherwise."""
    data = (pem or "").encode()
    try:
        cert = x509.load_pem_x509_certificate(data)
    except ValueError:
        raise ValueError("The certificate cannot be read: paste or upload the PEM text holding the certificate "
                         "(-----BEGIN CERTIFICATE-----) and its private key.") from None
    if b"PRIVATE KEY-----" not in data:
        raise ValueError("The certificate has no private key: the console signs in with the key, so give the "
                         "PEM with both the certificate and its unencrypted private key (-----BEGIN PRIVATE KEY-----).")
    if b"ENCRYPTED PRIVATE KEY" in data:
        raise ValueError("The private key is encrypted: export it without a password (the console encrypts it "
                         "at rest itself).")
    try:
        block = re.search(rb"-----BEGIN ([A-Z ]*)PRIVATE KEY-----.+?-----END \1PRIVATE KEY-----", data, re.S)
        key = serialization.load_pem_private_key(block.group(0) if block else b"", password=None)
    except (ValueError, TypeError):
        raise ValueError("The private key cannot be read: give it unencrypted, in PEM (-----BEGIN PRIVATE KEY-----).") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("The key is not an RSA key: Entra ID signs in applications with RSA certificates only.")
    if key.public_key().public_numbers() != cert.public_key().public_numbers():
        raise ValueError("The private key does not belong to the certificate: give the key that was created "
                         "with this certificate.")
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    return Certificate(cert.public_bytes(serialization.Encoding.PEM).decode(), key_pem,
                       cert.fingerprint(hashes.SHA1()).hex().upper(), cert.subject.rfc4514_string(),
                       cert.not_valid_after_utc)


def credential_problem(credential: str) -> str:
    if not (credential or "").strip():
        return "Give the application's certificate with its private key (preferred) or a client secret."
    if is_certificate(credential):
        try:
            load_certificate(credential)
        except ValueError as error:
            return str(error)
    elif len(credential.strip()) < 16 or any(c.isspace() for c in credential.strip()):
        return "That is not a client secret: copy the secret's Value (not its ID) from Certificates & secrets."
    return ""


def url_problem(label: str, url: str) -> str:
    if url and not _URL.match(url.strip()):
        return f"The {label} must be an https:// address such as {MICROSOFT_ENDPOINT}."
    return ""


def online_problems(s: Any) -> list[str]:
    """Everything wrong with Exchange Online settings (a ConnectionSettings with online=True)."""
    problems = [p for p in (tenant_problem(s.tenant), app_id_problem(s.username),
                            url_problem("REST endpoint", s.endpoint), url_problem("sign-in authority", s.authority))
                if p]
    if s.password and is_certificate(s.password):
        try:
            load_certificate(s.password)
        except ValueError as error:
            problems.append(str(error))
    if not 1 <= s.max_concurrency <= 17:
        problems.append("max_concurrency must be between 1 and 17")
    return problems


def endpoint_of(s: Any) -> str:
    return (s.endpoint or MICROSOFT_ENDPOINT).rstrip("/")


def authority_of(s: Any) -> str:
    return f"{(s.authority or MICROSOFT_AUTHORITY).rstrip('/')}/{s.tenant.strip()}"


def is_microsoft_authority(s: Any) -> bool:
    from urllib.parse import urlsplit

    return (urlsplit(s.authority or MICROSOFT_AUTHORITY).hostname or "").lower() in MICROSOFT_AUTHORITY_HOSTS
