"""Tables of the Administration, Monitoring and Reports workspaces, and the columns every table shares."""
import django_tables2 as tables
from django.db import models
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _
from django_q.models import Task
from django_tables2 import utils as tables_utils
from django_tables2.columns import library

from easconsole import auditwords, text
from easconsole.lean import escape, template_writes
from easconsole.models import AuditEvent, ConsoleAccount, Role, RoleAssignment, Site

_signatures: dict = {}
_inspect_signature = tables_utils.signature


def _remembered_signature(fn):
    """django-tables2 inspects a renderer's signature for every cell it renders (500 on a page of
    the device list, a fifth of the page's CPU time); a function's signature never changes."""
    key = (getattr(fn, "__func__", fn), hasattr(fn, "__self__"))
    if key not in _signatures:
        _signatures[key] = _inspect_signature(fn)
    return _signatures[key]


tables_utils.signature = _remembered_signature


@library.register
class TextColumn(tables.Column):
    """Text shown so that no name can pass for another: a bidi override or a zero-width character
    appears as ``[U+202E]`` (``easconsole.text.visible``; the stored value is untouched).

    Registered with django-tables2, so every column a table makes from a text field is one; declare
    a text column as ``TextColumn`` too, and pass ``text.visible`` what a ``render_<name>`` builds.
    """

    def render(self, value):
        return text.visible(value) if isinstance(value, str) else value

    @classmethod
    def from_field(cls, field, **kwargs):
        # E-mail addresses and URLs keep their own columns (links).
        if cls is TextColumn and isinstance(field, (models.CharField, models.TextField)) and not isinstance(
                field, (models.EmailField, models.URLField)):
            return cls(**kwargs)
        return None


class ConsoleTable(tables.Table):
    """A table whose rows load their details into the details pane when clicked."""

    class Meta:
        attrs = {"class": "table table-sm table-hover align-middle console-table"}
        row_attrs = {
            "hx-get": lambda record: f"{record.get_absolute_url()}?pane=1" if hasattr(record, "get_absolute_url") else None,
            "hx-target": "#details-pane",
            "hx-trigger": "click",
            "class": "console-row",
            # Reachable from the keyboard: Enter or Space on a focused row opens its details (static/js/console.js).
            "tabindex": lambda record: "0" if hasattr(record, "get_absolute_url") else None,
        }


class LeanRowsMixin:
    """Renders a page's rows without django-tables2's work per cell, which is most of a long list's CPU time.

    django-tables2 resolves an accessor, gathers the renderer's arguments and goes through the template
    engine for every cell (400 on a page of the device list); here each column gets one small function
    once per page, and the row attributes that are not computed are written once per page. The HTML is
    that of ``<tr {{ row.attrs.as_html }}>{% for cell in row %}<td>{{ cell }}</td>{% endfor %}</tr>``
    (tests/easconsole/test_tables.py compares both); a column this does not cover (a link, a field with
    choices, a renderer wanting more than value, record and column) is left to django-tables2.

    Within one page, a renderer that takes the value alone writes one text (an access state, an operating
    system) the same way each time, so it is called once per distinct text of the page. Nothing is kept
    beyond the page.
    """

    LEAN_ARGUMENTS = {"value", "record", "column", "bound_column", "table"}

    def lean_rows(self) -> SafeString:
        cells = [self._lean_cell(bound) for bound in self.columns]
        attrs = self._lean_row_attrs()
        rows = []
        for number, row in enumerate(self.paginated_rows):
            record = row.record
            tds = "".join([f"<td>{cell(row, record)}</td>" for cell in cells])
            rows.append(f"<tr {attrs(record, number % 2)}>{tds}</tr>")
        return mark_safe("\n".join(rows))

    def _lean_row_attrs(self):
        """``row.attrs.as_html``: ``Meta.row_attrs`` computed for the record, ``even`` or ``odd`` added to the class."""
        arguments = {"table": self, "record": None}
        parts: list = []  # per attribute, in order: its HTML, CLASS, or (name, function, arguments) called per row
        for name, value in self.row_attrs.items():
            if name in tables_utils.AttributeDict.blacklist:
                continue
            if isinstance(value, dict) or (name == "class" and callable(value)):
                return self._computed_row_attrs()  # not met in the console's tables: django-tables2's own way
            if name == "class":
                parts.append(_CLASS)
            elif callable(value):
                wanted, catch_all = tables_utils.signature(value)
                if catch_all:
                    parts.append((escape(name), value, tuple(arguments)))
                elif set(wanted) <= arguments.keys():  # otherwise django-tables2 gives None: no attribute
                    parts.append((escape(name), value, tuple(wanted)))
            elif value is not None:
                parts.append(f'{escape(name)}="{escape(value)}"')
        if "class" not in self.row_attrs:
            parts.append(_CLASS)
        css = self.row_attrs.get("class")
        classes = [f'class="{escape(f"{css} {parity}" if css else parity)}"' for parity in ("even", "odd")]

        def attrs(record, odd: int) -> str:
            arguments["record"] = record
            written = []
            for part in parts:
                if part is _CLASS:
                    written.append(classes[odd])
                elif isinstance(part, str):
                    written.append(part)
                else:
                    name, function, wanted = part
                    value = function(**{key: arguments[key] for key in wanted})
                    if value is not None:
                        written.append(f'{name}="{escape(value)}"')
            return " ".join(written)

        return attrs

    def _computed_row_attrs(self):
        def attrs(record, odd: int) -> str:
            values = tables_utils.computed_values(self.row_attrs, kwargs={"table": self, "record": record})
            parity = "odd" if odd else "even"
            values["class"] = f"{values['class']} {parity}" if values.get("class") else parity
            return " ".join(f'{escape(name)}="{escape(value)}"' for name, value in values.items()
                            if value is not None and name not in tables_utils.AttributeDict.blacklist)

        return attrs

    def _lean_cell(self, bound):
        column, default, accessor, render = bound.column, bound.default, tables.A(bound.accessor), bound.render
        if isinstance(column, tables.CheckBoxColumn) and column.checked is None:
            return _lean_checkbox(bound, accessor)
        wanted, catch_all = tables_utils.signature(render)
        field = accessor.get_field(self._meta.model)
        if bound.link or catch_all or not set(wanted) <= self.LEAN_ARGUMENTS or getattr(field, "choices", None):
            return lambda row, record: template_writes(row.get_cell(bound.name))
        arguments = {"column": column, "bound_column": bound, "table": self}
        arguments = {name: value for name, value in arguments.items() if name in wanted}
        written: dict[str, str] | None = {} if list(wanted) == ["value"] else None  # this page's texts, written
        empty = template_writes(default) if not callable(default) else None
        resolve = accessor.resolve

        def cell(row, record) -> str:
            try:
                value = resolve(record)
            except Exception:  # a missing related row: django-tables2 shows the default
                value = None
            if value in column.empty_values:
                return empty if empty is not None else template_writes(bound.default)
            if written is not None and type(value) is str:
                html = written.get(value)
                if html is None:
                    html = written[value] = template_writes(render(value=value))
                return html
            if "value" in wanted:
                arguments["value"] = value
            if "record" in wanted:
                arguments["record"] = record
            return template_writes(render(**arguments))

        return cell


