"""The set-up's Kerberos step: where MIT's libkrb5-dev is missing and cannot be installed, everything
else is still installed from the same pinned files, without gssapi and krb5."""
from pathlib import Path

from easconsole import bootstrap


def test_without_kerberos_keeps_every_other_pin_and_the_include(tmp_path, monkeypatch):
    monkeypatch.setattr(bootstrap, "VENV", tmp_path)
    pinned = bootstrap.without_kerberos("requirements-test.txt")
    runtime = (pinned.parent / "requirements.txt").read_text().splitlines()
    original = (bootstrap.ROOT / "requirements.txt").read_text().splitlines()
    assert not [line for line in runtime if line.startswith(("gssapi==", "krb5=="))]
    assert set(original) - set(runtime) == {line for line in original if line.startswith(("gssapi==", "krb5=="))}
    assert len(set(original) - set(runtime)) == 2
    assert "-r requirements.txt" in Path(pinned).read_text().splitlines()  # resolved beside the copy


def test_nothing_is_installed_when_the_packages_are_there(monkeypatch):
    installs = []
    monkeypatch.setattr(bootstrap.shutil, "which", lambda tool: f"/usr/bin/{tool}")
    monkeypatch.setattr(bootstrap.Path, "exists", lambda self: True)
    monkeypatch.setattr(bootstrap, "run", lambda *args, **kwargs: installs.append(args))
    bootstrap.ensure_kerberos(kdc=True)
    assert installs == []


def test_missing_packages_are_installed_by_name_when_allowed(monkeypatch):
    installs = []
    monkeypatch.setattr(bootstrap.shutil, "which", lambda tool: None if tool in ("krb5-config", "kinit") else f"/usr/bin/{tool}")
    monkeypatch.setattr(bootstrap.Path, "exists", lambda self: "faketime" not in str(self))
    monkeypatch.setattr(bootstrap.os, "geteuid", lambda: 0)
    monkeypatch.setattr(bootstrap, "run", lambda *args, **kwargs: installs.append(args))
    bootstrap.ensure_kerberos(kdc=True)
    assert installs == [("apt-get", "update", "-qq"), ("apt-get", "install", "-y", "-qq", "libkrb5-dev", "krb5-user", "libfaketime")]
