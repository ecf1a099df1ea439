"""High-rate load for benchmarks: pre-encoded streams, large writes, measured send rate.

A :class:`LoadPlan` encodes every epoch of every terminal before the clock starts, so that the
generator spends its CPU on writing, not on formatting, while the gateway under test is measured.
Encoding uses *templates*: each point of a terminal's track is encoded once by
``devices.nmea.encode`` and only the time and date fields are swapped per epoch, with the
checksum updated by XOR (the checksum of a concatenation is the XOR of its parts' checksums).
The result is byte-identical to the devices encoder (differential-tested) at a fraction of the
cost.

Each terminal drives a real track (:class:`~simulators.route.Vehicle`) of up to ``track_points``
points and then goes back and forth along it (course reversed on the way back), so a long plan
never teleports; fix times advance by ``interval`` per epoch and are unique per terminal.

Over TCP each terminal has its own connection (``$PGID`` then its stream); over MQTT ``M``
clients publish the terminals' streams, several epochs per message, on their own topics.
:class:`LoadResult` gives the achieved rate and a log of when each chunk was written, from which
a benchmark gets socket-to-commit latency per fix. A plan costs about 150 bytes of memory per
epoch (RMC + GGA).
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import random
import time
from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from devices.nmea import encode
from devices.nmea.checksum import checksum
from devices.records import Fix
from simulators.errors import SpecError, TransportError
from simulators.fleet import terminal_ids
from simulators.mqttwire import RawPublisher, publish_packet
from simulators.route import RouteConfig, Vehicle
from simulators.sentences import Sentence, SentenceProfile
from simulators.transports.mqtt import TOPIC

#: the sentences whose time/date a template can swap
_TEMPLATABLE = {Sentence.RMC, Sentence.GGA, Sentence.GSA, Sentence.VTG, Sentence.ZDA}
_STAR = [b"*%02X\r\n" % i for i in range(256)]
#: default write size for TCP: large enough that per-write overhead vanishes
CHUNK_BYTES = 64 * 1024


class _Template:
    """One encoded sentence cut around its time and date fields."""

    __slots__ = ("parts", "slots", "xor", "size")

    def __init__(self, sentence: bytes) -> None:
        body = sentence[1 : sentence.rindex(b"*")]
        fields = body.split(b",")
        kind = fields[0][2:]
        slots: dict[int, str] = {}
        if kind in (b"RMC", b"GGA", b"ZDA"):
            slots[1] = "time"
        if kind == b"RMC":
            slots[9] = "date"
        if kind == b"ZDA":  # day, month, year as one slot
            fields[2:5] = [b",".join(fields[2:5])]
            slots[2] = "zda"
        parts: list[bytes] = []
        names: list[str] = []
        current: list[bytes] = []
        for i, f in enumerate(fields):
            if i in slots:
                parts.append(b",".join(current) + b",")
                names.append(slots[i])
                current = [b""]
            else:
                current.append(f)
        parts.append(b",".join(current))
        self.parts = parts
        self.slots = tuple(names)
        self.xor = checksum(b"".join(parts))
        self.size = 1 + sum(len(p) for p in parts) + 5  # "$", parts, "*HH\r\n"

    def render(self, out: list[bytes], fields: dict[str, tuple[bytes, int]]) -> int:
        """Append the sentence's pieces to ``out``; returns its length."""
        parts = self.parts
        x = self.xor
        size = self.size
        out.append(b"$")
        out.append(parts[0])
        for i, name in enumerate(self.slots):
            text, fx = fields[name]
            x ^= fx
            size += len(text)
            out.append(text)
            out.append(parts[i + 1])
        out.append(_STAR[x])
        return size