_CLASS = object()  # where a row's class (with its parity) goes among its attributes


def _lean_checkbox(bound, accessor):
    """``CheckBoxColumn.render``: ``<input type="checkbox" name=.. value=..>`` with the column's ``td__input``
    attributes, the fixed ones written once per page."""
    column = bound.column
    given = column.attrs.get("td__input") or column.attrs.get("input") or {}
    attributes = dict({"type": "checkbox", "name": bound.name, "value": _VALUE}, **given)
    parts = []
    for name, value in attributes.items():
        if name in tables_utils.AttributeDict.blacklist:
            continue
        if value is _VALUE:
            parts.append((escape(name), value, None))
        elif callable(value):  # call_with_appropriate's choice of arguments, made once per page rather than per row
            wanted, catch_all = tables_utils.signature(value)
            if catch_all:
                parts.append((escape(name), value, ("record", "value")))
            elif set(wanted) <= {"record", "value"}:
                parts.append((escape(name), value, wanted))
            # otherwise django-tables2 would not call it: no attribute
        elif isinstance(value, dict):
            return lambda row, record: template_writes(row.get_cell(bound.name))
        elif value is not None:
            parts.append(f'{escape(name)}="{escape(value)}"')

    def cell(row, record) -> str:
        try:
            value = accessor.resolve(record)
        except Exception:  # a missing related row: django-tables2 shows the default
            value = None
        if value in column.empty_values:
            return template_writes(bound.default)
        written = []
        for part in parts:
            if isinstance(part, str):
                written.append(part)
                continue
            name, given, wanted = part
            if given is _VALUE:
                computed = value
            else:
                arguments = {"record": record, "value": value}
                computed = given(**{key: arguments[key] for key in wanted})
            if computed is not None:
                written.append(f'{name}="{escape(computed)}"')
        return f"<input {' '.join(written)} />"

    return cell


_VALUE = object()  # the checkbox's value, the record's (accessor's) value


class SiteTable(ConsoleTable):
    code = tables.Column(linkify=True)
    name = tables.Column(linkify=True)

    class Meta(ConsoleTable.Meta):
        model = Site
        fields = ["code", "name", "description"]


