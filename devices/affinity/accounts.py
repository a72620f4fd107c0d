"""Console accounts signed in by a front server: ``REMOTE_USER`` (``DOMAIN\\user``) is the account's user name.

Used when ``EASCONSOLE_REMOTE_USER=1`` (see docs/users.md). The front server (IIS, or Apache with
Kerberos) does the Windows authentication and passes the name in the WSGI environment; the console
then uses, or creates at the first sign-in, the account of that name. An account created this way
has no role: it is an end user, who sees the Application Catalog only, until an administrator
assigns a role. The user name is kept as ``DOMAIN\\user``, so discovery links the person's devices
to it through the SamAccountName (devices/discovery/affinity.py).
"""
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import RemoteUserBackend as DjangoRemoteUserBackend


class RemoteUserBackend(DjangoRemoteUserBackend):
    """Django's RemoteUserBackend, matching an existing account whatever the case the front server gives.

    Windows names are case-insensitive: ``contoso\\JDoe`` and ``CONTOSO\\jdoe`` are one person and
    must not become two accounts.
    """

    def clean_username(self, username: str) -> str:
        username = username.strip()
        existing = (get_user_model().objects.filter(username__iexact=username).order_by("pk")
                    .values_list("username", flat=True).first())
        return existing or username

    def configure_user(self, request, user, created=True):
        """An account made at the first sign-in has no password of its own: Windows signs it in."""
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
        return user
