"""Tables of Assets and Compliance."""
from __future__ import annotations

import copy
from datetime import datetime

import django_tables2 as tables
from django.utils import dateformat
from django.urls import reverse
from django.utils.encoding import force_str
from django.utils.functional import cached_property
from django.utils.timezone import get_current_timezone, localtime
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.text import capfirst
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _

from devices.filtersets import POLICY_STATES
from devices.models import Collection, CollectionMember, Device
from easconsole.lean import escape
from easconsole.tables import ConsoleTable, LeanRowsMixin, TextColumn
from easconsole.text import visible
from easconsole.timefmt import moment
from easconsole.words import word, worded

ACCESS_STYLES = {"Allowed": "success", "Blocked": "danger", "Quarantined": "warning", "DeviceDiscovery": "info"}
WIPE_STYLES = {"DeviceWipePending": "warning", "DeviceWipeSucceeded": "danger", "DeviceBlocked": "secondary"}


_COLUMN_CHOICES: dict = {}


class _ColumnsCopiedOnePerTable(dict):
    """A table's ``base_columns``, which django-tables2 deep-copies for every table it makes: some 1,700 copies
    for the device list's 33 columns, a tenth of the page's CPU. A table only sets attributes on its columns
    (``visible``, ``accessor``, ``current_value``), never changes what they hold, so copying each column is enough."""

    def __deepcopy__(self, memo):
        return {name: copy.copy(column) for name, column in self.items()}


class ChooseColumnsMixin:
    """A table whose optional columns the user picks (``columns``); ``Meta.default_columns`` otherwise.

    Columns not chosen are excluded, so they are neither rendered, exported nor loaded from the database.
    """

    always = ("name",)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.base_columns = _ColumnsCopiedOnePerTable(cls.base_columns)

    def __init__(self, *args, columns=None, **kwargs):
        chosen = self.clean_columns(columns)
        kwargs["exclude"] = [name for name in self.choosable_columns() if name not in chosen]
        self.chosen_columns = chosen
        super().__init__(*args, **kwargs)

    @classmethod
    def choosable_columns(cls) -> list[str]:
        return list(cls._meta.fields)

    @classmethod
    def column_choices(cls) -> list[tuple[str, str]]:
        """The columns' names and labels, translated once per language (the chooser is on every page of the list)."""
        key = (cls, get_language())
        if key not in _COLUMN_CHOICES:
            _COLUMN_CHOICES[key] = [(name, capfirst(str(cls.base_columns[name].verbose_name or name)))
                                    for name in cls.choosable_columns()]
        return list(_COLUMN_CHOICES[key])

    @classmethod
    def clean_columns(cls, columns) -> list[str]:
        """The valid names among ``columns`` (defaults if none), the required ones first."""
        known = cls.choosable_columns()
        chosen = [name for name in (columns or ()) if name in known] or list(cls.Meta.default_columns)
        return [*[name for name in cls.always if name not in chosen], *chosen]


def export_text(value, zone=None) -> str:
    """A device field's value as the CSV exports write it: dates as local times to the second, Yes/No."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, datetime):
        return localtime(value, zone).strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, bool):
        return "Yes" if value else "No"
    return str(value)


def export_rows(table, queryset):
    """The header, then the plain values of the table's exported columns, one row per device of ``queryset``.

    Values come from ``values_list`` in chunks (no model instance, no column renderer per cell), so that
    exporting 100,000 devices takes seconds and little memory.
    """
    columns = [column for column in table.columns.iterall() if not column.column.exclude_from_export]
    yield [force_str(column.header) for column in columns]
    fields = ["connector__name" if column.name == "connector" else column.name for column in columns]
    zone = get_current_timezone()  # once: looking it up costs as much as formatting the date
    for values in queryset.values_list(*fields).iterator(chunk_size=2000):
        yield [export_text(value, zone) for value in values]


POLICY_LABELS = dict(POLICY_STATES)
_ANY_PK = 987654321  # stands for a device's id in its URL, reversed once per table


class DateTimeColumn(tables.Column):
    """A date and time in the console's time zone, as ``Y-m-d H:i``. django-tables2's own DateTimeColumn
    compiles a template for every cell (50 a page); formatting directly costs a tenth of it."""

    def render(self, value):
        return dateformat.format(localtime(value), "Y-m-d H:i")


class MomentColumn(tables.Column):
    """A date and time in the console's one format: "2 hours ago" within a week, the exact time (with its zone) in the tooltip."""

    def render(self, value):
        return moment(value)


