"""Bearer tokens: JWT signed with HS256 (pyjwt).

A token names the user (``sub``) and expires; the role is not trusted from the token but read
from the database on every request, so deactivating a user or changing his role takes effect at
once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt

ALGORITHM = "HS256"
ISSUER = "fieldgate"


class InvalidToken(Exception):
    """The token is malformed, forged or expired."""


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class TokenCodec:
    secret: str
    ttl: timedelta

    def issue(self, *, user_pk: int, username: str, now: datetime) -> IssuedToken:
        expires = now + self.ttl
        claims = {"sub": str(user_pk), "name": username, "iss": ISSUER,
                  "iat": int(now.timestamp()), "exp": int(expires.timestamp())}
        return IssuedToken(jwt.encode(claims, self.secret, algorithm=ALGORITHM), expires)

    def user_pk(self, token: str) -> int:
        try:
            claims = jwt.decode(token, self.secret, algorithms=[ALGORITHM], issuer=ISSUER,
                                options={"require": ["sub", "exp", "iss"]})
            return int(claims["sub"])
        except (jwt.PyJWTError, ValueError) as exc:
            raise InvalidToken(str(exc)) from exc
