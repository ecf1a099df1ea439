"""Bearer tokens: JWT signed with HS256 (pyjwt).

A token names the user (``sub``), when it was issued (``iat``, and ``iat_ms`` to the
millisecond) and expires; the role is not trusted from the token but read from the database on
every request, and a token issued before the user's ``tokens_valid_after`` (a password, role or
activity change) is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

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
                  "iat": int(now.timestamp()), "iat_ms": int(now.timestamp() * 1000),
                  "exp": int(expires.timestamp())}
        return IssuedToken(jwt.encode(claims, self.secret, algorithm=ALGORITHM), expires)

    def user_pk(self, token: str) -> int:
        return self.claims(token)[0]

    def claims(self, token: str) -> tuple[int, datetime | None]:
        """(user pk, when the token was issued: None for a token without ``iat``)."""
        try:
            claims = jwt.decode(token, self.secret, algorithms=[ALGORITHM], issuer=ISSUER,
                                options={"require": ["sub", "exp", "iss"]})
            issued_ms = claims.get("iat_ms")
            if issued_ms is None and "iat" in claims:
                issued_ms = int(claims["iat"]) * 1000
            issued = (datetime.fromtimestamp(int(issued_ms) / 1000, UTC)
                      if issued_ms is not None else None)
            return int(claims["sub"]), issued
        except (jwt.PyJWTError, ValueError, TypeError, OverflowError, OSError) as exc:
            raise InvalidToken(str(exc)) from exc