class DeviceTable(ChooseColumnsMixin, LeanRowsMixin, ConsoleTable):
    # Ticks for the bulk actions; the inputs belong to the ribbon's form, and a tick does not open the details pane.
    select = tables.CheckBoxColumn(accessor="pk", exclude_from_export=True, attrs={
        "th__input": {"aria-label": _("Select every device on this page"), "form": "bulk-form", "data-select-all": "device"},
        "td__input": {"name": "device", "form": "bulk-form", "data-stop-click": "",  # static/js/console.js
                      "aria-label": lambda record: gettext("Select %(name)s") % {"name": visible(record.name)}},
    })
    name = TextColumn(_("Name"), order_by=("name", "device_id"))
    device_id = TextColumn(_("Device ID"))
    user_display_name = TextColumn(_("User"))
    connector = TextColumn(_("Exchange Server connector"), accessor="connector__name", order_by=("connector__name",))
    access_state = tables.Column(_("Access state"))
    status = tables.Column(_("Wipe status"))
    policy_application_status = tables.Column(_("Policy"), default=_("Unknown"))
    last_success_sync = MomentColumn(_("Last sync"))
    last_sync_attempt_time = MomentColumn(_("Last sync attempt"))
    first_sync_time = MomentColumn(_("First sync"))
    last_policy_update_time = MomentColumn(_("Last policy update"))
    device_wipe_request_time = MomentColumn(_("Wipe requested"))
    device_wipe_ack_time = MomentColumn(_("Wipe acknowledged"))
    missing_since = tables.Column(_("Missing from Exchange"))
    first_discovered = MomentColumn(_("First discovered"))

    def render_policy_application_status(self, value):
        return format_html('<span class="cell-wrap">{}</span>', POLICY_LABELS.get(value, POLICY_LABELS["Unknown"]))

    class Meta(ConsoleTable.Meta):
        model = Device
        fields = [
            "name", "device_id", "user_display_name", "user_principal_name", "mailbox", "device_type", "device_model",
            "friendly_name", "device_os", "device_os_language", "device_user_agent", "device_imei", "device_mobile_operator",
            "device_telephone_number", "device_active_sync_version", "client_type", "access_state", "access_state_reason",
            "access_control_rule", "last_success_sync", "last_sync_attempt_time", "first_sync_time",
            "last_policy_update_time", "policy_applied", "policy_application_status", "status",
            "device_wipe_request_time", "device_wipe_ack_time", "last_device_wipe_requestor", "connector", "missing_since",
            "first_discovered",
        ]
        # They fit 1440 px beside the details pane. The device type is already in the name (<user>_<DeviceType>), and the
        # Device ID is in the name's tooltip (two devices of one type for one user share the name); both can be chosen.
        default_columns = [
            "name", "user_display_name", "device_os", "access_state", "last_success_sync", "policy_application_status", "status",
        ]
        sequence = ("select", "...")
        empty_text = _("No devices match.")
        template_name = "devices/_table.html"
        attrs = {"class": "table table-sm table-hover align-middle console-table small text-nowrap"}
        row_attrs = {**ConsoleTable.Meta.row_attrs, "hx-get": lambda table, record: f"{table.device_url(record.pk)}?pane=1"}

    def device_url(self, pk: int) -> str:
        """``Device.get_absolute_url``, reversed once per table rather than twice per row (a fifteenth of the page's CPU)."""
        parts = self.__dict__.get("_device_url_parts")
        if parts is None:
            parts = self._device_url_parts = reverse("devices:device_detail", args=[_ANY_PK]).rpartition(str(_ANY_PK))
        return f"{parts[0]}{pk}{parts[2]}"

    @cached_property
    def _name_texts(self) -> tuple[str, str, str]:
        return gettext("Device ID: %(id)s"), gettext("Exchange no longer has this device"), gettext("missing")

    def render_name(self, record):
        """The name links to the device; a device Exchange no longer has says so whatever the columns."""
        device_id, missing_title, missing = self._name_texts
        # format_html's HTML, written directly: it is called for every row (lean.escape is its escaping).
        link = (f'<a href="{escape(self.device_url(record.pk))}" title="{escape(device_id % {"id": visible(record.device_id)})}">'
                f'{escape(visible(record.name))}</a>')
        if record.missing_since is None:
            return mark_safe(link)
        return mark_safe(f'{link} <span class="badge text-bg-secondary" title="{escape(missing_title)}">{escape(missing)}</span>')

    def render_access_state(self, value):
        return format_html('<span class="badge text-bg-{}" title="{}">{}</span>', ACCESS_STYLES.get(value, "light"), visible(value),
                           word("access_state", value))

    def render_status(self, value):
        style = WIPE_STYLES.get(value)
        if style:
            return format_html('<span class="badge text-bg-{}" title="{}">{}</span>', style, visible(value), word("status", value))
        return worded("status", value)

    def render_device_os(self, value):
        return format_html('<span class="cell-wrap">{}</span>', visible(value))  # "Windows Phone 10.0.15254" may take two lines

    def render_user_display_name(self, value):
        return mark_safe(f'<span class="cell-wrap">{escape(visible(value))}</span>')  # a user's name: one per row

    def render_device_id(self, value):
        # 32 characters would take a sixth of 1440 px: the start tells two devices apart, the whole ID is in the tooltip.
        return format_html('<span class="device-id" title="{}">{}</span>', visible(value), visible(value))

    def render_access_state_reason(self, value):
        return worded("access_state_reason", value)

    def render_device_model(self, value):
        return worded("device_model", value)

    def render_device_type(self, value):
        return worded("device_type", value)

    def render_missing_since(self, value):
        return format_html('<span class="badge text-bg-secondary" title="{}">{}</span>',
                           gettext("Exchange no longer has this device"), gettext("Missing since %(date)s") % {"date": f"{value:%Y-%m-%d}"})

    @classmethod
    def only_fields(cls, columns) -> list[str]:
        """The model fields the chosen columns need (for ``QuerySet.only``)."""
        fields = {"pk", "name", "device_id", "missing_since"}
        for name in columns:
            fields.add("connector__name" if name == "connector" else name)
        if "connector__name" in fields:
            fields.add("connector")
        return sorted(fields)


