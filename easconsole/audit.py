"""Writing the append-only audit trail. Every service that changes something calls ``record``."""
from __future__ import annotations

from typing import Any

from django.db.models import Model, Q

from easconsole.models import AuditEvent, RoleAssignment


def roles_of(user) -> str:
    """The names of the roles a user holds directly or through groups, for the record."""
    if user is None or not user.is_authenticated:
        return ""
    names = set(
        RoleAssignment.objects.filter(Q(user=user) | Q(group__user=user)).values_list("role__name", flat=True)
    )
    return ", ".join(sorted(names))


def record(
    *,
    user,
    action: str,
    obj: Model | None = None,
    address: str | None = None,
    outcome: str = AuditEvent.Outcome.SUCCESS,
    message: str = "",
    changes: dict[str, Any] | None = None,
    cmdlet: str = "",
    parameters: dict[str, Any] | None = None,
    exchange_answer: str = "",
    object_type: str = "",
    object_repr: str = "",
    username: str = "",
) -> AuditEvent:
    """Append one event. ``obj`` may be None (a sign-in); ``username`` names who tried when no one is signed in."""
    signed_in = user is not None and user.is_authenticated
    return AuditEvent.objects.create(
        user=user if signed_in else None,
        username=user.get_username() if signed_in else (username or "system"),
        roles=roles_of(user) if signed_in else "",
        action=action,
        object_type=object_type or (obj._meta.verbose_name if obj is not None else ""),
        object_id=str(obj.pk) if obj is not None and obj.pk is not None else "",
        object_repr=(object_repr or (str(obj) if obj is not None else ""))[:300],
        address=address,
        outcome=outcome,
        message=message,
        changes=changes or {},
        cmdlet=cmdlet,
        parameters=parameters or {},
        exchange_answer=exchange_answer,
    )


def client_address(request) -> str | None:
    """The address a request came from (the front server's, unless it rewrites REMOTE_ADDR)."""
    return request.META.get("REMOTE_ADDR") or None
