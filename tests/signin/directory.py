"""A real OpenLDAP directory for the sign-in tests: Debian's slapd on loopback, its configuration and
database in a temporary folder, loaded with slapadd from an LDIF of Active Directory-like users and
groups (userPrincipalName, sAMAccountName, userAccountControl, nested groups).

    with running_directory(tmp) as directory:
        directory.uri, directory.environment()   # what the console is configured with
        directory.remove_member("Helpdesk", "jdoe")
"""
from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import socket
import subprocess
import textwrap
from pathlib import Path

import ldap
import ldap.modlist
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from easconsole.exchange.simulator.testing import wait_until

SLAPD, SLAPADD = "/usr/sbin/slapd", "/usr/sbin/slapadd"
SUFFIX = "dc=contoso,dc=com"
ADMIN_DN, ADMIN_PASSWORD = f"cn=admin,{SUFFIX}", "directory-admin-secret"
BIND_DN, BIND_PASSWORD = f"cn=svc-easconsole,ou=Service,{SUFFIX}", "Svc-Bind-Password-1"
PASSWORD = "Directory-Pass-42"
PLACEHOLDER = f"cn=placeholder,{SUFFIX}"
# Active Directory's attributes, with AD's own OIDs, so the AD-style filter (bitwise userAccountControl) runs.
AD_SCHEMA = """\
attributetype ( 1.2.840.113556.1.4.656 NAME 'userPrincipalName' EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch
  SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
attributetype ( 1.2.840.113556.1.4.221 NAME 'sAMAccountName' EQUALITY caseIgnoreMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
attributetype ( 1.2.840.113556.1.4.8 NAME 'userAccountControl' EQUALITY integerMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )
objectclass ( 1.3.6.1.4.1.55555.1.1 NAME 'easconsoleTestAdUser' SUP top AUXILIARY MAY ( userPrincipalName $ sAMAccountName $ userAccountControl ) )
"""
USER_FILTER = ("(&(objectClass=inetOrgPerson)(|(sAMAccountName=%(user)s)(userPrincipalName=%(user)s))"
               "(!(userAccountControl:1.2.840.113556.1.4.803:=2)))")
ENABLED, DISABLED = 512, 514  # userAccountControl: NORMAL_ACCOUNT, and with ACCOUNTDISABLE


def user_dn(sam: str) -> str:
    return f"cn={sam},ou=People,{SUFFIX}"


def group_dn(name: str) -> str:
    return f"cn={name},ou=Groups,{SUFFIX}"


def user_entry(sam: str, given: str, surname: str, *, upn: str | None = None, mail: str | None = None,
               control: int = ENABLED) -> dict[str, list[bytes]]:
    upn = upn or f"{sam}@contoso.com"
    values = {"objectClass": ["inetOrgPerson", "easconsoleTestAdUser"], "cn": sam, "sn": surname, "givenName": given,
              "displayName": f"{given} {surname}", "mail": mail or upn, "userPrincipalName": upn, "sAMAccountName": sam,
              "userAccountControl": str(control), "userPassword": PASSWORD}
    return {k: [x.encode() for x in (v if isinstance(v, list) else [v])] for k, v in values.items()}


def _ldif(dn: str, entry: dict[str, list[bytes]]) -> str:
    return "\n".join([f"dn: {dn}", *(f"{k}: {v.decode()}" for k, vs in entry.items() for v in vs)]) + "\n\n"


def initial_ldif() -> str:
    def plain(dn, **attrs):
        return _ldif(dn, {k: [x.encode() for x in (v if isinstance(v, list) else [v])] for k, v in attrs.items()})

    text = plain(SUFFIX, objectClass=["dcObject", "organization"], dc="contoso", o="Contoso")
    for unit in ("People", "Groups", "Service"):
        text += plain(f"ou={unit},{SUFFIX}", objectClass="organizationalUnit", ou=unit)
    text += plain(BIND_DN, objectClass=["person"], cn="svc-easconsole", sn="Service", userPassword=BIND_PASSWORD)
    text += _ldif(user_dn("jdoe"), user_entry("jdoe", "John", "Doe"))
    text += _ldif(user_dn("mmajor"), user_entry("mmajor", "Mary", "Major"))
    text += _ldif(user_dn("asmith"), user_entry("asmith", "Alice", "Smith", control=DISABLED))  # disabled in the directory
    # EAS-Operators holds the group Helpdesk (nested), which holds jdoe; Auditors holds mmajor.
    # A groupOfNames must keep one member: each also names an empty placeholder, so anyone can be removed.
    text += plain(group_dn("Helpdesk"), objectClass="groupOfNames", cn="Helpdesk", member=[PLACEHOLDER, user_dn("jdoe")])
    text += plain(group_dn("EAS-Operators"), objectClass="groupOfNames", cn="EAS-Operators", member=[PLACEHOLDER, group_dn("Helpdesk")])
    text += plain(group_dn("Auditors"), objectClass="groupOfNames", cn="Auditors", member=[PLACEHOLDER, user_dn("mmajor")])
    return text


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def write_certificates(folder: Path) -> None:
    """A test CA (ca.pem) and the server's certificate for 127.0.0.1 signed by it (server.pem, server.key)."""
    now = dt.datetime.now(dt.timezone.utc)

    def certificate(subject, issuer, public_key, signing_key, *, ca: bool):
        builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(public_key)
                   .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
                   .not_valid_after(now + dt.timedelta(days=1))
                   .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
        if not ca:
            builder = builder.add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        return builder.sign(signing_key, hashes.SHA256())

    ca_key, server_key = (rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(2))
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Contoso Test Root CA")])
    ca = certificate(ca_name, ca_name, ca_key.public_key(), ca_key, ca=True)
    server = certificate(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]), ca_name, server_key.public_key(), ca_key, ca=False)
    (folder / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (folder / "server.pem").write_bytes(server.public_bytes(serialization.Encoding.PEM))
    (folder / "server.key").write_bytes(server_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                                                serialization.NoEncryption()))