class CollectionTable(ConsoleTable):
    name = TextColumn(linkify=True)
    member_count = tables.Column(_("Members"), attrs={"td": {"class": "text-end"}})
    members_refreshed = DateTimeColumn(verbose_name=_("Membership refreshed"))

    class Meta(ConsoleTable.Meta):
        model = Collection
        fields = ["name", "member_count", "is_builtin", "comment", "members_refreshed", "created"]


class CollectionMemberTable(ConsoleTable):
    """The members of one collection, with how each came in."""

    select = tables.CheckBoxColumn(accessor="device_id", orderable=False, attrs={
        "th__input": {"aria-label": _("Select all")},
        "td__input": {"aria-label": lambda record: _("Select %(name)s") % {"name": visible(record.device.name)}}})
    name = TextColumn(_("Name"), accessor="device__name", linkify=lambda record: record.device.get_absolute_url(),
                      order_by=("device__name", "device__device_id"))
    device_id = TextColumn(_("Device ID"), accessor="device__device_id")
    user = TextColumn(_("User"), accessor="device__user_display_name")
    device_type = TextColumn(_("Device type"), accessor="device__device_type")
    device_os = TextColumn(_("Operating system"), accessor="device__device_os")
    last_sync = DateTimeColumn(verbose_name=_("Last sync"), accessor="device__last_success_sync", )
    direct = tables.BooleanColumn(verbose_name=_("Membership"), yesno=(_("Direct"), _("By rule")))

    class Meta(ConsoleTable.Meta):
        model = CollectionMember
        fields = ["select", "name", "device_id", "user", "device_type", "device_os", "last_sync", "direct"]
        row_attrs = {**ConsoleTable.Meta.row_attrs, "hx-get": lambda record: f"{record.device.get_absolute_url()}?pane=1"}
        empty_text = _("This collection has no members.")
        attrs = {"class": "table table-sm table-hover align-middle console-table small text-nowrap"}


class DevicePickTable(ConsoleTable):
    """Devices offered as direct members (Add Resources)."""

    select = tables.CheckBoxColumn(accessor="pk", exclude_from_export=True, orderable=False, attrs={
        "th__input": {"aria-label": _("Select all")},
        "td__input": {"aria-label": lambda record: _("Select %(name)s") % {"name": visible(record.name)}}})
    name = TextColumn(linkify=True)
    device_id = TextColumn(_("Device ID"))
    user_display_name = TextColumn(_("User"))
    last_success_sync = DateTimeColumn(verbose_name=_("Last sync"))

    class Meta(ConsoleTable.Meta):
        model = Device
        fields = ["select", "name", "device_id", "user_display_name", "device_type", "device_os", "last_success_sync"]
        row_attrs = {}
        empty_text = _("No devices match.")