class _Clockface:
    """Cached time and date fields with their checksums (shared by all terminals)."""

    def __init__(self) -> None:
        self._times: dict[int, tuple[bytes, int]] = {}
        self._dates: dict[int, tuple[bytes, int]] = {}
        self._zdas: dict[int, tuple[bytes, int]] = {}

    def fields(self, t: datetime) -> dict[str, tuple[bytes, int]]:
        cs = (t.hour * 3600 + t.minute * 60 + t.second) * 100 + t.microsecond // 10000
        tf = self._times.get(cs)
        if tf is None:
            text = b"%02d%02d%02d.%02d" % (t.hour, t.minute, t.second, t.microsecond // 10000)
            tf = self._times[cs] = (text, checksum(text))
        day = t.toordinal()
        df = self._dates.get(day)
        if df is None:
            text = b"%02d%02d%02d" % (t.day, t.month, t.year % 100)
            df = self._dates[day] = (text, checksum(text))
            text = b"%02d,%02d,%04d" % (t.day, t.month, t.year)
            self._zdas[day] = (text, checksum(text))
        return {"time": tf, "date": df, "zda": self._zdas[day]}


@dataclass(frozen=True, slots=True)
class LoadPlan:
    """Every epoch of every terminal, encoded. Build with :meth:`build`."""

    terminal_ids: tuple[str, ...]
    streams: tuple[bytes, ...]  #: per terminal, its epochs back to back (no ``$PGID``)
    ends: tuple[array, ...]  #: per terminal, byte offset of the end of each epoch
    start: datetime  #: time of epoch 0
    interval: float  #: seconds between a terminal's epochs

    @classmethod
    def build(cls, *, terminals: int, fixes_per_terminal: int, seed: int = 0,
              id_prefix: str = "SIM", interval: float = 1.0, start: datetime | None = None,
              profile: SentenceProfile | None = None, route: RouteConfig | None = None,
              track_points: int = 600) -> LoadPlan:
        """Encode ``terminals`` x ``fixes_per_terminal`` epochs.

        Args:
            start: time of the first epoch (default: the current whole second).
            interval: seconds between epochs of one terminal; a multiple of 10 ms.
            track_points: distinct positions per terminal before it turns back.
        """
        if terminals < 1 or fixes_per_terminal < 1:
            raise SpecError("a load plan needs at least one terminal and one fix")
        cs = round(interval * 100)
        if cs < 1 or abs(interval * 100 - cs) > 1e-6:
            raise SpecError(f"interval {interval} s must be a positive multiple of 0.01 s")
        profile = profile or SentenceProfile()
        if not set(profile.sentences) <= _TEMPLATABLE:
            raise SpecError("load plans support RMC, GGA, GSA, VTG and ZDA (not GSV)")
        route = route or RouteConfig()
        start = start or datetime.now(UTC).replace(microsecond=0)
        if start.tzinfo is None:
            raise SpecError("start must be timezone-aware (UTC)")
        start = start.replace(microsecond=start.microsecond // 10000 * 10000)
        ids = terminal_ids(terminals, id_prefix)
        face = _Clockface()
        step = timedelta(milliseconds=cs * 10)
        times = [start + step * i for i in range(fixes_per_terminal)]
        fields = [face.fields(t) for t in times]
        streams, ends = [], []
        for tid in ids:
            points = _track(tid, seed, route, profile, min(track_points, fixes_per_terminal),
                            interval, start, reverse=fixes_per_terminal > track_points)
            stream, offsets = _encode_terminal(points, fields)
            streams.append(stream)
            ends.append(offsets)
        return cls(tuple(ids), tuple(streams), tuple(ends), start, cs / 100)

    @property
    def fixes_per_terminal(self) -> int:
        return len(self.ends[0])

    @property
    def total_fixes(self) -> int:
        return sum(len(e) for e in self.ends)

    @property
    def total_bytes(self) -> int:
        return sum(len(s) for s in self.streams)

    def fix_time(self, epoch: int) -> datetime:
        return self.start + timedelta(milliseconds=round(self.interval * 100) * 10 * epoch)

    def truth(self) -> Iterator[tuple[str, datetime]]:
        """``(terminal id, fix time)`` of every fix in the plan: what must be stored."""
        times = [self.fix_time(i) for i in range(self.fixes_per_terminal)]
        for tid in self.terminal_ids:
            for t in times:
                yield tid, t

    def chunks(self, index: int, max_bytes: int) -> Iterator[tuple[int, int, memoryview]]:
        """Epoch-aligned slices of terminal ``index``'s stream: ``(first epoch, count, bytes)``."""
        stream = memoryview(self.streams[index])
        ends = self.ends[index]
        first, pos, n = 0, 0, len(ends)
        while first < n:
            limit = pos + max_bytes
            last = bisect.bisect_right(ends, limit, first) - 1
            last = max(last, first)  # one epoch longer than max_bytes still goes alone
            yield first, last - first + 1, stream[pos : ends[last]]
            pos = ends[last]
            first = last + 1


def _track(tid: str, seed: int, route: RouteConfig, profile: SentenceProfile, count: int,
           interval: float, start: datetime, *, reverse: bool) -> list[list[_Template]]:
    """Templates of each track point: forward, then (when the plan is longer) backward."""
    vehicle = Vehicle(route, random.Random(f"{seed}:{tid}:route"))
    states = [vehicle.state()]
    for _ in range(count - 1):
        states.append(vehicle.advance(interval))
    talker = profile.talker
    forward: list[list[_Template]] = []
    backward: list[list[_Template]] = []
    for s in states:
        for course, out in ((s.course, forward), ((s.course + 180.0) % 360.0, backward)):
            if out is backward and not reverse:
                continue
            fix = Fix(start, s.lat, s.lon, s.speed_kn, round(course, 2) % 360.0, s.alt_m,
                      s.sats, s.hdop, 1)
            sentences = []
            for kind in profile.sentences:
                if kind is Sentence.RMC:
                    sentences.append(encode.rmc(fix, talker=talker))
                elif kind is Sentence.GGA:
                    sentences.append(encode.gga(fix, talker=talker))
                elif kind is Sentence.GSA:
                    sentences.append(encode.gsa(3, hdop=fix.hdop, talker=talker))
                elif kind is Sentence.VTG:
                    sentences.append(encode.vtg(fix, talker=talker))
                else:
                    sentences.append(encode.zda(start, talker=talker))
            out.append([_Template(x) for x in sentences])
    if reverse:
        # there and back: ... n-2, n-1, (turn) n-1, n-2, ... 1, 0, (turn) 0, 1, ...
        return forward + backward[::-1]
    return forward


def _encode_terminal(points: list[list[_Template]],
                     fields: list[dict[str, tuple[bytes, int]]]) -> tuple[bytes, array]:
    out: list[bytes] = []
    ends = array("Q")
    period = len(points)
    size = 0
    for i, f in enumerate(fields):
        for template in points[i % period]:
            size += template.render(out, f)
        ends.append(size)
    return b"".join(out), ends


@dataclass(slots=True)
class LoadResult:
    """What a load run achieved, measured at the sender."""

    transport: str
    connections: int
    fixes: int = 0
    bytes: int = 0
    connect_s: float = 0.0  #: time to open every connection
    elapsed_s: float = 0.0  #: first write to last write (accepted by the kernel)
    #: first write until every peer closed after our end-of-stream, i.e. the receiver read
    #: everything (None when not waited for, or a peer did not close in time)
    consumed_s: float | None = None
    target_rate: float | None = None  #: fixes/s asked for (None: flat out)
    #: ``(terminal index, first epoch, epochs, wall time of the write)`` per chunk
    log: list[tuple[int, int, int, float]] = field(default_factory=list)

    @property
    def rate(self) -> float:
        """Fixes per second achieved."""
        return self.fixes / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def consumed_rate(self) -> float | None:
        """Fixes per second the receiver read (see :attr:`consumed_s`)."""
        return self.fixes / self.consumed_s if self.consumed_s else None

    @property
    def mbytes_per_s(self) -> float:
        return self.bytes / self.elapsed_s / 1e6 if self.elapsed_s > 0 else 0.0

    def written_at(self) -> dict[tuple[int, int], float]:
        """``(terminal index, epoch)`` to the wall time its bytes were written (a dict over
        every fix: for latency studies on plans of moderate size)."""
        out = {}
        for index, first, count, t in self.log:
            for epoch in range(first, first + count):
                out[(index, epoch)] = t
        return out

    def summary(self) -> str:
        target = "flat out" if self.target_rate is None else f"target {self.target_rate:,.0f}/s"
        text = (f"{self.transport}: {self.fixes:,} fixes in {self.elapsed_s:.2f} s over "
                f"{self.connections} connections ({target}): sent {self.rate:,.0f} fixes/s, "
                f"{self.mbytes_per_s:.1f} MB/s")
        if self.consumed_s is not None:
            text += (f"; the receiver read them all in {self.consumed_s:.2f} s: "
                     f"{self.consumed_rate:,.0f} fixes/s")
        return text + f"; connecting took {self.connect_s:.2f} s"


class _Pacer:
    """Spaces writes so that ``rate`` epochs/s leave, scheduled from a fixed origin so that
    a late write is caught up rather than shifting everything after it."""

    def __init__(self, rate: float | None, origin: float) -> None:
        self.rate = rate
        self.origin = origin

    async def wait(self, done: int) -> None:
        if self.rate is None:
            return
        delay = self.origin + done / self.rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)


def _chunk_bytes(plan: LoadPlan, per_connection_rate: float | None, max_bytes: int) -> int:
    if per_connection_rate is None:
        return max_bytes
    # about 20 writes per second per connection: smooth, yet large writes
    epoch = len(plan.streams[0]) / max(1, plan.fixes_per_terminal)
    return int(max(epoch, min(max_bytes, per_connection_rate / 20 * epoch)))


async def send_tcp(plan: LoadPlan, host: str, port: int, *, rate: float | None = None,
                   chunk_bytes: int = CHUNK_BYTES, identify: bool = True,
                   connect_timeout: float = 10.0, wait_consumed: float = 0.0) -> LoadResult:
    """Send the plan over one TCP connection per terminal; ``rate`` in fixes/s overall.

    The send rate counts bytes the kernel accepted: with plans not much larger than the
    socket buffers (megabytes per connection on loopback) it overstates what the receiver
    took. With ``wait_consumed`` > 0 each connection is half-closed after its last write and
    the run waits up to that many seconds for the receiver to close its side, which a server
    does once it has read everything: :attr:`LoadResult.consumed_s` is then the receiver's pace.
    """
    if rate is not None and rate <= 0:
        raise SpecError("rate must be positive (or None for flat out)")
    n = len(plan.terminal_ids)
    result = LoadResult("tcp", n, target_rate=rate)
    gate = asyncio.Semaphore(64)

    readers: dict[asyncio.StreamWriter, asyncio.StreamReader] = {}

    async def connect(tid: str) -> asyncio.StreamWriter:
        async with gate:
            try:
                reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port),
                                                        connect_timeout)
            except (OSError, TimeoutError) as exc:
                raise TransportError(f"{tid}: cannot connect to {host}:{port}: {exc}") from exc
        readers[writer] = reader
        if identify:
            writer.write(encode.pgid(tid))
        return writer

    async def consumed(writer: asyncio.StreamWriter) -> bool:
        reader = readers[writer]
        try:
            writer.write_eof()
            while await reader.read(65536):
                pass
        except OSError:
            pass
        return True

    t0 = time.perf_counter()
    writers: list[asyncio.StreamWriter] = []
    try:
        opened = await asyncio.gather(*(connect(t) for t in plan.terminal_ids),
                                      return_exceptions=True)
        writers = [w for w in opened if isinstance(w, asyncio.StreamWriter)]
        for failure in opened:
            if isinstance(failure, BaseException):
                raise failure
        result.connect_s = time.perf_counter() - t0
        per_conn = None if rate is None else rate / n
        size = _chunk_bytes(plan, per_conn, chunk_bytes)
        origin = time.perf_counter()

        async def pump(index: int, writer: asyncio.StreamWriter) -> None:
            pacer = _Pacer(per_conn, origin)
            done = 0
            try:
                for first, count, data in plan.chunks(index, size):
                    await pacer.wait(done)
                    result.log.append((index, first, count, time.time()))
                    writer.write(data)
                    await writer.drain()
                    done += count
                    result.fixes += count
                    result.bytes += len(data)
            except (OSError, RuntimeError) as exc:
                raise TransportError(f"{plan.terminal_ids[index]}: connection lost after "
                                     f"{done} fixes: {exc}") from exc

        await asyncio.gather(*(pump(i, w) for i, w in enumerate(writers)))
        result.elapsed_s = time.perf_counter() - origin
        if wait_consumed > 0:
            try:
                await asyncio.wait_for(asyncio.gather(*(consumed(w) for w in writers)),
                                       wait_consumed)
                result.consumed_s = time.perf_counter() - origin
            except TimeoutError:
                result.consumed_s = None
    finally:
        for w in writers:
            w.close()
        for w in writers:
            with contextlib.suppress(OSError, TimeoutError):
                await asyncio.wait_for(w.wait_closed(), 5)
    return result


