"""A throwaway MIT Kerberos KDC on loopback for the simulated organization (Debian's `krb5-kdc`).

    with running_kdc("CONTOSO.TEST", users={"svc-eas": "P@ss"}, services=["HTTP/127.0.0.11"]) as kdc:
        kdc.address, kdc.keytab        # "127.0.0.1:PORT", a keytab with every service principal

Everything lives in a temporary directory: its own kdc.conf and krb5.conf (passed to the KDC tools
through KRB5_KDC_PROFILE and KRB5_CONFIG in their environment only), a database created with
`kdb5_util create -s`, principals added with `kadmin.local`. The KDC runs in the foreground
(`krb5kdc -n`) and is stopped at exit. `clock_offset` starts it under libfaketime, so a clock skew
between the KDC and its clients can be shown without touching the machine's clock.
"""
from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

KDC_PROGRAMS = ("krb5kdc", "kdb5_util", "kadmin.local")
DEBIAN_PACKAGES = ("krb5-kdc", "krb5-admin-server", "krb5-user")
FAKETIME_LIBRARY = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"
SBIN = ("/usr/sbin", "/sbin")


def program(name: str) -> str | None:
    """The path of a KDC tool (they live in /usr/sbin, often not on a user's PATH)."""
    return shutil.which(name) or shutil.which(name, path=os.pathsep.join(SBIN))


def missing_programs() -> list[str]:
    return [name for name in KDC_PROGRAMS if program(name) is None]


@dataclass
class Kdc:
    realm: str
    port: int
    directory: Path
    keytab: str
    users: dict[str, str] = field(default_factory=dict, repr=False)
    process: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "KRB5_CONFIG": str(self.directory / "krb5.conf"),
                "KRB5_KDC_PROFILE": str(self.directory / "kdc.conf")}

    def kadmin(self, query: str) -> str:
        """Run one kadmin.local query against this realm's database (e.g. "delprinc -force x")."""
        done = subprocess.run([program("kadmin.local"), "-r", self.realm, "-q", query], env=self.env,
                              capture_output=True, text=True, timeout=30)
        if done.returncode != 0 or "error" in done.stderr.lower():
            raise RuntimeError(f"kadmin.local {query.split()[0]} failed: {done.stderr.strip()}")
        return done.stdout

    def log(self) -> str:
        path = self.directory / "kdc.log"
        return path.read_text(errors="replace") if path.exists() else ""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        tcp.bind(("127.0.0.1", 0))
        port = tcp.getsockname()[1]
        udp.bind(("127.0.0.1", port))  # the KDC listens on both
        return port


def _write_configuration(directory: Path, realm: str, port: int) -> None:
    (directory / "kdc.conf").write_text(f"""[kdcdefaults]
    kdc_listen = 127.0.0.1:{port}
    kdc_tcp_listen = 127.0.0.1:{port}

[realms]
    {realm} = {{
        database_name = {directory}/principal
        key_stash_file = {directory}/stash
        acl_file = {directory}/kadm5.acl
        kdc_listen = 127.0.0.1:{port}
        kdc_tcp_listen = 127.0.0.1:{port}
        max_life = 10h 0m 0s
        supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal
    }}

[logging]
    kdc = FILE:{directory}/kdc.log
""")
    (directory / "krb5.conf").write_text(f"""[libdefaults]
    default_realm = {realm}
    dns_lookup_kdc = false
    dns_lookup_realm = false

[realms]
    {realm} = {{
        kdc = 127.0.0.1:{port}
    }}
""")
    (directory / "kadm5.acl").write_text("")


def _wait_for(port: int, process: subprocess.Popen, kdc: Kdc, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"krb5kdc exited with {process.returncode}: {kdc.log()[-500:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"krb5kdc did not listen on 127.0.0.1:{port} within {timeout:.0f} s")


@contextlib.contextmanager
def running_kdc(realm: str, *, users: dict[str, str], services: list[str] = (),
                clock_offset: str | None = None, keytab: str | None = None) -> Iterator[Kdc]:
    """A KDC for `realm` with `users` (name -> password, pre-authentication required) and `services`
    (e.g. "HTTP/127.0.0.11", random keys, all in `kdc.keytab`). `clock_offset` ("+1h") shifts the KDC's clock.

    `keytab` adds the service keys to an existing keytab instead: the simulator's acceptor reads one
    keytab per process (KRB5_KTNAME), so a second realm in the same process adds its keys to the first's.
    """
    missing = missing_programs()
    if missing:
        raise RuntimeError(f"the KDC tools {', '.join(missing)} are missing: install Debian's "
                           f"{' '.join(DEBIAN_PACKAGES)}")
    directory = Path(tempfile.mkdtemp(prefix="easconsole-kdc-"))
    try:
        port = _free_port()
        _write_configuration(directory, realm, port)
        kdc = Kdc(realm=realm, port=port, directory=directory, keytab=keytab or str(directory / "kdc.keytab"),
                  users=dict(users))
        subprocess.run([program("kdb5_util"), "create", "-s", "-r", realm, "-P", secrets.token_urlsafe(16)],
                       env=kdc.env, check=True, capture_output=True, timeout=60)
        for user, password in users.items():
            kdc.kadmin(f"addprinc +requires_preauth -pw {password} {user}@{realm}")
        for service in services:
            kdc.kadmin(f"addprinc -randkey {service}@{realm}")
            kdc.kadmin(f"ktadd -k {kdc.keytab} {service}@{realm}")
        env = kdc.env
        if clock_offset:
            env = {**env, "LD_PRELOAD": FAKETIME_LIBRARY, "FAKETIME": clock_offset, "DONT_FAKE_MONOTONIC": "1"}
        kdc.process = subprocess.Popen([program("krb5kdc"), "-n", "-r", realm], env=env,
                                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            _wait_for(port, kdc.process, kdc)
            yield kdc
        finally:
            kdc.process.terminate()
            try:
                kdc.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                kdc.process.kill()
                kdc.process.wait()
            if kdc.process.stderr:
                kdc.process.stderr.close()
    finally:
        shutil.rmtree(directory, ignore_errors=True)
