"""``Idempotency-Key``: a request retried with the same key gets the first answer again, and changes nothing.

The answer of a request that succeeded is kept per user and key; the same key with another request (a
different path or body) is refused with 422, so a script's mistake cannot pass for a retry. A refused
request keeps nothing: it may be retried with the same key. Answers are kept 24 hours (as Stripe's API
does); each user's older ones are dropped when they send a new key.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Callable

from django.db import IntegrityError, transaction
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter
from rest_framework.response import Response

from easconsole.api.problems import Problem
from easconsole.models import IdempotentRequest

HEADER = "Idempotency-Key"
KEPT_FOR = dt.timedelta(hours=24)
PARAMETER = OpenApiParameter(
    HEADER, str, OpenApiParameter.HEADER, required=False,
    description="A key of your choosing (a UUID). A request retried with the same key within 24 hours is answered as the "
                "first time and requests nothing again; the same key with a different request is refused (422).")


def fingerprint(request) -> str:
    body = json.dumps([request.method, request.path, request.data], sort_keys=True, default=str)
    return hashlib.sha256(body.encode()).hexdigest()


def idempotent(request, respond: Callable[[], Response]) -> Response:
    """Answer with ``respond()``, or with the kept answer of the first request that carried this key."""
    key = request.headers.get(HEADER, "").strip()
    if not key:
        return respond()
    if len(key) > 255:
        raise Problem(400, "An Idempotency-Key has at most 255 characters.")
    request_print = fingerprint(request)
    mine = IdempotentRequest.objects.filter(user=request.user)
    kept = mine.filter(key=key, created__gte=timezone.now() - KEPT_FOR).first()
    if kept is None:
        mine.filter(created__lt=timezone.now() - KEPT_FOR).delete()
        response = respond()
        if not 200 <= response.status_code < 300:
            return response
        try:
            with transaction.atomic():
                IdempotentRequest.objects.create(user=request.user, key=key, fingerprint=request_print,
                                                 status=response.status_code, response=response.data)
            return response
        except IntegrityError:  # the same key arrived twice at once: the first one kept is the answer
            kept = IdempotentRequest.objects.get(user=request.user, key=key)
    if kept.fingerprint != request_print:
        raise Problem(422, f"This {HEADER} was already used for a different request.")
    return Response(kept.response, status=kept.status, headers={"Idempotent-Replayed": "true"})
