"""API Gateway's JWT authorizer, locally: a local issuer (an RSA key made at start) and the
same checks API Gateway makes (signature, issuer, audience, expiry) before a route runs.
The handlers then see the claims exactly where they are in the cloud:
requestContext.authorizer.jwt.claims."""

from __future__ import annotations

import time
import uuid

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

DEMO_USER = "demo-user"
AUDIENCE = "broll-local-page"


class LocalIssuer:
    def __init__(self, issuer_url: str):
        self.issuer = issuer_url
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = uuid.uuid4().hex[:12]

    def mint(self, sub: str, ttl_s: int = 3600, **extra) -> str:
        now = int(time.time())
        claims = {"sub": sub, "iss": self.issuer, "aud": AUDIENCE, "iat": now, "nbf": now, "exp": now + ttl_s,
                  "token_use": "access", "username": sub} | extra
        return jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": self.kid})

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
