"""A store on an event loop of its own thread.

The gateway's loop is busy: every turn handles a burst of socket reads and decodes them. A
writer on that loop waits one whole turn at each of its awaits (ledger insert, COPY, upsert,
commit), which stretched commits from ~20 ms to 80-150 ms under load and made them the limit of
throughput and of socket-to-commit latency. On a loop of its own the writer's round trips wait
only for PostgreSQL; psycopg releases the GIL while it waits on the socket.

When an answer comes, though, the writer's thread needs the GIL back, and the gateway's thread,
decoding, gives it up only every ``sys.getswitchinterval()`` (5 ms by default): a batch's
round trips (begin, ledger, copy, savepoint, states, commit) each waited up to that long, about
half of a batch's 45 ms under load (docs/benchmarks.md, "Issue 9 §4"). A store on its own
thread therefore lowers the process's switch interval to ``SWITCH_INTERVAL``.
"""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Any, TypeVar

from telemetry.batch import Batch
from telemetry.store import Store, WriteResult

T = TypeVar("T")

#: seconds a thread holding the GIL runs before it hands it to a waiting one (see above)
SWITCH_INTERVAL = 0.0005


class ThreadedStore:
    """Runs another store's coroutines on a private event loop in a daemon thread.

    Cancelling a call (a shutdown timeout) cancels the coroutine in the writer's thread.
    """

    #: writes may be handed over while one runs: they wait in the writer's thread, in order
    #: (the store's own lock), and start the moment the one before ends
    pipelined = True

    def __init__(self, store: Store, *, name: str = "fieldgate-db-writer") -> None:
        if sys.getswitchinterval() > SWITCH_INTERVAL:
            sys.setswitchinterval(SWITCH_INTERVAL)
        self._store = store
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()
        self._closed = False

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_forever()

    async def _call(self, fn: Callable[..., Coroutine[Any, Any, T]], *args: object) -> T:
        if self._closed:
            raise RuntimeError("the store's thread is closed")
        future = asyncio.run_coroutine_threadsafe(fn(*args), self._loop)
        return await asyncio.wrap_future(future)

    async def write(self, batch: Batch) -> WriteResult:
        return await self._call(self._store.write, batch)

    async def registered_ids(self) -> set[str]:
        return await self._call(self._store.registered_ids)

    async def prune_ledger(self, before: datetime) -> int:
        return await self._call(self._store.prune_ledger, before)

    async def close(self) -> None:
        if self._closed:
            return
        try:
            await self._call(self._store.close)
        finally:
            self._closed = True
            self._loop.call_soon_threadsafe(self._loop.stop)
            await asyncio.get_running_loop().run_in_executor(None, self._thread.join)
            self._loop.close()
