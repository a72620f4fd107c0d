"""The sign-in methods the console offers, for the sign-in page."""
from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext as _


def sign_in_methods() -> dict:
    """What the sign-in page shows: the directory's form, its unavailability, the Entra ID button."""
    ldap = getattr(settings, "EASCONSOLE_LDAP", None)
    unavailable = getattr(settings, "EASCONSOLE_LDAP_UNAVAILABLE", "")
    return {
        "directory": bool(ldap),
        "directory_unavailable": _("Sign-in with the directory is configured but cannot run on this server: install %(packages)s.")
        % {"packages": unavailable} if unavailable else "",
        "entra_id": bool(getattr(settings, "EASCONSOLE_OIDC", None)),
    }


def entra_id_failed_message(request) -> str:
    if request.GET.get("entra") != "failed":
        return ""
    return _("Sign-in with Microsoft Entra ID did not succeed. Try again, or ask your administrator whether the console "
             "is registered for you in Entra ID.")


def directory_down_message(request) -> str:
    """The sign-in page's words when the directory could not be reached for this request."""
    if not getattr(request, "easconsole_directory_error", None):
        return ""
    return _("The directory cannot be reached right now (%(uri)s), so directory accounts cannot sign in. "
             "Local accounts still can.") % {"uri": settings.EASCONSOLE_LDAP["uri"]}
