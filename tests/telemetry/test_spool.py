"""The on-disk spool: order, durability across reopen, bounds, and damaged files."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from telemetry.errors import SpoolLocked
from telemetry.spool import HEAD, QUARANTINE, Spool


async def _open(path: Path, **kw) -> Spool:
    kw.setdefault("max_bytes", 1 << 20)
    kw.setdefault("segment_bytes", 1 << 16)
    return await Spool.open(path, fsync=True, **kw)


async def _drain(spool: Spool) -> list[bytes]:
    out = []
    while (item := await spool.peek()) is not None:
        frame, payload = item
        out.append(payload)
        await spool.commit(frame)
    return out


def _segments(path: Path) -> list[Path]:
    return sorted(path.glob("*.seg"))


async def test_fifo_and_segments_deleted_after_commit(tmp_path: Path) -> None:
    spool = await _open(tmp_path, segment_bytes=300)
    try:
        payloads = [bytes([i]) * 100 for i in range(10)]
        for p in payloads:
            await spool.append(p)
        assert spool.pending_batches == 10
        assert spool.pending_bytes == 10 * (100 + HEAD.size)
        assert len(_segments(tmp_path)) > 1  # rotated
        assert await _drain(spool) == payloads
        assert spool.is_empty and spool.file_bytes == 0
        assert _segments(tmp_path) == []
    finally:
        spool.close()


async def test_leftover_spool_is_read_back_after_reopen(tmp_path: Path) -> None:
    spool = await _open(tmp_path)
    for i in range(3):
        await spool.append(f"batch {i}".encode())
    frame, _ = await spool.peek()
    await spool.commit(frame)  # the first was committed before the "crash"
    spool.close()

    spool = await _open(tmp_path)
    try:
        # the segment is replayed whole: the committed frame is still in the file (frames are
        # deleted a segment at a time); the ledger makes that replay harmless
        assert await _drain(spool) == [b"batch 0", b"batch 1", b"batch 2"]
        await spool.append(b"after restart")  # a new segment, never the old one
        assert await _drain(spool) == [b"after restart"]
        assert spool.counters.corrupt_regions == 0
    finally:
        spool.close()


async def test_corrupt_frame_is_counted_and_the_good_ones_kept(tmp_path: Path) -> None:
    spool = await _open(tmp_path)
    for p in (b"A" * 50, b"B" * 50, b"C" * 50):
        await spool.append(p)
    spool.close()
    (segment,) = _segments(tmp_path)
    data = bytearray(segment.read_bytes())
    data[HEAD.size + 50 + HEAD.size + 10] ^= 0xFF  # flip a byte inside B's payload
    segment.write_bytes(bytes(data))

    spool = await _open(tmp_path)
    try:
        assert spool.counters.corrupt_regions == 1
        assert await _drain(spool) == [b"A" * 50, b"C" * 50]
        assert (tmp_path / QUARANTINE / segment.name).exists()  # kept for people, not deleted
        assert _segments(tmp_path) == []
    finally:
        spool.close()


async def test_truncated_tail_and_garbage_between_frames(tmp_path: Path) -> None:
    spool = await _open(tmp_path)
    for p in (b"one", b"two", b"three-is-long" * 10):
        await spool.append(p)
    spool.close()
    (segment,) = _segments(tmp_path)
    data = segment.read_bytes()
    first = HEAD.size + 3
    # garbage after the first frame, and the last frame cut in half (a crash mid-write)
    segment.write_bytes(data[:first] + b"\x00garbage\xff" + data[first:-40])

    spool = await _open(tmp_path)
    try:
        assert await _drain(spool) == [b"one", b"two"]
        assert spool.counters.corrupt_regions == 2
    finally:
        spool.close()


async def test_full_spool_makes_append_wait_until_a_commit(tmp_path: Path) -> None:
    size = 1000
    spool = await _open(tmp_path, max_bytes=3 * (size + HEAD.size), segment_bytes=size + HEAD.size)
    try:
        for i in range(3):
            await spool.append(bytes([i]) * size)
        blocked = asyncio.create_task(spool.append(b"\x09" * size))
        await asyncio.sleep(0.1)
        assert not blocked.done()  # backpressure, not an error, not a drop
        frame, payload = await spool.peek()
        await spool.commit(frame)  # the first segment is drained and deleted: room
        await asyncio.wait_for(blocked, 5)
        assert spool.pending_batches == 3
        rest = await _drain(spool)
        assert rest[-1] == b"\x09" * size and len(rest) == 3
    finally:
        spool.close()


async def test_overflow_at_shutdown_takes_the_batch(tmp_path: Path) -> None:
    spool = await _open(tmp_path, max_bytes=200, segment_bytes=200)
    try:
        await spool.append(b"x" * 150)
        blocked = asyncio.create_task(spool.append(b"y" * 150))
        await asyncio.sleep(0.05)
        assert not blocked.done()
        await spool.allow_overflow()
        await asyncio.wait_for(blocked, 5)
        assert spool.pending_batches == 2
    finally:
        spool.close()


async def test_one_process_per_directory(tmp_path: Path) -> None:
    spool = await _open(tmp_path)
    try:
        with pytest.raises(SpoolLocked):
            await _open(tmp_path)
    finally:
        spool.close()
    (await _open(tmp_path)).close()  # released on close


def test_a_spooled_batch_keeps_the_terminal_status_and_reads_older_payloads() -> None:
    import json
    import struct
    from datetime import UTC, datetime

    from telemetry.batch import Batch, StateDelta

    at = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
    state = StateDelta(transport="jt808", remote_addr="10.0.0.1:5000", last_seen_at=at,
                       connected=True, acc=False, alarms="power_cut", status_at=at)
    payload = Batch(batch_id="b1", states={"13900000301": state}).to_payload()
    assert Batch.from_payload(payload).states["13900000301"] == state
    # a payload spooled by the version before the status columns: no status, no error
    (head_len,) = struct.unpack_from(">I", payload)
    header = json.loads(payload[4:4 + head_len])
    for key in ("acc", "alarms", "status_at"):
        del header["states"]["13900000301"][key]
    head = json.dumps(header).encode()
    old = Batch.from_payload(struct.pack(">I", len(head)) + head + payload[4 + head_len:])
    restored = old.states["13900000301"]
    assert (restored.acc, restored.alarms, restored.status_at) == (None, None, None)
    assert restored.last_seen_at == at
