"""Filters of the console lists (django-filter), each with the form the list shows."""
import django_filters
import django_filters.fields
from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from easconsole.auditwords import SIGN_INS
from easconsole.models import AuditEvent, ConsoleAccount, RoleAssignment, Site, StatusMessage


class DateInput(django_filters.widgets.forms.DateInput):
    input_type = "date"


class YesNoFilter(django_filters.BooleanFilter):
    """A yes/no filter whose empty choice reads "Any" rather than "Unknown"."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", forms.Select(choices=[("", _("Any")), ("true", _("Yes")), ("false", _("No"))]))
        super().__init__(*args, **kwargs)


class FewChoicesIterator(django_filters.fields.ModelChoiceIterator):
    """The choices of a short list (connectors, collections) read with one plain query. Django reads them
    through ``QuerySet.iterator()``, which on PostgreSQL opens a server-side cursor: DECLARE, FETCH and CLOSE,
    three round trips for a handful of rows, on every page of a list."""

    def __iter__(self):
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        if self.field.null_label is not None:
            yield (self.field.null_value, self.field.null_label)
        for obj in self.queryset.all():
            yield self.choice(obj)


class FewChoicesField(django_filters.fields.ModelChoiceField):
    iterator = FewChoicesIterator


class FewModelChoiceFilter(django_filters.ModelChoiceFilter):
    """A ``ModelChoiceFilter`` over a short list of objects (``FewChoicesIterator``)."""

    field_class = FewChoicesField


class SearchFilterSet(django_filters.FilterSet):
    """A filter set with a free-text ``q`` over ``search_fields``."""

    search_fields: tuple[str, ...] = ()
    q = django_filters.CharFilter(label=_("Search"), method="search")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The API's schema generator (drf-spectacular) reads the class's filters and leaves their form fields
        # built; this filter set's copies build theirs again, with this request's choices and querysets.
        for filter_ in self.filters.values():
            vars(filter_).pop("_field", None)

    def search(self, queryset, name, value):
        query = Q()
        for field in self.search_fields:
            query |= Q(**{f"{field}__icontains": value.strip()})
        return queryset.filter(query)


class SiteFilterSet(SearchFilterSet):
    search_fields = ("code", "name", "description")

    class Meta:
        model = Site
        fields = ["q"]


class RoleAssignmentFilterSet(SearchFilterSet):
    search_fields = ("user__username", "group__name", "role__name")

    class Meta:
        model = RoleAssignment
        fields = ["q", "role"]


class AuditEventFilterSet(SearchFilterSet):
    search_fields = ("username", "action", "object_repr", "message", "cmdlet")
    time_after = django_filters.DateFilter(field_name="time", lookup_expr="date__gte", label=_("From"), widget=DateInput)
    time_before = django_filters.DateFilter(field_name="time", lookup_expr="date__lte", label=_("Until"), widget=DateInput)
    action = django_filters.CharFilter(label=_("Action"), lookup_expr="iexact")
    hide_sign_ins = django_filters.BooleanFilter(label=_("Hide sign-ins"), method="filter_hide_sign_ins",
                                                 widget=forms.CheckboxInput)

    class Meta:
        model = AuditEvent
        fields = ["q", "action", "outcome", "time_after", "time_before", "hide_sign_ins"]

    def filter_hide_sign_ins(self, queryset, name, value):
        return queryset.exclude(action__in=SIGN_INS) if value else queryset


class StatusMessageFilterSet(SearchFilterSet):
    search_fields = ("description", "component")

    class Meta:
        model = StatusMessage
        fields = ["q", "severity", "message_id", "connector"]


class AccountFilterSet(SearchFilterSet):
    search_fields = ("username", "first_name", "last_name", "email")
    is_active = YesNoFilter(label=_("Enabled"))

    class Meta:
        model = ConsoleAccount
        fields = ["q", "is_active"]
