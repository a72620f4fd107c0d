"""Errors as RFC 9457 problem details (``application/problem+json``), documented on every operation."""
from __future__ import annotations

from http import HTTPStatus

from django.http import JsonResponse
from django.views import defaults
from drf_spectacular.openapi import AutoSchema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import exception_handler

PROBLEM_TYPE = "application/problem+json"


class Problem(Exception):
    """A refusal with its status and message (a conflicting Idempotency-Key, an action not possible now)."""

    def __init__(self, status: int, detail: str):
        super().__init__(detail)
        self.status, self.detail = status, detail


class ProblemSerializer(serializers.Serializer):
    """RFC 9457: what went wrong; ``errors`` names the fields of a request that were refused, and why."""

    type = serializers.CharField()
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    errors = serializers.JSONField(required=False)


def problem_response(status: int, detail: str, errors=None) -> Response:
    body = {"type": "about:blank", "title": HTTPStatus(status).phrase, "status": status, "detail": detail}
    if errors is not None:
        body["errors"] = errors
    return Response(body, status=status, content_type=PROBLEM_TYPE)


def problem_exception_handler(exc, context):
    """DRF's answer to an exception, rewritten as a problem document (field errors kept under ``errors``)."""
    if isinstance(exc, Problem):
        return problem_response(exc.status, exc.detail)
    response = exception_handler(exc, context)
    if response is None:
        return None  # a server error: Django's handler answers and logs it
    data = response.data
    if isinstance(data, dict) and set(data) == {"detail"}:
        problem = problem_response(response.status_code, str(data["detail"]))
    else:
        problem = problem_response(response.status_code, "The request has invalid values.", errors=data)
    for header in ("WWW-Authenticate", "Retry-After", "Allow"):
        if header in response:
            problem[header] = response[header]
    return problem


class ProblemAutoSchema(AutoSchema):
    """The schema of each operation also lists the problems it may answer with."""

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        codes = [400, 401, 403, 404, 405, 406]
        if self.method == "POST":
            codes += [409, 415, 422]
        for code in codes:
            responses.setdefault(str(code), self._get_response_for_code(ProblemSerializer, str(code), media_types=[PROBLEM_TYPE]))
        return responses


def page_not_found(request, exception):
    """The project's 404: a problem document under /api/ (a client of the API never gets a page), the console's page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse({"type": "about:blank", "title": "Not Found", "status": 404,
                             "detail": "No such resource or object."}, status=404, content_type=PROBLEM_TYPE)
    return defaults.page_not_found(request, exception)
