"""Personal API tokens: created (shown once), looked up by their hash, revoked; creating and revoking are audited."""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from easconsole import audit
from easconsole.models import ApiToken

TOKEN_PREFIX = "eas_"
LIFETIMES_DAYS = (7, 30, 90, 365)
# A token's last use is written at most this often, so that a busy script does not write on every request.
LAST_USED_PRECISION = dt.timedelta(minutes=1)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def api_token_create(*, user, name: str, days: int, address: str | None = None) -> tuple[ApiToken, str]:
    """A new token of ``user``, valid ``days`` days. Returns the row and the token itself, which is not kept."""
    if days not in LIFETIMES_DAYS:
        raise ValidationError(_("Choose a lifetime of %(days)s days.") % {"days": ", ".join(map(str, LIFETIMES_DAYS))})
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user=user, name=name.strip(), prefix=plain[:12], digest=digest(plain),
                     expires=timezone.now() + dt.timedelta(days=days))
    token.full_clean()
    with transaction.atomic():
        token.save()
        audit.record(user=user, action="create API token", obj=token, address=address,
                     message=_("Expires %(when)s.") % {"when": f"{token.expires:%Y-%m-%d %H:%M} UTC"})
    return token, plain


def api_token_revoke(*, token: ApiToken, user, address: str | None = None) -> ApiToken:
    """Revoke one of ``user``'s own tokens (at once: the next request with it is refused)."""
    if token.user_id != user.pk:
        raise PermissionDenied
    if token.revoked is None:
        with transaction.atomic():
            token.revoked = timezone.now()
            token.save(update_fields=["revoked"])
            audit.record(user=user, action="revoke API token", obj=token, address=address)
    return token


def api_token_user(plain: str):
    """The token matching ``plain`` if it is usable (not revoked, not expired), its last use noted; else None."""
    token = ApiToken.objects.select_related("user").filter(digest=digest(plain)).first()
    if token is None or not token.is_usable or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used is None or now - token.last_used > LAST_USED_PRECISION:
        ApiToken.objects.filter(pk=token.pk).update(last_used=now)
        token.last_used = now
    return token
