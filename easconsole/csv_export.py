"""The one CSV writer of the console: every export (lists, device list, reports, audit trail) goes through it.

Cells come from people and devices (a failed sign-in's user name, a device's name or notes), so a cell
that a spreadsheet would run as a formula is neutralised as OWASP recommends: a leading ``'`` before a
cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return. Numbers stay numbers, and so
do telephone numbers and negative numbers written as text.
"""
from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator
from decimal import Decimal

from django.http import HttpResponse, StreamingHttpResponse
from django.utils.encoding import force_str

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = re.compile(r"[+-][\d\s().-]*")  # a telephone number or a negative number, not a formula
CONTENT_TYPE = "text/csv; charset=utf-8"


def csv_safe(value) -> object:
    """The cell for ``value``: numbers as they are, text that a spreadsheet would run as a formula behind a ``'``."""
    if isinstance(value, str):  # most cells: checked first, an export writes millions of them
        text = value
    elif value is None:
        return ""
    elif isinstance(value, (int, float, Decimal)):  # bool is an int: exported as True/False, never a formula
        return value
    else:
        text = force_str(value)
    if text.startswith(FORMULA_START) and not PLAIN_NUMBER.fullmatch(text):
        return f"'{text}"
    return text


def safe_rows(rows: Iterable[Iterable]) -> Iterable[list]:
    return ([csv_safe(value) for value in row] for row in rows)


def _attachment(response, filename: str):
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def csv_response(rows: Iterable[Iterable], filename: str) -> HttpResponse:
    """A CSV download of ``rows`` (the first one the header), for exports that fit in memory."""
    response = HttpResponse(content_type=CONTENT_TYPE)
    csv.writer(response).writerows(safe_rows(rows))
    return _attachment(response, filename)


def _chunks(rows: Iterable[Iterable], size: int = 64 * 1024) -> Iterator[str]:
    """The CSV text of ``rows`` in pieces of about ``size`` characters (a piece per row costs the response more than the row)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in safe_rows(rows):
        writer.writerow(row)
        if buffer.tell() >= size:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def streamed_csv(rows: Iterable[Iterable], filename: str) -> StreamingHttpResponse:
    """A CSV download written as ``rows`` yields them: 100,000 devices never sit in memory at once."""
    response = StreamingHttpResponse(_chunks(rows), content_type=CONTENT_TYPE)
    return _attachment(response, filename)
