"""Password hashing with argon2id (argon2-cffi), cost taken from settings.

Hashing costs tens of milliseconds by design, so the async callers run it in a worker thread.
"""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from fieldservice.settings import ServiceSettings

#: password length bounds: NIST SP 800-63B asks for at least 8 and accepting at least 64
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 256


class Passwords:
    def __init__(self, *, settings: ServiceSettings) -> None:
        self._hasher = PasswordHasher(
            time_cost=settings.argon2_time_cost,
            memory_cost=settings.argon2_memory_kib,
            parallelism=settings.argon2_parallelism,
        )
        # verified against when the user does not exist, so that a wrong username costs the
        # same time as a wrong password (no user enumeration by timing)
        self._dummy = self._hasher.hash("not a password of anyone")

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, stored_hash: str | None, password: str) -> bool:
        try:
            return self._hasher.verify(stored_hash or self._dummy, password) and bool(
                stored_hash
            )
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored_hash: str) -> bool:
        return self._hasher.check_needs_rehash(stored_hash)

    async def hash_async(self, password: str) -> str:
        return await asyncio.to_thread(self.hash, password)

    async def verify_async(self, stored_hash: str | None, password: str) -> bool:
        return await asyncio.to_thread(self.verify, stored_hash, password)
