"""Writing many rows at once with one prepared statement (``executemany``).

Django's ``bulk_create`` builds the SQL of every batch again, preparing each value of each row
through its field, and on SQLite cuts a batch of devices (about fifty columns) into statements of
about twenty rows (999 parameters at most): for a discovery of 10,000 devices that was most of the
time spent writing. Here the statement is built once (the conflict clause by Django's own backend
operations, so it is right for PostgreSQL and SQLite alike), only the values that need it go
through their field (dates, GUIDs, JSON), and the driver runs it for every row.
"""
from __future__ import annotations

import datetime as dt
from typing import Any, Callable, Iterable, Sequence

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Model
from django.db.models.constants import OnConflict

# Values the drivers take as they are (None included).
_AS_IS = frozenset({"CharField", "TextField", "IntegerField", "BigIntegerField", "SmallIntegerField",
                    "PositiveIntegerField", "BooleanField", "ForeignKey", "FloatField"})


def _converter(field) -> Callable[[Any], Any] | None:
    kind = field.get_internal_type()
    if kind in _AS_IS:
        return None
    if kind == "DateTimeField":
        return _datetime_converter()
    if kind == "UUIDField" and not connection.features.has_native_uuid_field:
        return lambda value: None if value is None else value.hex
    return lambda value: None if value is None else field.get_db_prep_save(value, connection)


def _datetime_converter() -> Callable[[Any], Any] | None:
    """What the backend's ``adapt_datetimefield_value`` gives, at a fraction of its cost for aware datetimes.

    PostgreSQL takes datetimes as they are; SQLite stores the text of the naive datetime in the
    connection's time zone, which is ``str(value.astimezone(tz).replace(tzinfo=None))``: Django's own
    ``make_naive`` and ``str`` without their checks per value (naive ones still go through Django);
    in UTC (the default) the ISO form cut off its offset, cheaper still than ``replace``.
    """
    adapt = connection.ops.adapt_datetimefield_value
    if connection.vendor == "postgresql":
        return None
    if connection.vendor != "sqlite" or not settings.USE_TZ:
        return lambda value: None if value is None else adapt(value)
    tz = connection.timezone

    def sqlite_text(value):
        if value is None or value.tzinfo is None:
            return adapt(value)
        return str(value.astimezone(tz).replace(tzinfo=None))

    def sqlite_utc_text(value):  # the same text: the UTC time's ISO form without its "+00:00"
        if value is None or value.tzinfo is None:
            return adapt(value)
        return value.astimezone(dt.timezone.utc).isoformat(" ")[:-6]

    return sqlite_utc_text if tz == dt.timezone.utc else sqlite_text


def insert(model: type[Model], names: Sequence[str], rows: Iterable[Sequence[Any]], *,
           unique: Sequence[str] = (), update: Sequence[str] = ()) -> None:
    """Insert ``rows`` (values in the order of ``names``, model field names) into ``model``'s table.

    With ``unique`` and ``update``, a row whose ``unique`` fields match an existing row updates that
    row's ``update`` fields instead (INSERT … ON CONFLICT DO UPDATE). Rows get no defaults and run no
    ``pre_save``: give every column the table needs.
    """
    fields = [model._meta.get_field(name) for name in names]
    ops = connection.ops
    sql = (f"INSERT INTO {ops.quote_name(model._meta.db_table)} "
           f"({', '.join(ops.quote_name(f.column) for f in fields)}) VALUES ({', '.join(['%s'] * len(fields))})")
    if update:
        column = lambda name: model._meta.get_field(name).column  # noqa: E731
        suffix = ops.on_conflict_suffix_sql(fields, OnConflict.UPDATE, [column(n) for n in update],
                                            [column(n) for n in unique])
        sql = f"{sql} {suffix}"
    convert = [(index, c) for index, c in enumerate(_converter(f) for f in fields) if c is not None]
    params = []
    for row in rows:
        values = list(row)
        for index, c in convert:
            values[index] = c(values[index])
        params.append(values)
    if params:  # one transaction: in autocommit mode SQLite would commit (and sync) every row
        with transaction.atomic(savepoint=False), connection.cursor() as cursor:
            cursor.executemany(sql, params)
