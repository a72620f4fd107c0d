"""Paging long device lists cheaply: the page's ids first, then those rows only (a "deferred join").

A page far down a sorted list of 100,000 devices costs the database an OFFSET walk; walking the
ordering index for ids alone is cheap, reading every skipped row is not. A filter that matches few
devices (pending wipes, devices missing from Exchange) is better served by its own index: the ids of
all matches come first, and only those rows are sorted. Either way a page costs three queries
(count, ids, rows), whatever its size and position; except the first pages of a long list, the pages
people open most, where skipping a few hundred rows costs the database less than a query more: two
(count, rows).
"""
from __future__ import annotations

from django.core.paginator import Paginator
from django_tables2.rows import BoundRows

SMALL_RESULT = 2000  # at most this many matches: fetch all their ids through the filter's index
DIRECT_ROWS = 1000  # a page of a longer list that starts before this row is read in one query (its first 20 pages)


class DeferredJoinPaginator(Paginator):
    """A paginator of a django-tables2 table's rows over a queryset (``BoundRows`` of ``TableQuerysetData``)."""

    def page(self, number):
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = min(bottom + self.per_page, self.count)
        rows: BoundRows = self.object_list
        queryset = rows.data.data  # filtered and ordered as the table asks
        if self.count <= SMALL_RESULT:
            ids = list(queryset.order_by().values_list("pk", flat=True))
            records = list(queryset.filter(pk__in=ids)[bottom:top])
        elif bottom < DIRECT_ROWS:
            records = list(queryset[bottom:top])
        else:
            ids = list(queryset.values_list("pk", flat=True)[bottom:top])
            position = {pk: index for index, pk in enumerate(ids)}
            records = sorted(queryset.filter(pk__in=ids).order_by(), key=lambda record: position[record.pk])
        return self._get_page(BoundRows(records, table=rows.table, pinned_data=rows.pinned_data), number, self)
