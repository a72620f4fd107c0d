"""Sign-in lockout on top of django-axes: per user name and address, and per address alone.

django-axes counts failures for each lockout parameter but holds one failure limit for all of them,
so it cannot say "a user name from an address after 5 failures, the address alone after 20". Its
lockout parameters may be a callable: this one answers "the address alone" once the address has
reached ``EASCONSOLE_ADDRESS_FAILURE_LIMIT`` failures (across user names) within the cool-off window,
and "user name and address" otherwise, so password spraying from one address is stopped too.
The lockout page says which lock applies and when it ends.
"""
from __future__ import annotations

import datetime as dt

from axes.helpers import get_client_ip_address, get_client_username, get_cool_off
from axes.models import AccessAttempt
from axes.conf import settings
from django.shortcuts import render
from django.utils import timezone

BY_ACCOUNT = [["username", "ip_address"]]
BY_ADDRESS = ["ip_address"]


def _address(request_or_attempt) -> str | None:
    if isinstance(request_or_attempt, AccessAttempt):
        return request_or_attempt.ip_address
    return getattr(request_or_attempt, "axes_ip_address", None) or get_client_ip_address(request_or_attempt)


def _attempts(**where) -> list[tuple[dt.datetime, int]]:
    """(last failure, failures) of the attempts still inside the cool-off window, oldest first."""
    since = timezone.now() - get_cool_off()
    return list(AccessAttempt.objects.filter(attempt_time__gt=since, **where).order_by("attempt_time")
                .values_list("attempt_time", "failures_since_start"))


def _lock_ends(attempts: list[tuple[dt.datetime, int]], limit: int) -> dt.datetime | None:
    """When the failures left in the window fall under ``limit`` (each attempt leaves it a cool-off after its last failure)."""
    total, ends = sum(failures for _time, failures in attempts), None
    for time, failures in attempts:
        if total < limit:
            break
        total -= failures
        ends = time + get_cool_off()
    return ends


def lockout_parameters(request_or_attempt, credentials=None) -> list:
    """AXES_LOCKOUT_PARAMETERS: the address alone once it reached its own limit, else the user name with the address."""
    address = _address(request_or_attempt)
    if address and _lock_ends(_attempts(ip_address=address), settings.EASCONSOLE_ADDRESS_FAILURE_LIMIT):
        return BY_ADDRESS
    return BY_ACCOUNT


def lockout_response(request, original_response=None, credentials=None):
    """AXES_LOCKOUT_CALLABLE: the lockout page, saying which lock applies and until when (in the console's time zone)."""
    address = _address(request)
    username = get_client_username(request, credentials) or ""
    by_address = _lock_ends(_attempts(ip_address=address), settings.EASCONSOLE_ADDRESS_FAILURE_LIMIT)
    by_account = _lock_ends(_attempts(ip_address=address, username=username), settings.AXES_FAILURE_LIMIT)
    ends = max(filter(None, (by_address, by_account)), default=timezone.now() + get_cool_off())
    context = {
        "by_address": by_address is not None,
        "username": username,
        "address": address,
        "ends": timezone.localtime(ends),
        "minutes": int(get_cool_off().total_seconds() // 60),
        "account_limit": settings.AXES_FAILURE_LIMIT,
        "address_limit": settings.EASCONSOLE_ADDRESS_FAILURE_LIMIT,
    }
    return render(request, "registration/locked_out.html", context, status=settings.AXES_HTTP_RESPONSE_CODE)
