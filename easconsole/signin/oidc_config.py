"""The Entra ID (OpenID Connect) sign-in settings, read from the environment by easconsole/signin/config.py.

The provider's endpoints and keys come from its discovery document, read when first needed
(easconsole/signin/oidc.py), so only the issuer, the client ID and its secret are configured.
"""
from __future__ import annotations


def oidc_settings(environ, client_id: str) -> dict:
    issuer = environ.get("EASCONSOLE_OIDC_ISSUER", "").strip().rstrip("/")
    if not issuer and (tenant := environ.get("EASCONSOLE_OIDC_TENANT", "").strip()):
        issuer = f"https://login.microsoftonline.com/{tenant}/v2.0"
    return {
        "EASCONSOLE_OIDC": {"issuer": issuer, "username_claim": environ.get("EASCONSOLE_OIDC_USERNAME_CLAIM", "preferred_username"),
                            "group_claims": ("roles", "groups")},
        "OIDC_RP_CLIENT_ID": client_id,
        "OIDC_RP_CLIENT_SECRET": environ.get("EASCONSOLE_OIDC_CLIENT_SECRET", ""),
        "OIDC_RP_SIGN_ALGO": "RS256",
        "OIDC_RP_SCOPES": "openid email profile",
        "OIDC_USE_PKCE": True,
        "OIDC_TIMEOUT": int(environ.get("EASCONSOLE_OIDC_TIMEOUT", "10")),
        "OIDC_AUTHENTICATE_CLASS": "easconsole.signin.oidc.EntraIdRequestView",
        "OIDC_CALLBACK_CLASS": "easconsole.signin.oidc.EntraIdCallbackView",
        "LOGIN_REDIRECT_URL_FAILURE": "/accounts/login/?entra=failed",
    }