async def send_mqtt(plan: LoadPlan, host: str, port: int = 1883, *, qos: int = 0,
                    connections: int = 4, epochs_per_message: int = 10,
                    rate: float | None = None, topic: str = TOPIC, inflight: int = 1000,
                    chunk_bytes: int = CHUNK_BYTES) -> LoadResult:
    """Publish the plan through ``connections`` MQTT connections, ``epochs_per_message``
    epochs per message on each terminal's topic; ``rate`` in fixes/s overall.

    PUBLISH packets are pre-encoded (:mod:`simulators.mqttwire`) and written in large chunks;
    QoS 1 keeps at most ``inflight`` unacknowledged messages per connection. At the end each
    connection waits for the broker to answer a PINGREQ, so :attr:`LoadResult.consumed_s` is
    the time by which the broker had read (QoS 1: acknowledged) every message.
    """
    if qos not in (0, 1):
        raise SpecError("MQTT QoS must be 0 or 1")
    if connections < 1 or epochs_per_message < 1 or inflight < 1:
        raise SpecError("connections, epochs_per_message and inflight must be at least 1")
    connections = min(connections, len(plan.terminal_ids))
    result = LoadResult("mqtt", connections, target_rate=rate)
    per_conn = None if rate is None else rate / connections
    batches = [_mqtt_batches(plan, range(c, len(plan.terminal_ids), connections), qos=qos,
                             epochs_per_message=epochs_per_message, topic=topic,
                             per_connection_rate=per_conn, max_bytes=chunk_bytes)
               for c in range(connections)]
    token = random.getrandbits(24)
    publishers = [RawPublisher(host, port, f"fgload-{token:06x}-{c}")
                  for c in range(connections)]
    connected: list[RawPublisher] = []
    t0 = time.perf_counter()
    try:
        for pub in publishers:
            await pub.connect()
            connected.append(pub)
        result.connect_s = time.perf_counter() - t0
        origin = time.perf_counter()

        async def pump(pub: RawPublisher, chunks: list[_MqttBatch]) -> None:
            pacer = _Pacer(per_conn, origin)
            fixes = messages = 0
            for batch in chunks:
                await pacer.wait(fixes)
                if qos and messages + batch.messages > inflight:
                    await pub.wait_acked(messages + batch.messages - inflight)
                now = time.time()
                result.log.extend((i, first, count, now) for i, first, count in batch.spans)
                await pub.write(batch.data)
                fixes += batch.fixes
                messages += batch.messages
                result.fixes += batch.fixes
                result.bytes += batch.payload_bytes
            if qos:
                await pub.wait_acked(messages)

        await asyncio.gather(*(pump(p, b) for p, b in zip(connected, batches, strict=True)))
        result.elapsed_s = time.perf_counter() - origin
        await asyncio.gather(*(p.fence() for p in connected))
        result.consumed_s = time.perf_counter() - origin
    finally:
        for pub in connected:
            await pub.close()
    return result


