"""The connector's cleanup rule, and the date range of Reports ▸ Removed stale devices."""
import django_filters
from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from devices.cleanup.models import CleanupCandidate, CleanupRule
from easconsole.filtersets import DateInput
from easconsole.forms.base import ConsoleModelForm


class CleanupRuleForm(ConsoleModelForm):
    class Meta:
        model = CleanupRule
        fields = ["enabled", "days_not_synced"]
        widgets = {"days_not_synced": forms.NumberInput(attrs={"min": 30, "max": 3650})}


class RemovedDeviceFilterSet(django_filters.FilterSet):
    """Removed between two dates (inclusive), on one connector."""

    removed_after = django_filters.DateFilter(field_name="action__finished_at", lookup_expr="date__gte", label=_("Removed from"),
                                              widget=DateInput)
    removed_before = django_filters.DateFilter(field_name="action__finished_at", lookup_expr="date__lte", label=_("Until"),
                                               widget=DateInput)
    q = django_filters.CharFilter(label=_("Device or user"), method="search")

    class Meta:
        model = CleanupCandidate
        fields = ["removed_after", "removed_before", "q"]

    def search(self, queryset, name, value):
        return queryset.filter(Q(device_name__icontains=value) | Q(user__icontains=value) | Q(exchange_device_id__icontains=value))
