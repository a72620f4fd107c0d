"""Filters of Assets and Compliance."""
from devices.models import Collection
from django.utils.translation import gettext_lazy as _

from easconsole.filtersets import SearchFilterSet, YesNoFilter


class CollectionFilterSet(SearchFilterSet):
    search_fields = ("name", "comment")
    is_builtin = YesNoFilter(label=_("Built-in"))

    class Meta:
        model = Collection
        fields = ["q", "is_builtin"]
