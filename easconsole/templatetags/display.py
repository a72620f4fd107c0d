"""``{% load display %}``: ``{{ device.name|visible }}`` shows a name so that it cannot pass for another.

Names come from devices and directories (a phone picks its own FriendlyName and DeviceType). A
bidirectional override or a zero-width character in one is shown as ``[U+202E]`` (see
``easconsole.text.visible``); the stored value is untouched. Tables get the same through
``easconsole.tables.TextColumn``.
"""
from django import template
from django.utils.safestring import SafeData

from easconsole import text
from easconsole.timefmt import moment
from easconsole.words import worded

register = template.Library()


@register.filter(is_safe=True)
def visible(value):
    """Text with its hidden characters shown; anything else (dates, numbers) as it is, for the template to format.

    HTML already built safe (``words``, ``when``: their parts went through ``text.visible``) is left as it is.
    """
    if isinstance(value, SafeData):
        return value
    return text.visible(value) if isinstance(value, str) else value


@register.filter
def words(value, kind):
    """``{{ device.status|words:"status" }}``: Exchange's token in plain words, the token in the tooltip."""
    return worded(kind, value)


@register.filter
def when(value):
    """A date and time in the console's one format, with its time zone; relative ("2 hours ago") where recent."""
    return moment(value)
