"""The live feed hub: one poll, many subscribers, each from its own cursor."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import sqlalchemy as sa

from fieldgate.dburl import DatabaseURL
from telemetry.health import FaultEvent, FaultEventKind, FaultStore
from telemetry.health.feed import FeedHub


def opened(tid: str) -> FaultEvent:
    return FaultEvent(FaultEventKind.OPENED, tid, "no_fix", datetime.now(UTC), {"n": 1})


async def take(events, n: int) -> list[str]:
    out = []
    async with asyncio.timeout(10):
        async for row in events:
            out.append(row.terminal_id)
            if len(out) == n:
                return out
    return out


async def test_subscribers_share_one_poll_and_keep_their_own_cursor(db: DatabaseURL) -> None:
    async with FaultStore(db=db) as store:
        await store.record([opened("OLD1"), opened("OLD2")])
        hub = FeedHub(store=store, poll_s=0.02)
        try:
            async with hub.subscribe() as new_only, hub.subscribe(after_id=1) as resumed:
                first = await take(resumed, 1)  # the backlog after its cursor
                assert first == ["OLD2"]
                await store.record([opened("A"), opened("B")])
                assert await take(new_only, 2) == ["A", "B"]
                assert await take(resumed, 2) == ["A", "B"]
            polls = hub.polls
            await asyncio.sleep(0.1)
            assert hub.polls <= polls + 1  # nobody listens: it stops polling
        finally:
            await hub.close()


async def test_a_row_comes_again_once_the_consumer_has_processed_it(db: DatabaseURL) -> None:
    from telemetry.health.schema import fault_events

    async with FaultStore(db=db) as store:
        hub = FeedHub(store=store, poll_s=0.02)
        try:
            async with hub.subscribe(after_id=await store.last_event_id()) as events:
                await store.record([opened("P1")])
                async with asyncio.timeout(10):
                    first = await anext(events)
                assert first.terminal_id == "P1" and first.processed_at is None
                async with store.engine.begin() as conn:
                    await conn.execute(sa.update(fault_events)
                                       .where(fault_events.c.id == first.id)
                                       .values(processed_at=datetime.now(UTC),
                                               outcome="ticket WO-2026-000001 created"))
                async with asyncio.timeout(10):
                    again = await anext(events)
                assert again.id == first.id and again.outcome == "ticket WO-2026-000001 created"
                await store.record([opened("P2")])  # and only once
                async with asyncio.timeout(10):
                    assert (await anext(events)).terminal_id == "P2"
        finally:
            await hub.close()
