"""Reads for Edit Primary Users: the accounts that can be made primary users of a device."""
from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet

from devices.models import Device

SEARCH_LIMIT = 25


def users_matching(query: str, *, device: Device, limit: int = SEARCH_LIMIT) -> QuerySet:
    """Active accounts whose user name, first or last name, full name or email contains ``query``, not yet linked to ``device``."""
    query = query.strip()
    if not query:
        return get_user_model().objects.none()
    condition = Q(username__icontains=query) | Q(first_name__icontains=query) | Q(last_name__icontains=query) | Q(email__icontains=query)
    first, _space, last = query.partition(" ")
    if last:
        condition |= Q(first_name__icontains=first, last_name__icontains=last.strip())
    return (get_user_model().objects.filter(condition, is_active=True).exclude(device_affinities__device=device)
            .order_by("username")[:limit])
