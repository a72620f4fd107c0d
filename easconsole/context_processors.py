"""Template context shared by every console page."""
from easconsole.navigation import visible_workspaces
from easconsole.permissions import holds_anywhere, is_console_user


def console(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not is_console_user(user):
        return {}
    match = getattr(request, "resolver_match", None)
    workspaces = visible_workspaces(user, match.view_name if match else None)
    return {
        "workspaces": workspaces,
        "active_workspace": next((w for w in workspaces if w["active"]), None),
        # The header's device search (devices:search), for those who may read devices.
        "can_search": holds_anywhere(user, "devices.read_collection"),
    }
