"""Entra ID (OpenID Connect) sign-in with mozilla-django-oidc: authorization code flow with PKCE.

- The endpoints and signing keys come from the issuer's discovery document.
- The ID token's issuer and audience are checked (the library checks only the signature, nonce and expiry).
- The account is named by the person's user principal name (``preferred_username`` in Entra ID), with
  e-mail and name copied at each sign-in, as for the directory.
- App roles (``roles``) and groups (``groups``) in the token are mirrored into the console's groups, which
  carry the roles assigned to them: removed from the app role, the person loses it at the next sign-in.
"""
from __future__ import annotations

import logging
import threading

import requests
from django.conf import settings
from django.contrib.auth.models import Group
from django.core.exceptions import ImproperlyConfigured, SuspiciousOperation
from django.http import Http404
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.utils import import_from_settings
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

logger = logging.getLogger(__name__)
DISCOVERED = {"OIDC_OP_AUTHORIZATION_ENDPOINT": "authorization_endpoint", "OIDC_OP_TOKEN_ENDPOINT": "token_endpoint",
              "OIDC_OP_JWKS_ENDPOINT": "jwks_uri", "OIDC_OP_USER_ENDPOINT": "userinfo_endpoint"}
_lock = threading.Lock()
_documents: dict[str, dict] = {}


def discovery(issuer: str) -> dict:
    """The issuer's OpenID configuration, fetched once per process."""
    with _lock:
        if issuer not in _documents:
            response = requests.get(f"{issuer}/.well-known/openid-configuration", timeout=settings.OIDC_TIMEOUT)
            response.raise_for_status()
            document = response.json()
            if document.get("issuer", "").rstrip("/") != issuer:
                raise ImproperlyConfigured(f"The discovery document of {issuer} names another issuer: {document.get('issuer')!r}.")
            _documents[issuer] = document
        return _documents[issuer]


def get_settings(attr, *args):
    if attr in DISCOVERED:
        return discovery(settings.EASCONSOLE_OIDC["issuer"]).get(DISCOVERED[attr], *args)
    return import_from_settings(attr, *args)


class EntraIdBackend(OIDCAuthenticationBackend):
    get_settings = staticmethod(get_settings)

    def get_userinfo(self, access_token, id_token, payload):
        """The verified ID token's claims: Entra ID puts the UPN, roles and groups there, not in userinfo."""
        if payload.get("iss", "").rstrip("/") != settings.EASCONSOLE_OIDC["issuer"]:
            raise SuspiciousOperation("The ID token comes from another issuer.")
        audience = payload.get("aud")
        if self.OIDC_RP_CLIENT_ID not in (audience if isinstance(audience, list) else [audience]):
            raise SuspiciousOperation("The ID token is for another application.")
        return payload

    def verify_claims(self, claims):
        return bool(self._upn(claims))

    def _upn(self, claims) -> str:
        return str(claims.get(settings.EASCONSOLE_OIDC["username_claim"]) or "").strip().lower()

    def filter_users_by_claims(self, claims):
        return self.UserModel.objects.filter(username__iexact=self._upn(claims))

    def create_user(self, claims):
        user = self.UserModel(username=self._upn(claims))
        user.set_unusable_password()
        return self.update_user(user, claims)

    def update_user(self, user, claims):
        user.email = claims.get("email") or self._upn(claims)
        user.first_name = claims.get("given_name") or claims.get("name", "")[:150]
        user.last_name = claims.get("family_name", "")
        user.save()
        names = {str(n) for claim in settings.EASCONSOLE_OIDC["group_claims"] for n in claims.get(claim, []) or []}
        user.groups.set([Group.objects.get_or_create(name=name)[0] for name in sorted(names)])
        return user


class EntraIdRequestView(OIDCAuthenticationRequestView):
    get_settings = staticmethod(get_settings)

    def dispatch(self, request, *args, **kwargs):
        if not getattr(settings, "EASCONSOLE_OIDC", None):
            raise Http404
        return super().dispatch(request, *args, **kwargs)

    def __init__(self, *args, **kwargs):
        if getattr(settings, "EASCONSOLE_OIDC", None):
            super().__init__(*args, **kwargs)


class EntraIdCallbackView(OIDCAuthenticationCallbackView):
    get_settings = staticmethod(get_settings)

    def dispatch(self, request, *args, **kwargs):
        if not getattr(settings, "EASCONSOLE_OIDC", None):
            raise Http404
        return super().dispatch(request, *args, **kwargs)
