"""Cursor pagination: stable pages however many devices a discovery adds meanwhile."""
from rest_framework.pagination import CursorPagination


class ConsoleCursorPagination(CursorPagination):
    ordering = "-pk"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