@dataclass(frozen=True, slots=True)
class _MqttBatch:
    data: bytes  #: PUBLISH packets back to back
    spans: tuple[tuple[int, int, int], ...]  #: (terminal index, first epoch, epochs) each
    fixes: int
    messages: int
    payload_bytes: int


def _mqtt_batches(plan: LoadPlan, members: range, *, qos: int, epochs_per_message: int,
                  topic: str, per_connection_rate: float | None,
                  max_bytes: int) -> list[_MqttBatch]:
    messages = []
    for index in members:
        ends = plan.ends[index]
        stream = plan.streams[index]
        name = topic.format(terminal=plan.terminal_ids[index]).encode("utf-8")
        for first in range(0, len(ends), epochs_per_message):
            last = min(len(ends), first + epochs_per_message) - 1
            begin = ends[first - 1] if first else 0
            messages.append((first, index, last - first + 1, name, stream[begin : ends[last]]))
    messages.sort(key=lambda m: (m[0], m[1]))  # interleave the terminals, as live reports are
    if per_connection_rate is None:
        per_batch = None
    else:  # about 20 writes per second
        per_batch = max(1, round(per_connection_rate / 20 / epochs_per_message))
    batches: list[_MqttBatch] = []
    packets: list[bytes] = []
    spans: list[tuple[int, int, int]] = []
    size = fixes = payload = 0
    packet_id = 0
    for first, index, count, name, data in messages:
        if qos:
            packet_id = packet_id % 65535 + 1  # 1..65535, never 0
        packet = publish_packet(name, data, qos=qos, packet_id=packet_id)
        full = len(spans) >= per_batch if per_batch else size + len(packet) > max_bytes
        if spans and full:
            batches.append(_MqttBatch(b"".join(packets), tuple(spans), fixes, len(spans),
                                      payload))
            packets, spans, size, fixes, payload = [], [], 0, 0, 0
        packets.append(packet)
        spans.append((index, first, count))
        size += len(packet)
        fixes += count
        payload += len(data)
    if spans:
        batches.append(_MqttBatch(b"".join(packets), tuple(spans), fixes, len(spans), payload))
    return batches
