"""Active Directory / LDAP sign-in: django-auth-ldap with the console's own habits.

- One account per person, named by their user principal name whatever they typed (``jdoe`` or
  ``jdoe@contoso.com``), with their e-mail and name copied at every sign-in, so discovery links
  their devices at once (docs/users.md §2).
- The service account's password is stored encrypted like connector passwords.
- Group membership is read at every sign-in and mirrored into the console's groups, which carry
  the roles assigned to them (Administration ▸ Security ▸ Administrative Users).
- A directory that cannot be reached is reported on the sign-in page; local accounts still work.
"""
from __future__ import annotations

import logging

from django.contrib.auth import get_user_model
from django.dispatch import receiver
from django_auth_ldap.backend import LDAPBackend, ldap_error

from easconsole import credentials
from easconsole.models import DirectorySecret

BIND_SECRET = "ldap-bind"
logger = logging.getLogger(__name__)


def bind_password() -> str:
    secret = DirectorySecret.objects.filter(name=BIND_SECRET).values_list("secret_encrypted", flat=True).first()
    return credentials.decrypt(secret or "")


class DirectoryBackend(LDAPBackend):
    @property
    def settings(self):
        fresh = self._settings is None  # a backend is made for each sign-in: a changed password needs no restart
        settings = super().settings
        if fresh and settings.BIND_DN and not settings.BIND_AS_AUTHENTICATING_USER:
            settings.BIND_PASSWORD = bind_password()
        return settings

    @settings.setter
    def settings(self, value):
        self._settings = value

    def get_or_build_user(self, username, ldap_user):
        """The account named by the person's UPN (any case), else built with that name."""
        from django.conf import settings

        model = get_user_model()
        values = ldap_user.attrs.get(settings.EASCONSOLE_LDAP["upn_attribute"]) or [username]
        upn = values[0].strip().lower()
        user = model.objects.filter(username__iexact=upn).first()
        return (user, False) if user is not None else (model(username=upn), True)


@receiver(ldap_error)
def directory_unreachable(sender, context, user, request, exception, **kwargs):
    """Mark the request so that the sign-in page says the directory is down (never the password)."""
    logger.warning("the directory could not be used while %s: %s", context, type(exception).__name__)
    if request is not None:
        request.easconsole_directory_error = type(exception).__name__
