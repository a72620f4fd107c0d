"""Console accounts as the Local Accounts page sees them, and the directory's stored secret."""
from django.contrib.auth import get_user_model
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _


class ConsoleAccount(get_user_model()):
    """A person's console account (Django's user), with the pages of Administration ▸ Security ▸ Accounts."""

    class Meta:
        proxy = True
        ordering = ["username"]
        verbose_name = _("account")
        verbose_name_plural = _("accounts")
        default_permissions = ()

    def __str__(self) -> str:
        return self.username

    def get_absolute_url(self) -> str:
        return reverse("easconsole:consoleaccount_detail", args=[self.pk])

    @property
    def source(self) -> str:
        """Local (a password of its own), or made at sign-in by the directory or Entra ID (no usable password)."""
        return str(_("Local")) if self.has_usable_password() else str(_("Directory"))


class DirectorySecret(models.Model):
    """The directory's bind password, encrypted like connector passwords (easconsole/credentials.py)."""

    name = models.CharField(_("name"), max_length=50, unique=True)
    secret_encrypted = models.TextField(_("secret (encrypted)"), blank=True)
    changed = models.DateTimeField(_("changed"), auto_now=True)

    class Meta:
        verbose_name = _("directory secret")
        default_permissions = ()

    def __str__(self) -> str:
        return self.name
