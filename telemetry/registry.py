"""Which terminal ids are registered: an in-memory answer for the hot path.

``publish`` asks :meth:`Registry.status` for every read; it is a set lookup. The set is reloaded
from ``terminals`` every ``registry_refresh_interval``. An id that is in neither the set nor
the recent negative answers is UNDETERMINED: its fixes are kept in the batch and the writer
decides inside the batch's own transaction (one query for all such ids of the batch), then
teaches the registry the answer. A negative answer is believed for ``registry_miss_ttl`` seconds,
so an unknown terminal flooding the gateway costs one indexed lookup per TTL, and a terminal
registered a moment ago is stored from its next batch on, without waiting for the full reload.
While the database is unreachable nothing is decided: fixes of undetermined terminals go to the
spool with the batch and are sorted out when it is replayed.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable, Iterable


class Registration(enum.Enum):
    REGISTERED = "registered"
    UNREGISTERED = "unregistered"
    UNDETERMINED = "undetermined"


#: negative answers kept at most; past that the oldest are forgotten (asked again later)
MAX_NEGATIVE = 100_000


class Registry:
    def __init__(self, *, miss_ttl: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._known: set[str] = set()
        self._negative: dict[str, float] = {}  # id -> monotonic time the answer expires
        self._miss_ttl = miss_ttl
        self._clock = clock
        self.loaded = False
        self.lookups = 0  #: write-time lookups of undetermined ids (metric)

    def __len__(self) -> int:
        return len(self._known)

    def status(self, terminal_id: str) -> Registration:
        if terminal_id in self._known:
            return Registration.REGISTERED
        expires = self._negative.get(terminal_id)
        if expires is not None and expires > self._clock():
            return Registration.UNREGISTERED
        return Registration.UNDETERMINED

    def replace(self, registered: Iterable[str]) -> None:
        """A full reload: the set of registered ids as the database has it now."""
        known = set(registered)
        now_expiry = self._clock() + self._miss_ttl
        # ids we held as unregistered that still are: the reload confirms it
        self._negative = {tid: now_expiry for tid in self._negative if tid not in known}
        self._known = known
        self.loaded = True

    def learn(self, *, registered: Iterable[str], unregistered: Iterable[str]) -> None:
        """Answers the writer got for undetermined ids."""
        self.lookups += 1
        for tid in registered:
            self._known.add(tid)
            self._negative.pop(tid, None)
        expiry = self._clock() + self._miss_ttl
        for tid in unregistered:
            self._known.discard(tid)
            self._negative[tid] = expiry
        if len(self._negative) > MAX_NEGATIVE:
            # dicts keep insertion order: drop the oldest half
            for tid in list(self._negative)[: MAX_NEGATIVE // 2]:
                del self._negative[tid]
