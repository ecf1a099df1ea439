"""The TCP listener on real sockets: identification, holding, limits, bad input, backpressure."""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest

from devices.nmea import Reject, encode
from gateway.config import TcpConfig, TcpLimits
from gateway.tcp import TcpServer
from tests.gateway.memsink import MemorySink
from tests.gateway.nmea_data import decode_all, epochs, fixes, pgid, t55_capture
from tests.waiting import eventually


@contextlib.asynccontextmanager
async def serving(sink: MemorySink, **limits: object) -> AsyncIterator[TcpServer]:
    server = TcpServer(config=TcpConfig(host="127.0.0.1", port=0, limits=TcpLimits(**limits)),
                       sink=sink)
    await server.start()
    sweeper = asyncio.create_task(server.run(), name="tcp-idle-sweeper")
    try:
        yield server
    finally:
        sink.unblock()  # a failed assertion must not leave connections stuck in the sink
        sweeper.cancel()
        await asyncio.gather(sweeper, return_exceptions=True)
        await server.close()


async def connect(server: TcpServer) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", server.port)


async def send_and_close(server: TcpServer, data: bytes) -> None:
    _reader, writer = await connect(server)
    writer.write(data)
    await writer.drain()
    writer.close()
    await writer.wait_closed()


async def test_pgid_identifies_the_connection_and_records_flow_into_its_session() -> None:
    sink = MemorySink()
    items = fixes(5, terminal="T100")
    async with serving(sink) as server:
        _reader, writer = await connect(server)
        writer.write(pgid("T100") + epochs(items))
        await writer.drain()
        await eventually(lambda: sink.count("T100") == 5)
        assert [e[0] for e in sink.events][:1] == ["opened"]
        session = sink.opened[0]
        assert session.remote.startswith("127.0.0.1:")
        assert server.connection_of("T100") is not None
        writer.close()
        await writer.wait_closed()
        await eventually(lambda: len(sink.closed) == 1)
    assert sink.records["T100"] == items
    closed = sink.closed[0]
    assert closed.sentences == 11  # PGID + 5 x (RMC, GGA)
    assert closed.rejected == 0
    assert server.metrics.sessions == 0 and server.metrics.sessions_total == 1
    assert server.metrics.records_published == 5
    assert server.metrics.disconnects == {"peer": 1}


async def test_records_before_pgid_are_held_and_released_with_the_terminal_id() -> None:
    sink = MemorySink()
    early, late = fixes(4), fixes(3, start=4, terminal="T7")
    async with serving(sink) as server:
        _reader, writer = await connect(server)
        writer.write(epochs(early))
        await writer.drain()
        await eventually(lambda: server.metrics.reads >= 1)
        await asyncio.sleep(0.05)
        assert sink.events == []  # nothing published for an anonymous connection
        writer.write(pgid("T7") + epochs(late))
        await writer.drain()
        writer.close()
        await writer.wait_closed()
        await eventually(lambda: len(sink.closed) == 1)
    assert sink.records["T7"] == [replace(f, terminal="T7") for f in early] + late
    assert server.metrics.rejects == {}


async def test_a_connection_that_never_identifies_counts_its_records_unidentified() -> None:
    sink = MemorySink()
    async with serving(sink) as server:
        await send_and_close(server, epochs(fixes(6)))
        await eventually(lambda: server.metrics.rejects.get("unidentified") == 6)
    assert sink.events == []
    assert server.metrics.sessions_total == 0


async def test_holding_is_bounded_and_keeps_the_newest_records() -> None:
    sink = MemorySink()
    items = fixes(8)
    async with serving(sink, max_unidentified=3) as server:
        await send_and_close(server, epochs(items) + pgid("T8"))
        await eventually(lambda: len(sink.closed) == 1)
    assert sink.records["T8"] == [replace(f, terminal="T8") for f in items[-3:]]
    assert server.metrics.rejects == {"unidentified": 5}


