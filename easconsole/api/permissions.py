"""The console's own check for every API view: a console user (administrator or analyst) holding the view's
permission somewhere. The objects are narrowed to the user's collections and sites by the view's queryset,
through the same selectors the console's pages use; actions re-check on the object in their services."""
from __future__ import annotations

from rest_framework.permissions import BasePermission

from easconsole.permissions import holds_anywhere, is_console_user


class ConsolePermission(BasePermission):
    def has_permission(self, request, view) -> bool:
        user = request.user
        if not user or not user.is_authenticated or not is_console_user(user):
            return False
        return holds_anywhere(user, view.get_permission_required())
