"""Exchange Online's app-only sign-in through MSAL, and the HTTP session the REST transport shares with it.

MSAL keeps the token in its cache and asks for a new one shortly before it expires, so each request
asks it for the token (a cache lookup). After a 401 the cached token is dropped and a new one fetched.
"""
from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import urlsplit

import requests

from . import online_settings
from .errors import ExchangeConnectionError
from .values import ConnectionSettings

SCOPE_PATH = "/.default"


class HttpSession(requests.Session):
    """requests lets REQUESTS_CA_BUNDLE override a session's own CA bundle; the connector's CA must win."""

    def merge_environment_settings(self, url: Any, proxies: Any, stream: Any, verify: Any, cert: Any) -> Any:
        settings = super().merge_environment_settings(url, proxies, stream, verify, cert)
        if verify is None:
            settings["verify"] = self.verify
        return settings


class AppSignIn:
    """The application's access token for the REST endpoint (client credentials: certificate or secret)."""

    def __init__(self, settings: ConnectionSettings, http: requests.Session) -> None:
        self.settings = settings
        self.http = http
        self.scope = online_settings.endpoint_of(settings) + SCOPE_PATH
        self.tenant_id: str | None = None  # the tenant's GUID, read from the token
        self._app: Any = None

    def token(self, *, fresh: bool = False) -> str:
        app = self._client()
        if fresh:
            app.remove_tokens_for_client()
        try:
            result = app.acquire_token_for_client(scopes=[self.scope])
        except requests.exceptions.RequestException as exc:
            raise ExchangeConnectionError("", self.login_host(), f"could not reach the sign-in service ({short(exc)})",
                                          kind="tls" if isinstance(exc, requests.exceptions.SSLError) else "unreachable",
                                          sent_nothing=True) from None
        except ValueError as exc:  # MSAL's own refusal, e.g. an unknown tenant during discovery
            raise self._error(short(exc)) from None
        if "access_token" not in result:
            raise self._error(str(result.get("error_description") or result.get("error") or "no token"))
        token = result["access_token"]
        self.tenant_id = claims(token).get("tid") or self.tenant_id
        return token

    def _client(self) -> Any:
        if self._app is None:
            import msal  # only Exchange Online needs it

            s = self.settings
            if online_settings.is_certificate(s.password):
                cert = online_settings.load_certificate(s.password)
                credential: Any = {"private_key": cert.private_key_pem, "public_certificate": cert.certificate_pem}
            else:
                credential = s.password
            microsoft = online_settings.is_microsoft_authority(s)
            try:  # authority validation only for Microsoft's hosts; a sovereign or simulated one is trusted as given
                self._app = msal.ConfidentialClientApplication(
                    s.username, client_credential=credential, authority=online_settings.authority_of(s),
                    validate_authority=microsoft, instance_discovery=microsoft, http_client=self.http,
                    timeout=s.read_timeout)
            except Exception as exc:
                raise self._error(f"the sign-in authority could not be used ({short(exc)})") from None
        return self._app

    def login_host(self) -> str:
        return urlsplit(self.settings.authority or online_settings.MICROSOFT_AUTHORITY).hostname or ""

    def _error(self, reason: str) -> ExchangeConnectionError:
        first = reason.splitlines()[0] if reason else reason
        return ExchangeConnectionError("", self.login_host(), f"the application could not sign in: {first}",
                                       kind="authentication")


def claims(token: str) -> dict[str, Any]:
    """The claims of an access token, unverified: only to read the tenant ID it was issued for."""
    try:
        part = token.split(".")[1]
        return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    except (IndexError, ValueError):
        return {}


def short(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 300 else text[:300] + "..."
