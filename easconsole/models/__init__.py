"""Models of the Administration workspace."""
from easconsole.models.accounts import ConsoleAccount, DirectorySecret
from easconsole.models.audit import AuditEvent
from easconsole.models.connectors import ConnectorServer, ExchangeConnector, StatusMessage
from easconsole.models.security import Role, RoleAssignment, Site
from easconsole.models.tokens import ApiToken, IdempotentRequest

__all__ = ["ApiToken", "AuditEvent", "IdempotentRequest", "ConsoleAccount", "DirectorySecret", "ConnectorServer", "ExchangeConnector", "Role", "RoleAssignment", "Site", "StatusMessage"]
