"""A throwaway CA and server certificate for the simulator's optional HTTPS.

The CA certificate is written where the caller can pass it to pypsrp's `cert_validation=`, so
certificate validation itself is exercised; without it, validation must fail as it would against
an untrusted real server.
"""
from __future__ import annotations

import datetime as dt
import ipaddress
import os
import ssl
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


@dataclass
class TlsFiles:
    ca_file: str  # PEM of the CA: pass as cert_validation=
    cert_file: str  # server certificate chain (leaf + CA)
    key_file: str


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "EAS Console simulator"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def generate(directory: str, addresses: list[str], hostnames: list[str] | None = None) -> TlsFiles:
    """Create a CA and a server certificate valid for `addresses` (IPs) and `hostnames`."""
    os.makedirs(directory, exist_ok=True)
    now = dt.datetime.now(dt.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(_name("EAS Console simulator CA"))
        .issuer_name(_name("EAS Console simulator CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
                                     key_encipherment=False, data_encipherment=False, key_agreement=False,
                                     encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = [x509.DNSName(h) for h in (hostnames or ["localhost"])]
    names += [x509.IPAddress(ipaddress.ip_address(a)) for a in addresses]
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(addresses[0] if addresses else "localhost"))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    files = files_in(directory)
    with open(files.ca_file, "wb") as handle:
        handle.write(ca_cert.public_bytes(serialization.Encoding.PEM))
    with open(files.cert_file, "wb") as handle:
        handle.write(cert.public_bytes(serialization.Encoding.PEM) + ca_cert.public_bytes(serialization.Encoding.PEM))
    with open(files.key_file, "wb") as handle:
        handle.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    os.chmod(files.key_file, 0o600)
    return files


def files_in(directory: str) -> TlsFiles:
    return TlsFiles(
        ca_file=os.path.join(directory, "simulator-ca.pem"),
        cert_file=os.path.join(directory, "simulator-server.pem"),
        key_file=os.path.join(directory, "simulator-server.key"),
    )


def load_or_generate(directory: str, addresses: list[str], hostnames: list[str] | None = None) -> TlsFiles:
    """Reuse the CA and certificate in `directory` if they still cover `addresses`, so a client that
    trusts the CA keeps working across restarts; otherwise generate new ones there."""
    files = files_in(directory)
    try:
        with open(files.cert_file, "rb") as handle:
            cert = x509.load_pem_x509_certificate(handle.read())
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        covered = {str(ip) for ip in san.get_values_for_type(x509.IPAddress)}
        fresh = cert.not_valid_after_utc > dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1)
        if fresh and set(addresses) <= covered and os.path.exists(files.ca_file) and os.path.exists(files.key_file):
            return files
    except (OSError, ValueError, x509.ExtensionNotFound):
        pass
    return generate(directory, addresses, hostnames)


def server_context(files: TlsFiles) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(files.cert_file, files.key_file)
    return context
