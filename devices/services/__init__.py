"""Writes of Assets and Compliance: one function per use case, each audited.

The functions live in modules by entity; importing them from ``devices.services`` keeps working.
"""
from devices.services.collections import (
    collection_delete,
    collection_members_add,
    collection_members_remove,
    collection_rule_add,
    collection_rule_delete,
    collection_save,
    refresh_memberships,
)

__all__ = [
    "collection_delete",
    "collection_members_add",
    "collection_members_remove",
    "collection_rule_add",
    "collection_rule_delete",
    "collection_save",
    "refresh_memberships",
]
