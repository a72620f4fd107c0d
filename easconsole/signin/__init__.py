"""Signing in with the organization's directory: Active Directory / LDAP (django-auth-ldap) and
Entra ID (OpenID Connect), configured from the environment (docs/users.md). Local accounts always work."""
