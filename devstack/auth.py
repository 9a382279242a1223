"""API Gateway's JWT authorizer, locally: a local issuer (an RSA key made at start) and the
same checks API Gateway makes (signature, issuer, audience, expiry) before a route runs.
The handlers then see the claims exactly where they are in the cloud:
requestContext.authorizer.jwt.claims.

The issuer signs in any named user, so tenant isolation can be tried from the page and the
CLI. It answers only a caller that names a loopback Host (a page of another site reaching
127.0.0.1 through DNS rebinding names its own host) and presents the secret made at this
start, which only the served page config carries (another site's page cannot read it: no CORS).
"""

from __future__ import annotations

import hmac
import re
import secrets
import time
import uuid

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

DEMO_USER = "demo-user"
LOCAL_USERS = (DEMO_USER, "ann", "ben")  # offered by the page's user switcher; any valid name signs in
AUDIENCE = "broll-local-page"
USER_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,39}")
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "[::1]"}


def is_loopback_host(host: str | None) -> bool:
    """True for a Host header naming a loopback address, with or without a port."""
    name = (host or "").strip().lower()
    name = name[: name.index("]") + 1] if name.startswith("[") and "]" in name else name.split(":")[0]
    return name in LOOPBACK_HOSTS


class SignInRefused(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


class LocalIssuer:
    def __init__(self, issuer_url: str):
        self.issuer = issuer_url
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = uuid.uuid4().hex[:12]
        self.secret = secrets.token_urlsafe(32)

    def mint(self, sub: str, ttl_s: int = 3600, **extra) -> str:
        now = int(time.time())
        claims = {"sub": sub, "iss": self.issuer, "aud": AUDIENCE, "iat": now, "nbf": now, "exp": now + ttl_s,
                  "token_use": "access", "username": sub} | extra
        return jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": self.kid})

    def sign_in(self, host: str | None, presented: str | None, body: object) -> dict:
        """`POST /local-auth/token`'s answer for a named user; raises SignInRefused (403 or 400)."""
        if not is_loopback_host(host):
            raise SignInRefused(403, "The local sign-in answers only on 127.0.0.1, localhost or [::1].")
        if not presented or not hmac.compare_digest(presented.encode(), self.secret.encode()):
            raise SignInRefused(403, "The local sign-in needs the X-Local-Auth secret from this start's /config.json.")
        user = body.get("user", DEMO_USER) if isinstance(body, dict) else None
        if not isinstance(user, str) or not USER_NAME.fullmatch(user):
            raise SignInRefused(400, "The user must be 1 to 40 of a-z, 0-9 and '-', starting with a letter or digit.")
        ttl_s = 3600
        return {"token": self.mint(user, ttl_s), "expiresIn": ttl_s, "user": user}

    def verify(self, authorization: str | None) -> dict | None:
        """The claims when the bearer token is valid, else None (API Gateway answers 401)."""
        if not authorization or not authorization.lower().startswith("bearer "):
            return None
        try:
            return jwt.decode(
                authorization[7:].strip(), self._key.public_key(), algorithms=["RS256"],
                audience=AUDIENCE, issuer=self.issuer, options={"require": ["exp", "iss", "sub"]},
            )
        except jwt.PyJWTError:
            return None