async def test_bad_input_is_counted_and_skipped_without_dropping_the_connection() -> None:
    sink = MemorySink()
    items = fixes(6, terminal="T9")
    good_before, good_after = epochs(items[:3]), epochs(items[3:])
    bad_checksum = encode.rmc(fixes(1, start=50)[0]).replace(b"*", b"*0")[:-5] + b"*00\r\n"
    noise = bytes(random.Random(7).randrange(256) for _ in range(200)).translate(None, b"\r\n$")
    overlong = b"$GPRMC," + b"9" * 2000 + b"\r\n"
    traffic = (pgid("T9") + good_before + b"garbage without a dollar\r\n" + noise + b"\r\n"
               + bad_checksum + overlong + b"$GPGGA,not,a,sentence*00\r\n" + good_after)
    async with serving(sink, max_line=256, read_buffer=4096) as server:
        reader, writer = await connect(server)
        for i in range(0, len(traffic), 97):  # arbitrary chunking: lines split across reads
            writer.write(traffic[i:i + 97])
            await writer.drain()
        await eventually(lambda: sink.count("T9") == 6)
        assert not reader.at_eof()
        writer.close()
        await writer.wait_closed()
        await eventually(lambda: len(sink.closed) == 1)
    assert sink.records["T9"] == items
    rejected = sink.closed[0].rejected_by_reason
    assert rejected[Reject.OVERLONG] == 1
    assert rejected[Reject.BAD_CHECKSUM] == 2
    assert rejected[Reject.NO_SENTENCE] >= 2
    assert sink.closed[0].rejected == sum(rejected.values())


async def test_real_t55_capture_in_random_chunks_matches_the_decoder() -> None:
    sink = MemorySink()
    data = t55_capture()
    expected = decode_all(data)
    terminal = "359853000144328"  # announced by the capture's own $PGID line
    rng = random.Random(55)
    async with serving(sink) as server:
        _reader, writer = await connect(server)
        i = 0
        while i < len(data):
            step = rng.randint(1, 40)
            writer.write(data[i:i + step])
            await writer.drain()
            i += step
        writer.close()
        await writer.wait_closed()
        await eventually(lambda: len(sink.closed) == 1)
    assert sink.records[terminal] == [
        r if r.terminal == terminal else replace(r, terminal=terminal) for r in expected
    ]
    got = {(r.time.isoformat(), getattr(r, "lat", None), r.terminal)
           for r in sink.records[terminal]}
    # a fix from before the $PGID line (held, then released under the id) and one after it
    assert ("2023-11-09T16:44:14.900000+00:00", 46.8419275, terminal) in got
    assert ("2009-05-05T12:57:35+00:00", 60.1723915, terminal) in got


async def test_many_connections_each_keep_their_own_order() -> None:
    sink = MemorySink()
    n_conn, n_fix = 150, 12
    plan = {f"M{i:04d}": fixes(n_fix, terminal=f"M{i:04d}", lat=10 + i * 0.01)
            for i in range(n_conn)}
    async with serving(sink) as server:
        async def terminal(name: str) -> None:
            _reader, writer = await connect(server)
            writer.write(pgid(name))
            for f in plan[name]:
                writer.write(encode.epoch(f))
                await writer.drain()
                await asyncio.sleep(0)
            writer.close()
            await writer.wait_closed()

        await asyncio.gather(*(terminal(name) for name in plan))
        await eventually(lambda: len(sink.closed) == n_conn)
    assert sink.records == plan
    assert server.metrics.connections_total == n_conn
    assert server.metrics.connections == 0


