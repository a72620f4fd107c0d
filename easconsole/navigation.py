"""The console's workspaces and navigation tree, filtered by what the signed-in person may read."""
from __future__ import annotations

from dataclasses import dataclass, field

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from easconsole.permissions import holds_anywhere


@dataclass(frozen=True)
class Node:
    label: str
    url_name: str
    permission: str
    # URL names of pages that belong to this node (its detail, edit and delete pages), by prefix.
    covers: tuple[str, ...] = ()

    def matches(self, view_name: str) -> bool:
        return view_name == self.url_name or any(view_name.startswith(prefix) for prefix in self.covers)


@dataclass(frozen=True)
class Folder:
    label: str
    nodes: tuple[Node, ...]


@dataclass(frozen=True)
class Workspace:
    key: str
    label: str
    folders: tuple[Folder, ...] = field(default_factory=tuple)

    def nodes(self):
        for folder in self.folders:
            yield from folder.nodes


WORKSPACES: tuple[Workspace, ...] = (
    Workspace(
        "assets",
        _("Assets and Compliance"),
        (
            Folder(
                _("Overview"),
                (
                    # --- devices pages (issue 5): Devices first, then Device Collections
                    Node(_("Devices"), "devices:device_list", "devices.read_collection", ("devices:device_",)),
                    Node(_("Device Collections"), "devices:collection_list", "devices.read_collection", ("devices:collection",)),
                    # --- end devices pages
                    Node(_("User Device Affinity"), "devices:affinity_import", "devices.modify_resource", ("devices:affinity_",)),  # affinity
                    Node(_("Offboarding"), "devices:offboarding_list", "devices.read_collection", ("devices:offboarding_",)),  # offboarding
                ),
            ),
            # The home page; last, so that the workspace still opens on Devices.
            Folder(_("At a glance"), (Node(_("Dashboard"), "devices:dashboard", "devices.read_collection"),)),
        ),
    ),
    Workspace(
        "monitoring",
        _("Monitoring"),
        (
            Folder(
                _("System Status"),
                (
                    Node(_("Component Status"), "easconsole:componentstatus_list", "easconsole.read_site"),
                    Node(_("Status Messages"), "easconsole:statusmessage_list", "easconsole.read_site", ("easconsole:statusmessage_",)),
                    Node(_("Logs"), "easconsole:log_viewer", "easconsole.read_site"),
                    Node(_("Device actions"), "devices:deviceaction_list", "devices.read_collection", ("devices:deviceaction_",)),
                    Node(_("Background tasks"), "easconsole:task_list", "easconsole.read_site", ("easconsole:task_",)),
                    Node(_("Discovery"), "devices:discoveryrun_list", "easconsole.read_site", ("devices:discoveryrun_",)),  # discovery
                ),
            ),
        ),
    ),
    Workspace(
        "administration",
        _("Administration"),
        (
            Folder(
                _("Hierarchy Configuration"),
                (
                    Node(_("Exchange Server Connectors"), "easconsole:exchangeconnector_list", "easconsole.read_site",
                         ("easconsole:exchangeconnector_", "policies:connector_", "devices:connector_discover",
                          "devices:cleanup")),
                    Node(_("Sites"), "easconsole:site_list", "easconsole.read_site", ("easconsole:site_",)),
                ),
            ),
            Folder(
                _("Security"),
                (
                    Node(_("Administrative Users"), "easconsole:roleassignment_list", "easconsole.assign_role", ("easconsole:roleassignment_",)),
                    Node(_("Accounts"), "easconsole:consoleaccount_list", "easconsole.assign_role", ("easconsole:consoleaccount_",)),
                    Node(_("Security Roles"), "easconsole:role_list", "easconsole.assign_role", ("easconsole:role_",)),
                ),
            ),
        ),
    ),
    Workspace(
        "reports",
        _("Reports"),
        (
            Folder(
                _("Reports"),
                (
                    Node(_("Overview"), "easconsole:report_index", "easconsole.view_auditevent"),
                    Node(_("Wipe actions"), "devices:wipe_report", "devices.read_collection"),
                    # --- device reports (devices/reports/)
                    Node(_("Devices by OS, type and access state"), "devices:report_inventory", "devices.read_collection"),
                    Node(_("Inactive mobile devices"), "devices:report_inactive", "devices.read_collection"),
                    Node(_("Compliance with the connector's settings"), "devices:report_compliance", "devices.read_collection"),
                    Node(_("Settings summary"), "devices:report_settings", "easconsole.read_site"),
                    Node(_("Removed stale devices"), "devices:report_removed_stale", "easconsole.read_site"),
                    # --- end device reports
                    Node(_("Administrative audit trail"), "easconsole:auditevent_list", "easconsole.view_auditevent", ("easconsole:auditevent_",)),
                ),
            ),
        ),
    ),
)


def visible_workspaces(user, view_name: str | None) -> list[dict]:
    """The workspaces and nodes ``user`` may read, each marked active if it holds the current page."""
    permitted: dict[str, bool] = {}
    result = []
    for workspace in WORKSPACES:
        folders = []
        active_workspace = False
        for folder in workspace.folders:
            nodes = []
            for node in folder.nodes:
                if node.permission not in permitted:
                    permitted[node.permission] = holds_anywhere(user, node.permission)
                if permitted[node.permission]:
                    active = bool(view_name) and node.matches(view_name)
                    active_workspace |= active
                    nodes.append({"label": node.label, "url": reverse(node.url_name), "active": active})
            if nodes:
                folders.append({"label": folder.label, "nodes": nodes})
        if folders:
            result.append({"key": workspace.key, "label": workspace.label, "folders": folders, "active": active_workspace,
                           "url": folders[0]["nodes"][0]["url"]})
    return result
