"""An in-memory :class:`gateway.sink.TelemetrySink` for gateway-level tests.

The sink is an in-process interface (not a server), so a small honest implementation is the
real thing for these tests; end-to-end tests use ``telemetry.ingest.Ingest``. It can be closed
like a full spool (``block()``: ``publish`` waits until ``unblock()``) and can fail on demand.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Sequence

from devices.records import Record
from gateway.sink import SessionInfo


class MemorySink:
    def __init__(self) -> None:
        #: ("opened" | "publish" | "closed", terminal id, number of records)
        self.events: list[tuple[str, str, int]] = []
        self.records: dict[str, list[Record]] = {}
        self.opened: list[SessionInfo] = []
        #: copies taken at close (the gateway keeps updating its own objects)
        self.closed: list[SessionInfo] = []
        self.open_sessions: dict[int, SessionInfo] = {}
        self.publish_calls = 0
        self.waiting = 0  #: publish calls blocked right now
        self.fail_publishes = 0  #: raise on the next N publish calls
        self._gate = asyncio.Event()
        self._gate.set()

    # -- TelemetrySink ---------------------------------------------------------------------

    async def session_opened(self, session: SessionInfo) -> None:
        assert id(session) not in self.open_sessions, "session opened twice"
        self.open_sessions[id(session)] = session
        self.opened.append(session)
        self.events.append(("opened", session.terminal_id, 0))

    async def publish(self, session: SessionInfo, records: Sequence[Record]) -> None:
        assert id(session) in self.open_sessions, "publish outside an open session"
        self.publish_calls += 1
        if not self._gate.is_set():
            self.waiting += 1
            try:
                await self._gate.wait()
            finally:
                self.waiting -= 1
        if self.fail_publishes:
            self.fail_publishes -= 1
            raise RuntimeError("sink refused the batch (test)")
        self.records.setdefault(session.terminal_id, []).extend(records)
        self.events.append(("publish", session.terminal_id, len(records)))

    async def session_closed(self, session: SessionInfo) -> None:
        assert self.open_sessions.pop(id(session), None) is session, "closing an unknown session"
        self.closed.append(copy.copy(session))
        self.events.append(("closed", session.terminal_id, 0))

    # -- test controls ---------------------------------------------------------------------

    def block(self) -> None:
        self._gate.clear()

    def unblock(self) -> None:
        self._gate.set()

    def count(self, terminal: str | None = None) -> int:
        if terminal is None:
            return sum(len(v) for v in self.records.values())
        return len(self.records.get(terminal, ()))