async def test_connections_beyond_the_limit_are_refused_and_counted() -> None:
    sink = MemorySink()
    async with serving(sink, max_connections=3) as server:
        kept = [await connect(server) for _ in range(3)]
        await eventually(lambda: server.connections == 3)
        extra = [await connect(server) for _ in range(2)]
        for reader, _ in extra:  # the gateway closes them at once
            with contextlib.suppress(ConnectionResetError):
                assert await asyncio.wait_for(reader.read(), 5) == b""
        assert server.metrics.refused == {"max_connections": 2}
        reader, writer = kept[0]
        writer.write(pgid("K1") + epochs(fixes(3, terminal="K1")))
        await writer.drain()
        await eventually(lambda: sink.count("K1") == 3)
        for _, writer in kept + extra:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
        await eventually(lambda: server.connections == 0)
        # room again after they left
        again = await connect(server)
        await eventually(lambda: server.connections == 1)
        again[1].close()
        await again[1].wait_closed()
    assert server.metrics.refused == {"max_connections": 2}


async def test_idle_connections_are_closed_and_their_sessions_closed() -> None:
    sink = MemorySink()
    async with serving(sink, idle_timeout=0.15) as server:
        reader, writer = await connect(server)
        writer.write(pgid("IDLE1") + epochs(fixes(3, terminal="IDLE1")))
        await writer.drain()
        assert await asyncio.wait_for(reader.read(), 5) == b""  # closed by the gateway
        await eventually(lambda: len(sink.closed) == 1)
        writer.close()
        await writer.wait_closed()
    assert sink.count("IDLE1") == 3
    assert server.metrics.disconnects == {"idle": 1}


async def test_a_second_connection_of_the_same_terminal_replaces_the_first() -> None:
    sink = MemorySink()
    async with serving(sink) as server:
        r1, w1 = await connect(server)
        w1.write(pgid("DUP") + epochs(fixes(3, terminal="DUP")))
        await w1.drain()
        await eventually(lambda: sink.count("DUP") == 3)
        _r2, w2 = await connect(server)
        w2.write(pgid("DUP") + epochs(fixes(3, start=3, terminal="DUP")))
        await w2.drain()
        assert await asyncio.wait_for(r1.read(), 5) == b""  # the old one is closed
        await eventually(lambda: sink.count("DUP") == 6)
        assert [e[0] for e in sink.events if e[0] != "publish"] == ["opened", "closed", "opened"]
        assert server.connection_of("DUP") is not None
        for w in (w1, w2):
            w.close()
            await w.wait_closed()
        await eventually(lambda: len(sink.closed) == 2)
    assert sink.records["DUP"] == fixes(6, terminal="DUP")
    assert server.metrics.disconnects == {"replaced": 1, "peer": 1}


async def test_one_connection_announcing_another_id_switches_sessions() -> None:
    sink = MemorySink()
    a, b = fixes(3, terminal="A1"), fixes(3, start=3, terminal="B1")
    async with serving(sink) as server:
        await send_and_close(server, pgid("A1") + epochs(a) + pgid("B1") + epochs(b))
        await eventually(lambda: len(sink.closed) == 2)
    assert sink.records == {"A1": a, "B1": b}
    assert [(e[0], e[1]) for e in sink.events if e[0] != "publish"] == [
        ("opened", "A1"), ("closed", "A1"), ("opened", "B1"), ("closed", "B1")]


async def test_a_failing_sink_is_counted_and_the_connection_carries_on() -> None:
    sink = MemorySink()
    sink.fail_publishes = 1
    async with serving(sink) as server:
        _reader, writer = await connect(server)
        writer.write(pgid("F1") + epochs(fixes(3, terminal="F1")))
        await writer.drain()
        await eventually(lambda: server.metrics.rejects.get("sink_error", 0) >= 1)
        writer.write(epochs(fixes(3, start=3, terminal="F1")))
        await writer.drain()
        await eventually(lambda: sink.count("F1") >= 3)
        writer.close()
        await writer.wait_closed()
        await eventually(lambda: len(sink.closed) == 1)
    lost = server.metrics.rejects["sink_error"]
    assert sink.count("F1") + lost == 6


