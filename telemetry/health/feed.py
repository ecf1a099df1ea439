"""A live feed of fault events for many listeners from one database poll.

Dispatch screens follow health changes (the API's Server-Sent Events). Each listener polling
the outbox itself would cost one query per screen per second, and a listener that goes away
would be cancelled in the middle of its query (the driver then has to tear its connection
down). One :class:`FeedHub` task polls instead and hands each subscriber the events past its own
cursor through a queue; subscribers only ever wait on their queue.

The ticket consumer processes each row after it was stored (a ticket made, a fault appended to
one, or no ticket and why). A row that was unprocessed when the hub read it is read again on
later polls until its outcome is there, and then handed once more to the subscribers that had
it: the same ``id``, ``processed_at`` now set. So a board learns that a ticket exists when it
does, not at the next fault.

::

    hub = FeedHub(store=store, poll_s=1.0)
    async with hub.subscribe(after_id=last_seen) as events:
        async for row in events:
            ...
    await hub.close()
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator

from telemetry.health.store import FaultEventRow, FaultStore

log = logging.getLogger(__name__)

#: events a slow subscriber may have waiting before it is cut off (it reconnects and resumes
#: from its Last-Event-ID)
QUEUE_LIMIT = 10_000
BATCH = 500
#: unprocessed rows the hub waits on at once, and for how long (no consumer runs, or it is down)
PENDING_LIMIT = 10_000
PENDING_FOR_S = 600.0


class SubscriberTooSlow(Exception):
    """The subscriber fell QUEUE_LIMIT events behind."""


class _Subscriber:
    __slots__ = ("cursor", "queue", "overflowed")

    def __init__(self, cursor: int | None) -> None:
        self.cursor = cursor  # None: from the next new event
        self.queue: asyncio.Queue[FaultEventRow] = asyncio.Queue()
        self.overflowed = False


class FeedHub:
    """Args:
        store: where the outbox is.
        poll_s: how often to look for new events while anyone listens.
    """

    def __init__(self, *, store: FaultStore, poll_s: float = 1.0) -> None:
        if not poll_s > 0:
            raise ValueError("poll_s must be > 0")
        self.store = store
        self.poll_s = poll_s
        self._subscribers: set[_Subscriber] = set()
        self._task: asyncio.Task | None = None
        self._wake = asyncio.Event()
        self._closed = False
        self.polls = 0
        #: ids of rows handed out before the consumer processed them, with when they were read
        self._pending: dict[int, float] = {}

    @contextlib.asynccontextmanager
    async def subscribe(self, *, after_id: int | None = None,
                        ) -> AsyncIterator[AsyncIterator[FaultEventRow]]:
        """Events with ``id > after_id`` (None: from the next new one), oldest first; a row
        that was not processed yet comes again once it is (same ``id``, ``processed_at``
        set)."""
        if self._closed:
            raise RuntimeError("the feed is closed")
        sub = _Subscriber(after_id)
        self._subscribers.add(sub)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="health-feed-poll")
        else:
            self._wake.set()  # serve the newcomer's backlog now
        try:
            yield self._iterate(sub)
        finally:
            self._subscribers.discard(sub)

    async def _iterate(self, sub: _Subscriber) -> AsyncIterator[FaultEventRow]:
        while True:
            row = await sub.queue.get()
            if sub.overflowed and sub.queue.empty():
                raise SubscriberTooSlow(f"more than {QUEUE_LIMIT} events behind")
            yield row

    async def _run(self) -> None:
        # stops by itself when nobody listens: no cancellation in the middle of a query
        while self._subscribers and not self._closed:
            try:
                await self._poll()
            except Exception:
                log.exception("health feed: reading fault events failed")
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.poll_s):
                    await self._wake.wait()

    async def _poll(self) -> None:
        self.polls += 1
        subscribers = list(self._subscribers)
        if not subscribers:
            return
        fresh = [s for s in subscribers if s.cursor is None]
        if fresh:
            latest = await self.store.last_event_id()
            for sub in fresh:
                sub.cursor = latest
        cursor = min(s.cursor for s in subscribers if s.cursor is not None)
        now = time.monotonic()
        while True:
            rows = await self.store.events(after_id=cursor, limit=BATCH)
            for row in rows:
                if row.processed_at is None and len(self._pending) < PENDING_LIMIT:
                    self._pending[row.id] = now
                for sub in subscribers:
                    if (sub.cursor is None or row.id > sub.cursor) and not sub.overflowed:
                        sub.cursor = row.id
                        self._put(sub, row)
            if len(rows) < BATCH:
                break
            cursor = rows[-1].id
        await self._poll_pending(subscribers, now)

    async def _poll_pending(self, subscribers: list[_Subscriber], now: float) -> None:
        """Hand out again the rows the consumer has processed since they were handed out."""
        for row_id, since in list(self._pending.items()):
            if now - since > PENDING_FOR_S:
                del self._pending[row_id]
        if not self._pending:
            return
        wanted = sorted(self._pending)[:BATCH]
        rows = await self.store.events_by_id(wanted)
        for row_id in set(wanted) - {row.id for row in rows}:
            del self._pending[row_id]  # gone (a terminal's history was archived)
        for row in rows:
            if row.processed_at is None:
                continue
            del self._pending[row.id]
            for sub in subscribers:
                if sub.cursor is not None and sub.cursor >= row.id and not sub.overflowed:
                    self._put(sub, row)

    @staticmethod
    def _put(sub: _Subscriber, row: FaultEventRow) -> None:
        sub.queue.put_nowait(row)
        if sub.queue.qsize() >= QUEUE_LIMIT:
            sub.overflowed = True

    async def close(self) -> None:
        """Stop polling (between queries) and wait for it."""
        self._closed = True
        self._wake.set()
        task, self._task = self._task, None
        if task is not None:
            await task
