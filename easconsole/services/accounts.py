"""Writes of Administration ▸ Security ▸ Accounts: create, change, disable and set the password of a
console account, each audited (never with the password itself)."""
from __future__ import annotations

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from easconsole import audit
from easconsole.models import ConsoleAccount
from easconsole.services import object_save

ACCOUNT_FIELDS = ["username", "first_name", "last_name", "email", "is_active"]


def account_save(*, account: ConsoleAccount, user, password: str = "", address: str | None = None) -> ConsoleAccount:
    """Create (with ``password``) or change an account. Nobody can disable the account they are signed in with."""
    if account.pk and account.pk == getattr(user, "pk", None) and not account.is_active:
        raise ValidationError(_("You cannot disable the account you are signed in with."))
    with transaction.atomic():
        if account.pk is None:
            validate_password(password, account)
            account.set_password(password)
        return object_save(obj=account, user=user, fields=ACCOUNT_FIELDS, address=address)


def account_set_password(*, account: ConsoleAccount, user, password: str, address: str | None = None) -> ConsoleAccount:
    """Give the account a new password (a directory account becomes a local one that can also sign in here)."""
    validate_password(password, account)
    with transaction.atomic():
        account.set_password(password)
        account.save(update_fields=["password"])
        audit.record(user=user, action="reset password", obj=account, address=address)
    return account
