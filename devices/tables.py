"""Tables of Assets and Compliance."""
import django_tables2 as tables

from devices.models import Collection
from easconsole.tables import ConsoleTable


class CollectionTable(ConsoleTable):
    name = tables.Column(linkify=True)

    class Meta(ConsoleTable.Meta):
        model = Collection
        fields = ["name", "is_builtin", "comment", "created"]
