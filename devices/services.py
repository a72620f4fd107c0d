"""Writes of Assets and Compliance."""
from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from devices.models import Collection
from easconsole.services import object_delete, object_save

COLLECTION_FIELDS = ["name", "comment"]


def collection_save(*, collection: Collection, user, address: str | None = None) -> Collection:
    if collection.pk and collection.is_builtin:
        raise ValidationError(_("The built-in collection %(name)s cannot be changed.") % {"name": collection.name})
    return object_save(obj=collection, user=user, fields=COLLECTION_FIELDS, address=address)


def collection_delete(*, collection: Collection, user, address: str | None = None) -> None:
    if collection.is_builtin:
        raise ValidationError(_("The built-in collection %(name)s cannot be deleted.") % {"name": collection.name})
    object_delete(obj=collection, user=user, address=address)