class RoleAssignmentTable(ConsoleTable):
    principal = TextColumn(_("User or group"), accessor="principal_name", linkify=lambda record: record.get_absolute_url(),
                              order_by=("user__username", "group__name"))
    role = tables.Column(_("Security role"))
    scopes = tables.Column(_("Security scopes"), empty_values=(), orderable=False)

    class Meta(ConsoleTable.Meta):
        model = RoleAssignment
        fields = ["principal", "role", "scopes", "created"]

    def render_scopes(self, record):
        sites = _("all sites") if record.all_sites else ", ".join(s.code for s in record.sites.all())
        collections = _("all collections") if record.all_collections else ", ".join(c.name for c in record.collections.all())
        return f"{sites}; {collections}"


class RoleTable(ConsoleTable):
    name = tables.Column(linkify=True)

    class Meta(ConsoleTable.Meta):
        model = Role
        fields = ["name", "role_id", "description"]


class AuditEventTable(ConsoleTable):
    time = tables.DateTimeColumn(format="Y-m-d H:i:s T", linkify=True)
    action = tables.Column(_("Action"))

    def render_action(self, value, record):
        """The action in words ("Cancelled the wipe of anna_iPhone"); the recorded action in the tooltip."""
        said = auditwords.sentence(value, record.object_type, record.object_repr, record.outcome, record.changes)
        return format_html('<span title="{}">{}</span>', text.visible(value), text.visible(said))

    def value_action(self, value):
        return value  # the CSV keeps the recorded action, for filtering in a spreadsheet

    class Meta(ConsoleTable.Meta):
        model = AuditEvent
        fields = ["time", "username", "roles", "action", "object_type", "object_repr", "outcome", "address", "cmdlet", "message"]


class TaskTable(tables.Table):
    name = tables.Column(_("Task"))
    func = tables.Column(_("Function"))
    started = tables.DateTimeColumn(format="Y-m-d H:i:s")
    stopped = tables.DateTimeColumn(format="Y-m-d H:i:s")
    success = tables.BooleanColumn(_("Succeeded"))
    attempt_count = tables.Column(_("Attempts"))

    class Meta:
        model = Task
        fields = ["name", "func", "group", "started", "stopped", "success", "attempt_count"]
        attrs = {"class": "table table-sm table-hover align-middle console-table"}


class ExchangeConnectorTable(ConsoleTable):
    # Ticks for the ribbon's Check connection now: the inputs belong to the ribbon's form.
    select = tables.CheckBoxColumn(accessor="pk", exclude_from_export=True, orderable=False, attrs={
        "th__input": {"aria-label": _("Select"), "hidden": True},
        "td__input": {"name": "connector", "form": "check-form",
                      "aria-label": lambda record: _("Select %(name)s") % {"name": text.visible(record.name)}},
    })
    name = tables.Column(linkify=True)
    site = tables.Column(_("Site"))
    state = tables.Column(_("State"))
    organization_name = tables.Column(_("Exchange organization"))
    server_in_use = tables.Column(_("Server in use"))

    class Meta(ConsoleTable.Meta):
        from easconsole.models import ExchangeConnector

        model = ExchangeConnector
        fields = ["select", "name", "site", "environment", "state", "organization_name", "server_in_use", "installed_at", "checked_at"]


class ComponentStatusTable(ConsoleTable):
    """Monitoring ▸ Component Status: SMS_EXCHANGE_CONNECTOR per connector."""

    component = tables.Column(_("Component"), empty_values=(), orderable=False)
    name = tables.Column(_("Connector"), linkify=True)
    site = tables.Column(_("Site"))
    state = tables.Column(_("Status"))
    server_in_use = tables.Column(_("Server in use"))
    next_retry_at = tables.DateTimeColumn(verbose_name=_("Next attempt"), format="Y-m-d H:i")
    state_message = tables.Column(_("Description"))

    def render_component(self):
        return "SMS_EXCHANGE_CONNECTOR"


class StatusMessageTable(ConsoleTable):
    time = tables.DateTimeColumn(format="Y-m-d H:i:s", linkify=True)
    message_id = tables.Column(_("Message ID"))

    class Meta(ConsoleTable.Meta):
        from easconsole.models import StatusMessage

        model = StatusMessage
        fields = ["time", "severity", "site", "component", "message_id", "connector", "description"]


class AccountTable(ConsoleTable):
    """Administration ▸ Security ▸ Accounts."""

    username = TextColumn(verbose_name=_("User name"), linkify=True)
    name = TextColumn(verbose_name=_("Name"), accessor="get_full_name", order_by=("last_name", "first_name"))
    email = TextColumn(verbose_name=_("E-mail address"))
    is_active = tables.BooleanColumn(verbose_name=_("Enabled"))
    source = tables.Column(verbose_name=_("Signs in with"), orderable=False)
    last_login = tables.DateTimeColumn(verbose_name=_("Last sign-in"))

    class Meta(ConsoleTable.Meta):
        model = ConsoleAccount
        fields = ["username", "name", "email", "is_active", "source", "last_login"]
