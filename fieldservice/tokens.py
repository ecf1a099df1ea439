"""Bearer tokens: JWT signed with HS256 (pyjwt).

A token names the user (``sub``), when it was issued (``iat``, and ``iat_ms`` to the
millisecond) and expires; the role is not trusted from the token but read from the database on
every request, and a token issued before the user's ``tokens_valid_after`` (a password, role or
activity change) is refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
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


class UnknownKey(InvalidToken):
    """The token names a signing key this codec does not hold (another process may have
    rotated: reload the keys and try once more)."""


@dataclass(frozen=True, slots=True)
class TokenCodec:
    """Signs with ``secret`` (named ``kid`` in the token's header, when given) and verifies
    with whichever of ``keys`` (kid → secret) a token names; a token without a kid (issued
    before keys were named) is verified with ``secret`` and then ``keys``."""

    secret: str
    ttl: timedelta
    kid: str | None = None
    keys: Mapping[str, str] = field(default_factory=dict)

    def issue(self, *, user_pk: int, username: str, now: datetime) -> IssuedToken:
        expires = now + self.ttl
        claims = {"sub": str(user_pk), "name": username, "iss": ISSUER,
                  "iat": int(now.timestamp()), "iat_ms": int(now.timestamp() * 1000),
                  "exp": int(expires.timestamp())}
        headers = {"kid": self.kid} if self.kid else None
        return IssuedToken(jwt.encode(claims, self.secret, algorithm=ALGORITHM,
                                      headers=headers), expires)

    def _secrets_for(self, token: str) -> list[str]:
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.PyJWTError as exc:
            raise InvalidToken(str(exc)) from exc
        if kid is None:
            return [self.secret, *(k for k in self.keys.values() if k != self.secret)]
        if kid == self.kid:
            return [self.secret]
        secret = self.keys.get(str(kid))
        if secret is None:
            raise UnknownKey(f"unknown signing key {kid!r}")
        return [secret]

    def claims(self, token: str) -> tuple[int, datetime | None]:
        """(user pk, when the token was issued: None for a token without ``iat``)."""
        failure: Exception | None = None
        for secret in self._secrets_for(token):  # one, unless the token names no key
            try:
                claims = jwt.decode(token, secret, algorithms=[ALGORITHM], issuer=ISSUER,
                                    options={"require": ["sub", "exp", "iss"]})
            except jwt.InvalidSignatureError as exc:
                failure = exc
                continue
            except jwt.PyJWTError as exc:
                raise InvalidToken(str(exc)) from exc
            try:
                issued_ms = claims.get("iat_ms")
                if issued_ms is None and "iat" in claims:
                    issued_ms = int(claims["iat"]) * 1000
                issued = (datetime.fromtimestamp(int(issued_ms) / 1000, UTC)
                          if issued_ms is not None else None)
                return int(claims["sub"]), issued
            except (ValueError, TypeError, OverflowError, OSError) as exc:
                raise InvalidToken(str(exc)) from exc
        raise InvalidToken(str(failure or "no key to verify the token with"))
