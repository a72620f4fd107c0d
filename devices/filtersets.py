"""Filters of Assets and Compliance."""
from __future__ import annotations

from datetime import timedelta

import django_filters
from django import forms
from django.core.cache import cache
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from devices.history import ACCESS_TOKENS, sync_age_choices, sync_age_q
from devices.models import Collection, Device
from devices.selectors import collections_for
from easconsole import words
from easconsole.filtersets import FewModelChoiceFilter, SearchFilterSet, YesNoFilter
from easconsole.lean import LeanForm
from easconsole.models import ExchangeConnector
from easconsole.text import visible

# Exchange's tokens as the filters' values, shown in words (easconsole/words.py).
ACCESS_STATES = words.choices("access_state", ACCESS_TOKENS)
# DevicePolicyApplicationStatus as the Policy column and filter name it; anything else Exchange reports is Unknown.
POLICY_STATES = list(words.POLICY_STATUSES.items())
WIPE_STATUSES = words.choices("status", ("DeviceOk", "DeviceWipePending", "DeviceWipeSucceeded", "DeviceBlocked", "Unknown"))
# Operating system families by how DeviceOS starts ("iOS 17.5.1 21F90", "Android 14.0.0", ...).
OS_FAMILIES = {
    "ios": (_("iOS and iPadOS"), ("iOS",)),
    "android": (_("Android"), ("Android",)),
    "windows": (_("Windows"), ("Windows 1", "Windows 8", "Windows 7")),
    "windows_phone": (_("Windows Phone"), ("Windows Phone", "Windows Mobile")),
}


DEVICE_TYPES_CACHE_KEY = "devices:device-types"


def device_types() -> list[str]:
    """The device types Exchange reported, for the filter's choices. Kept a minute: reading the distinct
    types of 100,000 devices costs PostgreSQL 50-100 ms, on every page of 20 operators at once, and a
    new type appears only with a discovery."""
    types = cache.get(DEVICE_TYPES_CACHE_KEY)
    if types is None:
        types = list(Device.objects.order_by("device_type").values_list("device_type", flat=True).distinct())
        cache.set(DEVICE_TYPES_CACHE_KEY, types, 60)
    return types


def os_family_q(family: str) -> Q:
    if family == "other":
        query = Q()
        for _label, prefixes in OS_FAMILIES.values():
            for prefix in prefixes:
                query &= ~Q(device_os__startswith=prefix)
        return query
    query = Q(pk__in=[])
    for prefix in OS_FAMILIES.get(family, ("",))[1]:
        query |= Q(device_os__startswith=prefix)
    return query


class CollectionFilterSet(SearchFilterSet):
    search_fields = ("name", "comment")
    is_builtin = YesNoFilter(label=_("Built-in"))

    class Meta:
        model = Collection
        fields = ["q", "is_builtin"]


class DeviceFilterSet(SearchFilterSet):
    search_fields = ("name", "device_id", "user_display_name", "user_principal_name", "mailbox", "device_model", "device_imei")
    device_type = django_filters.ChoiceFilter(label=_("Device type"), choices=(), empty_label=_("Any"))
    os_family = django_filters.ChoiceFilter(
        label=_("Operating system"), method="filter_os_family", empty_label=_("Any"),
        choices=[*[(key, label) for key, (label, _prefixes) in OS_FAMILIES.items()], ("other", _("Other"))],
    )
    access_state = django_filters.ChoiceFilter(label=_("Access state"), choices=ACCESS_STATES, empty_label=_("Any"))
    status = django_filters.ChoiceFilter(label=_("Wipe status"), choices=WIPE_STATUSES, empty_label=_("Any"))
    policy = django_filters.ChoiceFilter(label=_("Policy"), choices=POLICY_STATES, empty_label=_("Any"), method="filter_policy")
    connector = FewModelChoiceFilter(label=_("Connector"), queryset=ExchangeConnector.objects.only("pk", "name").order_by("name"),
                                                 empty_label=_("Any"))
    collection = FewModelChoiceFilter(label=_("Collection"), queryset=Collection.objects.none(),
                                                  method="filter_collection", empty_label=_("Any"))
    inactive_days = django_filters.NumberFilter(
        label=_("Inactive for more than (days)"), method="filter_inactive", min_value=0, max_value=36_500,
        widget=forms.NumberInput(attrs={"min": 0, "max": 36_500, "class": "form-control form-control-sm input-days"}),
    )
    sync_age = django_filters.ChoiceFilter(label=_("Last sync"), choices=sync_age_choices, method="filter_sync_age",
                                           empty_label=_("Any"))
    missing = YesNoFilter(label=_("Missing from Exchange"), method="filter_missing")

    class Meta:
        model = Device
        form = LeanForm  # its widgets written in Python: the form is on every page of the device list
        fields = ["q", "device_type", "os_family", "access_state", "status", "policy", "connector", "collection", "inactive_days",
                  "sync_age", "missing"]

    def __init__(self, *args, request=None, **kwargs):
        super().__init__(*args, request=request, **kwargs)
        self.filters["device_type"].extra["choices"] = lambda: [(t, visible(t)) for t in device_types() if t]
        user = getattr(request, "user", None)
        if user is not None:
            self.filters["collection"].queryset = collections_for(user).only("pk", "name")

    @property
    def form(self):
        form = super().form
        for field in form.fields.values():
            css = "form-select form-select-sm" if isinstance(field.widget, forms.Select) else "form-control form-control-sm"
            field.widget.attrs.setdefault("class", css)
        return form

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return super().search(queryset, name, value)

    def filter_sync_age(self, queryset, name, value: str):
        return queryset.filter(sync_age_q(value, timezone.now())) if value else queryset

    def filter_os_family(self, queryset, name, value):
        return queryset.filter(os_family_q(value)) if value else queryset

    def filter_policy(self, queryset, name, value):
        if not value:
            return queryset
        if value == "Unknown":
            return queryset.exclude(policy_application_status__in=[k for k, _label in POLICY_STATES if k != "Unknown"])
        return queryset.filter(policy_application_status=value)

    @extend_schema_field(OpenApiTypes.INT)  # the API's schema: a collection's id
    def filter_collection(self, queryset, name, value):
        return queryset.filter(memberships__collection=value) if value else queryset

    def filter_inactive(self, queryset, name, value):
        if value is None:
            return queryset
        limit = timezone.now() - timedelta(days=int(value))
        return queryset.filter(Q(last_success_sync__lt=limit) | Q(last_success_sync__isnull=True))

    def filter_missing(self, queryset, name, value):
        return queryset if value is None else queryset.filter(missing_since__isnull=not value)