class Directory:
    def __init__(self, folder: Path):
        self.folder = folder
        self.port, self.tls_port = free_port(), free_port()
        self.uri = f"ldap://127.0.0.1:{self.port}"  # StartTLS offered
        self.ldaps_uri = f"ldaps://127.0.0.1:{self.tls_port}"
        self.ca_file = str(folder / "ca.pem")
        self.process: subprocess.Popen | None = None

    def configure(self) -> None:
        (self.folder / "db").mkdir(parents=True)
        (self.folder / "ad.schema").write_text(AD_SCHEMA)
        write_certificates(self.folder)
        (self.folder / "slapd.conf").write_text(textwrap.dedent(f"""\
            include /etc/ldap/schema/core.schema
            include /etc/ldap/schema/cosine.schema
            include /etc/ldap/schema/inetorgperson.schema
            include {self.folder / 'ad.schema'}
            pidfile {self.folder / 'slapd.pid'}
            TLSCACertificateFile {self.folder / 'ca.pem'}
            TLSCertificateFile {self.folder / 'server.pem'}
            TLSCertificateKeyFile {self.folder / 'server.key'}
            modulepath /usr/lib/ldap
            moduleload back_mdb
            database mdb
            maxsize 10485760
            suffix "{SUFFIX}"
            rootdn "{ADMIN_DN}"
            rootpw {ADMIN_PASSWORD}
            directory {self.folder / 'db'}
            index objectClass eq
            """))
        (self.folder / "initial.ldif").write_text(initial_ldif())
        subprocess.run([SLAPADD, "-f", self.folder / "slapd.conf", "-l", self.folder / "initial.ldif"], check=True,
                       capture_output=True)

    def start(self) -> None:
        self.process = subprocess.Popen([SLAPD, "-f", str(self.folder / "slapd.conf"), "-h", f"{self.uri}/ {self.ldaps_uri}/", "-d", "0"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wait_until(self._answers, timeout=20, message="slapd did not answer on loopback")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)

    def _answers(self) -> bool:
        assert self.process.poll() is None, self.process.stderr.read().decode(errors="replace")
        try:
            self.admin().unbind_s()
            return True
        except ldap.SERVER_DOWN:
            return False

    def admin(self):
        connection = ldap.initialize(self.uri)
        connection.simple_bind_s(ADMIN_DN, ADMIN_PASSWORD)
        return connection

    def environment(self) -> dict[str, str]:
        """The console's configuration for this directory (as an administrator would set it)."""
        return {"EASCONSOLE_LDAP_URI": self.uri, "EASCONSOLE_LDAP_BIND_DN": BIND_DN,
                "EASCONSOLE_LDAP_USER_SEARCH_BASE": f"ou=People,{SUFFIX}", "EASCONSOLE_LDAP_USER_FILTER": USER_FILTER,
                "EASCONSOLE_LDAP_GROUP_SEARCH_BASE": f"ou=Groups,{SUFFIX}", "EASCONSOLE_LDAP_GROUP_TYPE": "group_of_names"}

    # ---- changes a directory administrator makes ------------------------------------------------------
    def add_user(self, sam: str, given: str, surname: str, **kwargs) -> None:
        connection = self.admin()
        connection.add_s(user_dn(sam), ldap.modlist.addModlist(user_entry(sam, given, surname, **kwargs)))
        connection.unbind_s()

    def _members(self, group: str, op: int, dn: str) -> None:
        connection = self.admin()
        connection.modify_s(group_dn(group), [(op, "member", [dn.encode()])])
        connection.unbind_s()

    def add_member(self, group: str, sam: str) -> None:
        self._members(group, ldap.MOD_ADD, user_dn(sam))

    def remove_member(self, group: str, sam: str) -> None:
        self._members(group, ldap.MOD_DELETE, user_dn(sam))


@contextlib.contextmanager
def running_directory(folder: Path):
    directory = Directory(folder)
    directory.configure()
    directory.start()
    try:
        yield directory
    finally:
        directory.stop()
