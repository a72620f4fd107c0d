"""The set-up's optional features: where the Debian libraries that gssapi or python-ldap build against
are missing and cannot be installed, everything else is still installed from the same pinned files."""
from pathlib import Path

from easconsole import bootstrap


def test_without_keeps_every_other_pin_and_the_include(tmp_path, monkeypatch):
    monkeypatch.setattr(bootstrap, "VENV", tmp_path)
    pinned = bootstrap.without("requirements-test.txt", ["gssapi", "krb5", "python-ldap", "django-auth-ldap"])
    runtime = (pinned.parent / "requirements.txt").read_text().splitlines()
    original = (bootstrap.ROOT / "requirements.txt").read_text().splitlines()
    dropped = {line for line in original if line.startswith(("gssapi==", "krb5==", "python-ldap==", "django-auth-ldap=="))}
    assert len(dropped) == 4 and set(original) - set(runtime) == dropped
    assert "-r requirements.txt" in Path(pinned).read_text().splitlines()  # resolved beside the copy


def test_nothing_is_installed_or_left_out_when_the_packages_are_there(monkeypatch):
    installs = []
    monkeypatch.setattr(bootstrap, "missing_debian", lambda packages: [])
    monkeypatch.setattr(bootstrap, "run", lambda *args, **kwargs: installs.append(args))
    assert bootstrap.left_out() == [] and bootstrap.apt_install(bootstrap.TEST_PACKAGES, "tests")
    assert installs == []


def test_missing_packages_are_installed_by_name_when_allowed(monkeypatch):
    installs = []
    monkeypatch.setattr(bootstrap, "missing_debian", lambda packages: [p for p in packages if p in ("libkrb5-dev", "slapd")])
    monkeypatch.setattr(bootstrap.os, "geteuid", lambda: 0)
    monkeypatch.setattr(bootstrap.shutil, "which", lambda tool: f"/usr/bin/{tool}")
    monkeypatch.setattr(bootstrap, "run", lambda *args, **kwargs: installs.append(args))
    assert bootstrap.left_out() == []
    assert bootstrap.apt_install(bootstrap.TEST_PACKAGES, "tests")
    assert installs == [("apt-get", "update", "-qq"), ("apt-get", "install", "-y", "-qq", "libkrb5-dev"),
                        ("apt-get", "update", "-qq"), ("apt-get", "install", "-y", "-qq", "slapd")]


def test_a_feature_whose_libraries_cannot_be_installed_is_left_out_by_name(monkeypatch, capsys):
    monkeypatch.setattr(bootstrap, "missing_debian", lambda packages: [p for p in packages if p == "libldap2-dev"])
    monkeypatch.setattr(bootstrap.os, "geteuid", lambda: 1000)  # not root: nothing is installed
    monkeypatch.setattr(bootstrap, "run", lambda *args, **kwargs: (_ for _ in ()).throw(AssertionError(args)))
    assert bootstrap.left_out() == ["python-ldap", "django-auth-ldap"]
    out = capsys.readouterr().out
    assert "install Debian's libldap2-dev" in out and "sign-in with the directory is left out" in out
