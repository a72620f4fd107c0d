"""A small OpenID Connect provider for the sign-in tests, as Entra ID answers: discovery, JWKS, authorize
(the person is already signed in there: it redirects back with a code) and token (an RS256 ID token).

    with running_provider() as provider:
        provider.person = {"preferred_username": "jdoe@contoso.com", "roles": ["EAS-Operators"], ...}
"""
from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

CLIENT_ID, CLIENT_SECRET = "6f1e2d3c-console", "client-secret-for-tests"


class Provider:
    def __init__(self):
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = "test-key-1"
        self.person: dict = {}
        self.audience = CLIENT_ID
        self.codes: dict[str, dict] = {}
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.issuer = f"http://127.0.0.1:{self.server.server_address[1]}/tenant/v2.0"

    def environment(self) -> dict[str, str]:
        return {"EASCONSOLE_OIDC_CLIENT_ID": CLIENT_ID, "EASCONSOLE_OIDC_CLIENT_SECRET": CLIENT_SECRET,
                "EASCONSOLE_OIDC_ISSUER": self.issuer}

    def discovery(self) -> dict:
        return {"issuer": self.issuer, "authorization_endpoint": f"{self.issuer}/authorize", "token_endpoint": f"{self.issuer}/token",
                "jwks_uri": f"{self.issuer}/keys", "userinfo_endpoint": f"{self.issuer}/userinfo",
                "id_token_signing_alg_values_supported": ["RS256"]}

    def jwks(self) -> dict:
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        return {"keys": [{**jwk, "kid": self.kid, "use": "sig", "alg": "RS256"}]}

    def authorize(self, query: dict) -> str:
        """The redirect back to the console, with a code for the signed-in person."""
        assert query["client_id"] == CLIENT_ID and query["response_type"] == "code" and query["code_challenge_method"] == "S256"
        code = secrets.token_urlsafe(16)
        self.codes[code] = {"nonce": query.get("nonce"), "challenge": query["code_challenge"], "redirect_uri": query["redirect_uri"],
                            "person": dict(self.person)}
        return f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query['state']})}"

    def token(self, form: dict) -> tuple[int, dict]:
        grant = self.codes.pop(form.get("code", ""), None)
        if grant is None or form.get("client_secret") != CLIENT_SECRET or form.get("redirect_uri") != grant["redirect_uri"]:
            return 400, {"error": "invalid_grant"}
        verifier = base64.urlsafe_b64encode(hashlib.sha256(form.get("code_verifier", "").encode()).digest()).rstrip(b"=").decode()
        if verifier != grant["challenge"]:
            return 400, {"error": "invalid_grant", "error_description": "PKCE verification failed"}
        now = int(time.time())
        claims = {"iss": self.issuer, "aud": self.audience, "iat": now, "nbf": now, "exp": now + 3600, "nonce": grant["nonce"],
                  "sub": hashlib.sha256(grant["person"]["preferred_username"].encode()).hexdigest()[:32], **grant["person"]}
        id_token = jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": self.kid})
        return 200, {"token_type": "Bearer", "id_token": id_token, "access_token": secrets.token_urlsafe(24), "expires_in": 3600}

    def _handler(self):
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, status: int, body: dict | None = None, location: str | None = None):
                self.send_response(status)
                if location:
                    self.send_header("Location", location)
                payload = json.dumps(body or {}).encode()
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_GET(self):
                url = urlsplit(self.path)
                path = url.path.removeprefix(urlsplit(provider.issuer).path)
                if path == "/.well-known/openid-configuration":
                    return self._send(200, provider.discovery())
                if path == "/keys":
                    return self._send(200, provider.jwks())
                if path == "/authorize":
                    return self._send(302, location=provider.authorize({k: v[0] for k, v in parse_qs(url.query).items()}))
                return self._send(404, {"error": "not_found"})

            def do_POST(self):
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode()).items()}
                if urlsplit(self.path).path.endswith("/token"):
                    return self._send(*provider.token(form))
                return self._send(404, {"error": "not_found"})

        return Handler


@contextlib.contextmanager
def running_provider():
    provider = Provider()
    thread = threading.Thread(target=provider.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield provider
    finally:
        provider.server.shutdown()
        provider.server.server_close()
