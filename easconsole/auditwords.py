"""The audit trail in plain words: "Cancelled the wipe of anna_iPhone" rather than ``request cancel_wipe``,
and the JSON of changes and parameters as a table a person can read. The stored record is untouched."""
from __future__ import annotations

from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from easconsole.text import visible

# action → sentence; {object} is the object's name, {type} its kind.
SENTENCES = {
    "sign in": _("Signed in"),
    "sign out": _("Signed out"),
    "request wipe": _("Asked to wipe {object}"),
    "request account_wipe": _("Asked to wipe the account only on {object}"),
    "request cancel_wipe": _("Cancelled the wipe of {object}"),
    "request allow": _("Allowed {object}"),
    "request block": _("Blocked {object}"),
    "request delete": _("Deleted {object} from Exchange"),
    "create": _("Created {type} {object}"),
    "modify": _("Changed {type} {object}"),
    "delete": _("Deleted {type} {object}"),
    "add primary user": _("Added a primary user to {object}"),
    "remove primary user": _("Removed a primary user from {object}"),
    "import user device affinity": _("Imported user device affinity"),
    "check connection": _("Checked the connection of {object}"),
    "retry installation": _("Retried the installation of {object}"),
    "request push": _("Asked to push the settings of {object}"),
    "rotate credential key": _("Rotated the credential key"),
    "request full discovery": _("Asked for a full discovery of {object}"),
    "request delta discovery": _("Asked for a delta discovery of {object}"),
}
OUTCOMES = {"denied": _("Refused: %(sentence)s"), "failure": _("Failed: %(sentence)s")}
REASON = _("%(sentence)s (reason: %(reason)s)")
SIGN_INS = ("sign in", "sign out")


def sentence(action: str, object_type: str = "", object_repr: str = "", outcome: str = "success", changes=None) -> str:
    """One line saying what happened; an unknown action reads as it was recorded, followed by its object.

    A device action's reason or ticket number, kept in the record's ``changes``, ends the sentence.
    """
    template = SENTENCES.get(action)
    if template is None:
        text = " ".join(part for part in (action.replace("_", " ").capitalize(), object_repr) if part)
    else:
        text = str(template).format(object=object_repr, type=object_type).replace("  ", " ").strip()
    if outcome in OUTCOMES:
        text = str(OUTCOMES[outcome] % {"sentence": text[:1].lower() + text[1:]})
    reason = changes.get("reason") if isinstance(changes, dict) and action.startswith("request ") else None
    return str(REASON % {"sentence": text, "reason": reason}) if reason else text


def data_table(value):
    """A dict (or list) stored as JSON shown as a two-column table; ``[before, after]`` pairs read "before → after"."""
    if isinstance(value, list):
        if not value:
            return ""
        return format_html('<ul class="list-unstyled mb-0">{}</ul>', format_html_join("", "<li>{}</li>", ((data_table(v),) for v in value)))
    if not isinstance(value, dict):
        return visible(value) if value not in (None, "") else "—"
    if not value:
        return ""
    rows = []
    for key, item in value.items():
        if isinstance(item, list) and len(item) == 2 and not any(isinstance(v, (dict, list)) for v in item):
            shown = format_html("{} → {}", data_table(item[0]), data_table(item[1]))
        else:
            shown = data_table(item)
        rows.append((visible(key), shown))
    return format_html('<table class="table table-sm table-borderless small mb-0 data-table"><tbody>{}</tbody></table>',
                       format_html_join("", '<tr><th scope="row" class="fw-normal text-body-secondary">{}</th><td>{}</td></tr>', rows))
