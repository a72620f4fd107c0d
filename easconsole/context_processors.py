"""Template context shared by every console page."""
from easconsole.navigation import visible_workspaces
from easconsole.permissions import holds_anywhere, is_console_user


def console(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not is_console_user(user):
        return {}
    # Kept on the request: a template rendered with the request inside the page (django-tables2's
    # render_table) runs the context processors again, and the navigation is the same for both.
    cached = getattr(request, "_easconsole_console_context", None)
    if cached is not None and cached[0] is user:
        return cached[1]
    match = getattr(request, "resolver_match", None)
    workspaces = visible_workspaces(user, match.view_name if match else None)
    context = {
        "workspaces": workspaces,
        "active_workspace": next((w for w in workspaces if w["active"]), None),
        # The header's device search (devices:search), for those who may read devices.
        "can_search": holds_anywhere(user, "devices.read_collection"),
    }
    request._easconsole_console_context = (user, context)
    return context
