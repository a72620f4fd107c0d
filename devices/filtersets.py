"""Filters of Assets and Compliance."""
from devices.models import Collection
from easconsole.filtersets import SearchFilterSet


class CollectionFilterSet(SearchFilterSet):
    search_fields = ("name", "comment")

    class Meta:
        model = Collection
        fields = ["q", "is_builtin"]
