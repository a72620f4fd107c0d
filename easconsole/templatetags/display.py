"""``{% load display %}``: ``{{ device.name|visible }}`` shows a name so that it cannot pass for another.

Names come from devices and directories (a phone picks its own FriendlyName and DeviceType). A
bidirectional override or a zero-width character in one is shown as ``[U+202E]`` (see
``easconsole.text.visible``); the stored value is untouched. Tables get the same through
``easconsole.tables.TextColumn``.
"""
from django import template

from easconsole import text

register = template.Library()


@register.filter(is_safe=True)
def visible(value):
    """Text with its hidden characters shown; anything else (dates, numbers) as it is, for the template to format."""
    return text.visible(value) if isinstance(value, str) else value
