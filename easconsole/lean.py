"""HTML written in Python where Django's template engine costs most of a busy page's CPU time.

Each writer gives, character for character, what the template it stands for gives
(tests/easconsole/test_lean.py compares them); anything it does not know is left to the template.

- ``escape`` and ``template_writes``: ``conditional_escape`` and ``{{ value }}``.
- ``LeanFormRenderer``: Django's form renderer, with the inputs and selects written directly. A list's
  filter form (ten fields, some sixty options) costs some 5 ms per page through the templates
  (``django/forms/widgets/select.html`` includes a template for every option), a fifth of that here.
  Forms use it through ``LeanForm``.
"""
from __future__ import annotations

import html

from django import forms
from django.forms.renderers import DjangoTemplates
from django.utils.formats import localize
from django.utils.functional import Promise
from django.utils.html import conditional_escape
from django.utils.safestring import SafeData, mark_safe
from django.utils.timezone import template_localtime


def escape(value) -> str:
    """``conditional_escape`` without its wrapper for lazy arguments (called for most cells of a page)."""
    if isinstance(value, str):
        return value if isinstance(value, SafeData) else html.escape(value)
    return conditional_escape(value)


def template_writes(value) -> str:
    """``{{ value }}`` in a template: local time, localized, escaped unless safe."""
    if isinstance(value, str):  # text is neither a time nor a number: written as it is, escaped unless safe
        return value if isinstance(value, SafeData) else html.escape(value)
    return conditional_escape(str(localize(template_localtime(value))))


class _Unknown(Exception):
    """Something the writers do not cover: the template writes it."""


def _plain(value):
    """A value the templates would not call (callables are called by the template engine): left to them."""
    if callable(value) and not isinstance(value, Promise):
        raise _Unknown
    return value


def _stringformat(value) -> str:
    """``{{ value|stringformat:'s' }}``: the filter keeps a safe value safe, then the value is escaped."""
    value = _plain(value)
    try:
        written = "%s" % (str(value) if isinstance(value, tuple) else value)
    except (ValueError, TypeError):
        written = ""
    return escape(mark_safe(written) if isinstance(value, SafeData) else written)


def _attrs(attrs: dict) -> str:
    """``django/forms/widgets/attrs.html``."""
    written = []
    for name, value in attrs.items():
        value = _plain(value)
        if value is False:
            continue
        if value is True:
            written.append(f" {template_writes(_plain(name))}")
        else:
            written.append(f' {template_writes(_plain(name))}="{_stringformat(value)}"')
    return "".join(written)


def _input(widget: dict) -> str:
    """``django/forms/widgets/input.html`` (and the templates that only include it)."""
    value = _plain(widget["value"])
    written = f' value="{_stringformat(value)}"' if value is not None else ""
    return (f'<input type="{template_writes(_plain(widget["type"]))}" name="{template_writes(_plain(widget["name"]))}"'
            f'{written}{_attrs(widget["attrs"])}>')


SELECT_OPTION = "django/forms/widgets/select_option.html"


def _select(widget: dict) -> str:
    """``django/forms/widgets/select.html``, its options written as ``select_option.html`` writes them."""
    written = [f'<select name="{template_writes(_plain(widget["name"]))}"{_attrs(widget["attrs"])}>']
    for group_name, group_choices, _index in widget["optgroups"]:
        if group_name:
            written.append(f'\n  <optgroup label="{template_writes(_plain(group_name))}">')
        for option in group_choices:
            if option["template_name"] != SELECT_OPTION:
                raise _Unknown
            written.append(f'\n  <option value="{_stringformat(option["value"])}"{_attrs(option["attrs"])}>'
                           f'{template_writes(_plain(option["label"]))}</option>\n')
        if group_name:
            written.append("\n  </optgroup>")
    written.append("\n</select>")
    return "".join(written)


WRITERS = {
    "django/forms/widgets/select.html": _select,
    **{f"django/forms/widgets/{name}.html": _input for name in (
        "input", "text", "number", "email", "url", "search", "tel", "password", "hidden", "date", "time", "datetime",
        "checkbox")},
}


class LeanFormRenderer(DjangoTemplates):
    """Django's default form renderer, the widgets of ``WRITERS`` written in Python."""

    def render(self, template_name, context, request=None):
        writer = WRITERS.get(template_name)
        if writer is not None and request is None and set(context) == {"widget"}:
            try:
                return writer(context["widget"])
            except _Unknown:
                pass
        return super().render(template_name, context, request=request)


LEAN_FORM_RENDERER = LeanFormRenderer()  # one instance: each renderer loads and keeps its own templates


class LeanForm(forms.Form):
    default_renderer = LEAN_FORM_RENDERER