async def test_shutdown_flushes_the_last_epoch_and_closes_sessions() -> None:
    sink = MemorySink()
    items = fixes(3, terminal="S1")
    data = pgid("S1") + encode.epoch(items[0]) + encode.epoch(items[1]) + encode.rmc(items[2])
    async with serving(sink) as server:
        reader, writer = await connect(server)
        writer.write(data[:-2])  # the last RMC without its line end
        await writer.drain()
        await eventually(lambda: sink.count("S1") >= 1)
    # leaving the context closed the server: the unterminated line and open epoch were flushed
    assert sink.records["S1"] == [items[0], items[1],
                                  replace(items[2], alt_m=None, sats=None, hdop=None,
                                          fix_quality=None)]
    assert len(sink.closed) == 1 and server.metrics.disconnects == {"shutdown": 1}
    assert await reader.read() == b""
    writer.close()
    await writer.wait_closed()


async def test_blocked_sink_stops_reading_until_the_sender_blocks_then_nothing_is_lost() -> None:
    sink = MemorySink()
    batch = 400  # epochs per write, ~60 KB
    async with serving(sink, read_buffer=16 * 1024) as server:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 32 * 1024)
        sock.setblocking(False)
        loop = asyncio.get_running_loop()
        await loop.sock_connect(sock, ("127.0.0.1", server.port))
        sock.sendall(pgid("BP1") + epochs(fixes(3, terminal="BP1")))
        await eventually(lambda: sink.count("BP1") == 3)
        sink.block()

        sent_epochs, pending = 3, b""
        blocked_at = None
        for _ in range(2000):  # at most ~120 MB: the kernel buffers are far smaller
            if not pending:
                pending = epochs(fixes(batch, start=sent_epochs, terminal="BP1"))
                sent_epochs += batch
            try:
                n = sock.send(pending)
            except BlockingIOError:
                n = 0
            pending = pending[n:]
            if n == 0:
                await asyncio.sleep(0.05)  # let the gateway read what it will
                try:
                    n = sock.send(pending)
                except BlockingIOError:
                    blocked_at = server.metrics.reads
                    break
                pending = pending[n:]
            await asyncio.sleep(0)
        assert blocked_at is not None, "the sender never blocked: the gateway kept reading"
        assert sink.waiting == 1
        conn = server.connection_of("BP1")
        assert conn is not None and server.metrics.paused == 1
        await asyncio.sleep(0.1)
        assert server.metrics.reads == blocked_at  # reading is paused, not just slow
        assert sink.count("BP1") == 3

        sink.unblock()
        while pending:  # the rest of the last batch, now that the gateway reads again
            try:
                n = sock.send(pending)
                pending = pending[n:]
            except BlockingIOError:
                await asyncio.sleep(0.01)
        sock.close()
        await eventually(lambda: len(sink.closed) == 1, timeout=30)
    assert sink.records["BP1"] == fixes(sent_epochs, terminal="BP1")
    assert server.metrics.pauses >= 1 and server.metrics.paused == 0
    assert server.metrics.publish_wait_sum >= 0.1


async def test_reuse_port_lets_two_listeners_share_a_port_and_split_connections() -> None:
    sinks = [MemorySink(), MemorySink()]
    first = TcpServer(config=TcpConfig(host="127.0.0.1", port=0, reuse_port=True), sink=sinks[0])
    await first.start()
    second = TcpServer(config=TcpConfig(host="127.0.0.1", port=first.port, reuse_port=True),
                       sink=sinks[1])
    await second.start()  # without SO_REUSEPORT this bind fails: see below
    try:
        for i in range(60):
            await send_and_close(first, pgid(f"RP{i}") + epochs(fixes(3, terminal=f"RP{i}")))
        await eventually(lambda: len(sinks[0].closed) + len(sinks[1].closed) == 60)
        # the kernel spreads connections by address hash: both processes get a share
        assert len(sinks[0].closed) > 0 and len(sinks[1].closed) > 0
        assert sinks[0].count() + sinks[1].count() == 180
        plain = TcpServer(config=TcpConfig(host="127.0.0.1", port=first.port), sink=MemorySink())
        with pytest.raises(OSError):
            await plain.start()
    finally:
        await first.close()
        await second.close()
