"""The organization's CA certificates for HTTPS: validating an uploaded bundle, describing certificates.

A connector may carry its own PEM bundle of trusted CAs (used for that connector only, instead of the
system's store). `bundle_problems` checks it when it is entered; `presented` tells, after a failed
handshake, which certificate the server showed and who issued it, so the message names the subject
and issuer that did not match rather than only "certificate verify failed".
"""
from __future__ import annotations

import datetime as dt
import socket
import ssl

from cryptography import x509
from cryptography.hazmat.primitives import hashes

PEM_MARKER = "-----BEGIN CERTIFICATE-----"


def load_bundle(pem: str) -> list[x509.Certificate]:
    """Every certificate of a PEM bundle. Raises ValueError when there is none or one is unreadable."""
    if PEM_MARKER not in (pem or ""):
        raise ValueError("paste one or more PEM certificates (-----BEGIN CERTIFICATE----- ...)")
    try:
        certificates = x509.load_pem_x509_certificates(pem.encode())
    except ValueError as error:
        raise ValueError(f"a certificate of the bundle cannot be read ({error})") from None
    return certificates


def name_of(name: x509.Name) -> str:
    """A certificate name as administrators read it: "CN=Contoso Root CA, O=Contoso"."""
    return name.rfc4514_string() or "(empty name)"


def describe(certificate: x509.Certificate) -> str:
    fingerprint = certificate.fingerprint(hashes.SHA256()).hex().upper()
    return (f"{name_of(certificate.subject)} (valid until {certificate.not_valid_after_utc:%Y-%m-%d}, "
            f"SHA-256 {fingerprint[:16]}…)")


def describe_bundle(pem: str) -> str:
    """One line naming each certificate of a bundle (for the audit trail and the details page)."""
    if not (pem or "").strip():
        return ""
    try:
        return "; ".join(describe(c) for c in load_bundle(pem))
    except ValueError as error:
        return str(error)


def bundle_problems(pem: str, now: dt.datetime | None = None) -> list[str]:
    """What is wrong with an uploaded CA bundle, as sentences (empty when usable).

    Each certificate must be readable, a CA certificate (basic constraints CA:TRUE), and valid now.
    """
    try:
        certificates = load_bundle(pem)
    except ValueError as error:
        text = str(error)
        return [text[:1].upper() + text[1:] + "."]
    now = now or dt.datetime.now(dt.timezone.utc)
    problems = []
    for certificate in certificates:
        subject = name_of(certificate.subject)
        try:
            is_ca = certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
        except x509.ExtensionNotFound:
            is_ca = False
        if not is_ca:
            problems.append(f"{subject} is not a CA certificate (it is a server's or a user's): upload the certificate "
                            f"of the CA that issued the Exchange servers' certificates.")
        if certificate.not_valid_after_utc < now:
            problems.append(f"{subject} expired on {certificate.not_valid_after_utc:%Y-%m-%d}.")
        elif certificate.not_valid_before_utc > now:
            problems.append(f"{subject} is not valid before {certificate.not_valid_before_utc:%Y-%m-%d}.")
    return problems


def presented(host: str, port: int, ca_file: str | None, timeout: float = 5.0) -> str:
    """After a failed validation: the certificate `host` presents, its issuer, and the CAs trusted, in words.

    Opens one more TLS connection without validation only to read the certificate; nothing is sent on it.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with socket.create_connection((host, port), timeout=timeout) as raw:
            with context.wrap_socket(raw, server_hostname=host) as tls:
                der = tls.getpeercert(binary_form=True)
    except OSError:
        return ""
    if not der:
        return ""
    certificate = x509.load_der_x509_certificate(der)
    try:
        san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = [str(v) for v in san.get_values_for_type(x509.DNSName) + san.get_values_for_type(x509.IPAddress)]
    except x509.ExtensionNotFound:
        names = []
    text = (f"the server presented the certificate {name_of(certificate.subject)}"
            + (f" for {', '.join(names)}" if names else "")
            + f" issued by {name_of(certificate.issuer)}")
    if ca_file:
        try:
            with open(ca_file, encoding="utf-8") as handle:
                trusted = [name_of(c.subject) for c in load_bundle(handle.read())]
            text += f"; the connector trusts only {', '.join(trusted)}"
        except (OSError, ValueError):
            pass
    else:
        text += "; the connector trusts the system's CA store (upload the organization's CA certificate)"
    return text
