"""The list of offboardings (Assets and Compliance ▸ Offboarding)."""
import django_tables2 as tables
from django.utils.translation import gettext_lazy as _

from devices.models import Offboarding
from easconsole.tables import ConsoleTable


class OffboardingTable(ConsoleTable):
    requested_at = tables.DateTimeColumn(format="Y-m-d H:i:s", linkify=True)
    user_display_name = tables.Column(_("User"))
    block_state = tables.Column(_("ActiveSync for the mailbox"), attrs={"td": {"data-state": lambda record: record.block_state}})
    finished_at = tables.DateTimeColumn(format="Y-m-d H:i:s")

    class Meta(ConsoleTable.Meta):
        model = Offboarding
        fields = ["requested_at", "user_display_name", "user_principal_name", "mailbox", "requested_by_name", "block_state",
                  "finished_at"]
        empty_text = _("No user has been offboarded yet.")
