"""Models of the Administration workspace."""
from easconsole.models.audit import AuditEvent
from easconsole.models.connectors import ConnectorServer, ExchangeConnector, StatusMessage
from easconsole.models.security import Role, RoleAssignment, Site

__all__ = ["AuditEvent", "ConnectorServer", "ExchangeConnector", "Role", "RoleAssignment", "Site", "StatusMessage"]
