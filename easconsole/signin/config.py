"""The directory sign-in settings, read from the environment by easconsole/settings.py.

Nothing here needs python-ldap to be importable: without it, LDAP sign-in is reported as unavailable
(with what to install) and the console runs with local accounts.
"""
from __future__ import annotations

import importlib.util
import os

from django.core.exceptions import ImproperlyConfigured

LDAP_BACKEND = "easconsole.signin.ldap.DirectoryBackend"
OIDC_BACKEND = "easconsole.signin.oidc.EntraIdBackend"
LDAP_PACKAGES = ("python-ldap and django-auth-ldap (pip install -r requirements.txt), "
                 "which build against Debian's libldap2-dev and libsasl2-dev")

AD_USER_FILTER = ("(&(objectCategory=person)(objectClass=user)(|(sAMAccountName=%(user)s)(userPrincipalName=%(user)s))"
                  "(!(userAccountControl:1.2.840.113556.1.4.803:=2)))")  # disabled accounts are not found


def _flag(environ, name: str) -> bool:
    return environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def ldap_available() -> bool:
    return all(importlib.util.find_spec(name) is not None for name in ("ldap", "django_auth_ldap"))


def directory_settings(environ) -> dict:
    """The Django settings of the directory sign-in methods turned on in ``environ``."""
    values: dict = {"EASCONSOLE_LDAP": None, "EASCONSOLE_LDAP_UNAVAILABLE": "", "EASCONSOLE_OIDC": None,
                    "EASCONSOLE_SIGN_IN_BACKENDS": []}
    if uri := environ.get("EASCONSOLE_LDAP_URI", "").strip():
        if ldap_available():
            values.update(_ldap_settings(environ, uri))
            values["EASCONSOLE_SIGN_IN_BACKENDS"].append(LDAP_BACKEND)
        else:
            values["EASCONSOLE_LDAP_UNAVAILABLE"] = LDAP_PACKAGES
    if client_id := environ.get("EASCONSOLE_OIDC_CLIENT_ID", "").strip():
        from easconsole.signin.oidc_config import oidc_settings

        values.update(oidc_settings(environ, client_id))
        values["EASCONSOLE_SIGN_IN_BACKENDS"].append(OIDC_BACKEND)
    return values


def _ldap_settings(environ, uri: str) -> dict:
    import ldap
    from django_auth_ldap.config import LDAPSearch, NestedActiveDirectoryGroupType, NestedGroupOfNamesType

    timeout = int(environ.get("EASCONSOLE_LDAP_TIMEOUT", "5"))
    options = {ldap.OPT_REFERRALS: 0, ldap.OPT_NETWORK_TIMEOUT: timeout, ldap.OPT_TIMEOUT: timeout}
    if ca_file := environ.get("EASCONSOLE_LDAP_CA_FILE", "").strip():
        if not os.path.isfile(ca_file):
            raise ImproperlyConfigured(f"EASCONSOLE_LDAP_CA_FILE names {ca_file}, which is not a file.")
        options[ldap.OPT_X_TLS_CACERTFILE] = ca_file
        options[ldap.OPT_X_TLS_NEWCTX] = 0  # must come last: python-ldap applies options in order
    active_directory = environ.get("EASCONSOLE_LDAP_GROUP_TYPE", "active_directory") == "active_directory"
    upn = environ.get("EASCONSOLE_LDAP_UPN_ATTRIBUTE", "userPrincipalName")
    settings = {
        "EASCONSOLE_LDAP": {"uri": uri, "upn_attribute": upn},
        "AUTH_LDAP_SERVER_URI": uri,
        "AUTH_LDAP_START_TLS": _flag(environ, "EASCONSOLE_LDAP_START_TLS"),
        "AUTH_LDAP_CONNECTION_OPTIONS": options,
        "AUTH_LDAP_BIND_DN": environ.get("EASCONSOLE_LDAP_BIND_DN", ""),
        # the bind password is the encrypted one that manage.py set_directory_password stores (DirectoryBackend)
        "AUTH_LDAP_USER_ATTR_MAP": {"first_name": "givenName", "last_name": "sn", "email": "mail"},
        "AUTH_LDAP_ALWAYS_UPDATE_USER": True,
        "AUTH_LDAP_MIRROR_GROUPS": True,
        "AUTH_LDAP_CACHE_TIMEOUT": 0,  # group membership is read at every sign-in
    }
    if template := environ.get("EASCONSOLE_LDAP_USER_DN_TEMPLATE", "").strip():
        settings["AUTH_LDAP_USER_DN_TEMPLATE"] = template  # direct bind as the person
        settings["AUTH_LDAP_BIND_AS_AUTHENTICATING_USER"] = True
    else:
        user_filter = environ.get("EASCONSOLE_LDAP_USER_FILTER") or AD_USER_FILTER
        settings["AUTH_LDAP_USER_SEARCH"] = LDAPSearch(environ.get("EASCONSOLE_LDAP_USER_SEARCH_BASE", ""), ldap.SCOPE_SUBTREE, user_filter)
    if group_base := environ.get("EASCONSOLE_LDAP_GROUP_SEARCH_BASE", "").strip():
        group_class = "(objectClass=group)" if active_directory else "(objectClass=groupOfNames)"
        settings["AUTH_LDAP_GROUP_SEARCH"] = LDAPSearch(group_base, ldap.SCOPE_SUBTREE, group_class)
        settings["AUTH_LDAP_GROUP_TYPE"] = NestedActiveDirectoryGroupType() if active_directory else NestedGroupOfNamesType()
    else:
        settings["AUTH_LDAP_MIRROR_GROUPS"] = False
    return settings
