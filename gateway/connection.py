"""One byte-stream connection (a TCP socket, a serial port) feeding one protocol stream (NMEA,
JT/T 808, GT06: :class:`devices.protocols.ProtocolStream`) into the sink.

The hot path is :meth:`StreamConnection.data_received`: one ``feed`` per read, and when it
yields records, one ``publish`` per read with the list ``feed`` returned. All sink calls of a
connection run in order, one at a time, in a short task started per read; while one is in
flight, further reads are kept as raw bytes (not decoded) and:

- if the task is waiting in the sink (``publish`` applying backpressure), reading pauses at once
  (``transport.pause_reading()``): the kernel's buffers fill, then the terminal's TCP window,
  and the terminal itself stops;
- otherwise reading pauses once the raw bytes exceed the connection's read buffer.

When the task is done it decodes what was kept, publishes it, and resumes reading. Nothing read
is dropped on the way.

Replies: what the stream queues for the terminal (JT/T 808 and GT06 acknowledgements,
registration replies; nothing for NMEA) is written after the records of the same read were
handed to the sink, and dropped when the sink refused them: a terminal that gets no
acknowledgement sends its data again, one that got it may forget it.

Identification: a connection without a fixed terminal (TCP) is anonymous until the stream
names it (``$PGID``, a JT/T 808 header, a GT06 login). Records decoded before that are held
(bounded) and released into the session when the id arrives; if the connection ends first, or
the bound is hit, they are counted ``unidentified``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, Protocol, cast

from devices.commands import Command, CommandAnswer, UnsupportedCommand
from devices.protocols import ProtocolStream
from devices.records import Record
from gateway.metrics import TransportMetrics
from gateway.sink import SessionInfo, TelemetrySink

log = logging.getLogger(__name__)

_monotonic = time.monotonic
_perf = time.perf_counter

#: gateway-level reject reasons (decoder reasons are :class:`devices.nmea.Reject`)
UNIDENTIFIED = "unidentified"
SINK_ERROR = "sink_error"


class ConnectionOwner(Protocol):
    """What a connection needs from the listener or port that made it."""

    sink: TelemetrySink
    metrics: TransportMetrics
    kind: str
    max_line: int
    read_buffer: int
    max_unidentified: int

    def new_stream(self, terminal: str | None) -> ProtocolStream:
        """The decoder for a new connection (``terminal``: a fixed binding, if any)."""

    def command_answered(self, command_id: int, answer: CommandAnswer) -> None:
        """The terminal answered a command this connection sent."""

    def accept(self, conn: StreamConnection) -> str | None:
        """Register a new connection; a reason string refuses it."""

    def claim(self, terminal: str, conn: StreamConnection) -> StreamConnection | None:
        """``conn`` identified as ``terminal``; returns the connection it displaces, if any."""

    def lost(self, conn: StreamConnection) -> None:
        """The transport is gone (the session may still be closing)."""

    def finished(self, conn: StreamConnection) -> None:
        """Everything about ``conn`` is done: session closed, counters retired."""


class StreamConnection(asyncio.Protocol):
    """Protocol for one connection. ``terminal`` fixes its identity (serial bindings); without
    it the connection identifies itself with ``$PGID``."""

    __slots__ = (
        "_commands",
        "_displaced",
        "_done",
        "_done_waiters",
        "_durable",
        "_fixed",
        "_held",
        "_in_sink",
        "_lost",
        "_metrics",
        "_owner",
        "_paused",
        "_pending",
        "_pending_bytes",
        "_published",
        "_refused",
        "_sink_failed",
        "_sink",
        "_task",
        "_terminal",
        "close_reason",
        "info",
        "last_rx",
        "remote",
        "stream",
        "transport",
    )

    def __init__(self, owner: ConnectionOwner, *, terminal: str | None = None) -> None:
        self._owner = owner
        self._sink = owner.sink
        self._metrics = owner.metrics
        self.transport: asyncio.Transport | None = None
        self.remote = ""
        self.stream: ProtocolStream = owner.new_stream(terminal)
        self.info: SessionInfo | None = None
        self._terminal: str | None = terminal  # id of the open session
        self._fixed = terminal is not None
        self._held: deque[Record] | None = None
        self._pending: list[bytes] = []
        self._pending_bytes = 0
        self._task: asyncio.Task[None] | None = None
        self._in_sink = False  # the task is awaiting the sink right now
        self._paused = False
        self._lost = False
        self._refused = False
        self._displaced = False  # another connection took over its terminal
        self._sink_failed = False  # the sink refused records of the read being handled
        # acknowledging protocols wait for this before replying (the owner's, if it has one)
        self._durable: Callable[[], Awaitable[None]] | None = getattr(owner, "durable", None)
        self._published = False  # records went to the sink since the last reply
        self._commands: dict[int, int] | None = None  # wire reference -> command id
        self._done = False
        self._done_waiters: list[asyncio.Future[None]] | None = None
        self.close_reason: str | None = None
        self.last_rx = _monotonic()

    # -- asyncio.Protocol ------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # the transports this protocol serves (TCP, serial) are stream transports
        self.transport = transport = cast(asyncio.Transport, transport)
        self.remote = _remote(transport)
        reason = self._owner.accept(self)
        if reason is not None:
            self._refused = True
            self._owner.metrics.refuse(reason)
            transport.abort()
            self._done = True
            self._wake_waiters()
            return
        if self._fixed:
            self._terminal = None  # opened by the task below, like a $PGID would
            self._start(self._run([]))

    def data_received(self, data: bytes) -> None:
        self.last_rx = _monotonic()
        self._metrics.reads += 1
        if self._task is not None:
            # the previous read's sink call is still in flight: keep the bytes for it
            self._pending.append(data)
            self._pending_bytes += len(data)
            if not self._paused and (self._in_sink or
                                     self._pending_bytes > self._owner.read_buffer):
                self._pause()
            return
        stream = self.stream
        records = stream.feed(data)
        if stream.terminal == self._terminal:  # the common case: nothing to (re)identify
            if not records:
                self._reply()
                return
            if self._terminal is None:
                self._hold(records)
                self._reply()
                return
        self._start(self._run(records))

    def eof_received(self) -> bool | None:
        return None  # close our side too; connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        if self._refused:
            return
        self._lost = True
        if self.close_reason is None:
            self.close_reason = "error" if exc is not None else "peer"
        if self._paused:
            self._paused = False
            self._metrics.paused -= 1
        self._metrics.disconnect(self.close_reason)
        self._owner.lost(self)
        if self._task is None:
            self._start(self._run(None))
        # else: the running task sees _lost when it is done and finishes the session

    # -- control from the owner ------------------------------------------------------------

    def close(self, reason: str) -> None:
        """Close the connection (idle timeout, displaced, shutdown). The session is closed
        after whatever was already read has been published."""
        if reason == "replaced":
            self._displaced = True
        if self._lost or self._refused:
            return
        if self.close_reason is None:
            self.close_reason = reason
        if self.transport is not None:
            self.transport.close()

    @property
    def terminal(self) -> str | None:
        """The id of the connection's session (None before identification)."""
        return self._terminal

    @property
    def busy(self) -> bool:
        """A sink call is in flight (then the connection is not idle, whatever the clock)."""
        return self._task is not None

    @property
    def done(self) -> bool:
        return self._done

    async def wait_done(self) -> None:
        """Until the session is closed and the connection forgotten."""
        if self._done:
            return
        fut = asyncio.get_running_loop().create_future()
        if self._done_waiters is None:
            self._done_waiters = []
        self._done_waiters.append(fut)
        await fut

    # -- internals -------------------------------------------------------------------------

    def _start(self, coro: Coroutine[Any, Any, None]) -> None:
        # a task per read that yields records: ~1 us, cheaper than a long-lived task per idle
        # connection (10,000 of them) and it lets sink calls of many connections overlap
        self._task = asyncio.get_running_loop().create_task(coro)

    def _pause(self) -> None:
        self._paused = True
        self._metrics.pauses += 1
        self._metrics.paused += 1
        # set by connection_made, before the first read can ask for a pause
        self.transport.pause_reading()  # type: ignore[union-attr]

    def _reply(self) -> None:
        """Write what the stream queued for the terminal, unless the sink refused records of
        this read (then the terminal is left to send them again); hand on its answers to the
        commands this connection sent."""
        out = self.stream.take_output()
        if self._commands:
            for answer in self.stream.take_answers():
                command_id = self._commands.pop(answer.ref, None)
                if command_id is not None:
                    self._owner.command_answered(command_id, answer)
        if self._sink_failed:
            self._sink_failed = False
            return
        if out and not self._lost and self.transport is not None:
            self.transport.write(out)

    @property
    def open(self) -> bool:
        """The transport is up: a command written now reaches the terminal's socket."""
        return not (self._lost or self._refused) and self.transport is not None

    def send_command(self, command_id: int, command: Command) -> None:
        """Encode ``command`` for this terminal and write it now (not held behind the read in
        flight: it answers nothing the terminal sent).

        Raises:
            UnsupportedCommand: the protocol cannot carry it, or the connection is gone.
        """
        if not self.open:
            raise UnsupportedCommand("the terminal's connection closed before sending")
        ref, data = self.stream.send_command(command, command_id)
        if self._commands is None:
            self._commands = {}
        self._commands[ref] = command_id
        self.transport.write(data)  # type: ignore[union-attr]  # open: set

    def _hold(self, records: list[Record]) -> None:
        held = self._held
        limit = self._owner.max_unidentified
        if held is None:
            held = self._held = deque(maxlen=limit)
        overflow = len(held) + len(records) - limit
        if overflow > 0:
            self._metrics.reject(UNIDENTIFIED, overflow)
        held.extend(records)  # maxlen drops the oldest

    async def _run(self, records: list[Record] | None) -> None:
        """The connection's sink work for one read, then for whatever arrived meanwhile."""
        try:
            if records is not None:
                await self._handle(records)
                await self._until_durable()
                self._reply()
            while self._pending:
                data = b"".join(self._pending)
                self._pending.clear()
                self._pending_bytes = 0
                await self._handle(self.stream.feed(data))
                await self._until_durable()
                self._reply()
            if self._lost:
                await self._finish()
        except Exception:  # a bug here must not take the listener down with it
            log.exception("%s connection %s: unexpected error", self._owner.kind, self.remote)
            if self._lost and not self._done:
                self._mark_done()
        finally:
            self._task = None
            if self._paused and not self._lost:
                self._paused = False
                self._metrics.paused -= 1
                # set by connection_made, before the first read
                self.transport.resume_reading()  # type: ignore[union-attr]

    async def _until_durable(self) -> None:
        """Before a protocol that acknowledges (JT/T 808, GT06) answers records, they must be
        committed or spooled: an answer tells the terminal it may forget them. Reading goes
        on meanwhile (up to ``read_buffer``); a sink that cannot make them durable gets no
        answer written, so the terminal sends them again."""
        if not self._published or self._durable is None or self._sink_failed:
            return
        self._published = False
        try:
            await self._durable()
        except Exception:
            log.exception("%s connection %s: records not made durable; not acknowledged",
                          self._owner.kind, self.remote)
            self._sink_failed = True

    async def _handle(self, records: list[Record]) -> None:
        stream = self.stream
        current = self._terminal
        if stream.terminal == current:
            if current is None:
                self._hold(records)
            elif records:
                await self._publish(records)
            return
        if self._fixed and current is not None:
            # the binding wins over a $PGID on the wire (rare: a terminal configured for TCP
            # moved to a serial cable)
            stream.terminal = current
            if records:
                await self._publish(retag(records, current))
            return
        # $PGID seen in this read: records are tagged with the id in force when decoded, so
        # walk them in runs (a read may even carry several ids)
        start = 0
        for i in range(1, len(records) + 1):
            if i == len(records) or records[i].terminal != records[start].terminal:
                run = records[start:i]
                start = i
                tag = run[0].terminal
                if tag is None:
                    self._hold(run)
                elif tag == self._terminal:
                    await self._publish(run)
                else:
                    await self._switch(tag, run)
        if stream.terminal != self._terminal:
            # a $PGID set it, and nothing sets it back to None
            await self._switch(stream.terminal, [])  # type: ignore[arg-type]

    async def _switch(self, terminal: str, records: list[Record]) -> None:
        """Open the session of ``terminal`` (closing the one in force) and publish ``records``."""
        if self._displaced:
            # a displaced connection never opens another session: it would displace the
            # connection that replaced it, which is waiting for this one to finish
            self._metrics.reject(UNIDENTIFIED, len(records))
            self.stream.terminal = self._terminal
            return
        if self._terminal is not None:
            await self._close_session()
        else:
            # records decoded before the $PGID (held from earlier reads) join the session,
            # within the same bound as holding
            held = self._held
            self._held = None
            if held:
                records = [*(replace(r, terminal=terminal) for r in held), *records]
        await self._open_session(terminal)
        if records:
            await self._publish(records)

    async def _open_session(self, terminal: str) -> None:
        displaced = self._owner.claim(terminal, self)
        self._terminal = terminal
        if displaced is not None and displaced is not self:
            displaced.close("replaced")
            self._in_sink = True  # waiting for another connection is waiting too
            try:
                await displaced.wait_done()
            finally:
                self._in_sink = False
        # rejected_by_reason is the stream's own live dict (Reject is a str enum, so its keys
        # are the str keys SessionInfo promises)
        rejected: dict[str, int] = self.stream.stats.rejected  # type: ignore[assignment]
        self.info = SessionInfo(terminal_id=terminal, transport=self._owner.kind,
                                remote=self.remote, connected_at=datetime.now(UTC),
                                rejected_by_reason=rejected)
        self._metrics.sessions += 1
        self._metrics.sessions_total += 1
        await self._sink_call(self._sink.session_opened, self.info)

    async def _close_session(self) -> None:
        info = self.info
        if info is None:
            return
        self.info = None
        self._metrics.sessions -= 1
        info.sentences = self.stream.sentences
        info.rejected = self.stream.rejected
        await self._sink_call(self._sink.session_closed, info)

    async def _publish(self, records: list[Record]) -> None:
        info = self.info
        if info is None:  # session_opened failed to happen (a bug upstream); never silently
            self._metrics.reject(SINK_ERROR, len(records))
            return
        info.sentences = self.stream.sentences
        info.rejected = self.stream.rejected
        self._in_sink = True
        started = _perf()
        try:
            await self._sink.publish(info, records)
        except Exception:
            log.exception("sink refused %d records of %s", len(records), info.terminal_id)
            self._metrics.reject(SINK_ERROR, len(records))
            self._sink_failed = True
            return
        finally:
            self._in_sink = False
        self._metrics.published(len(records), _perf() - started)
        self._published = True

    async def _sink_call(self, call: Callable[[SessionInfo], Awaitable[None]],
                         info: SessionInfo) -> None:
        self._in_sink = True
        try:
            await call(info)
        except Exception:
            log.exception("sink failed on session of %s", info.terminal_id)
            self._metrics.reject(SINK_ERROR)
        finally:
            self._in_sink = False

    async def _finish(self) -> None:
        """The transport is gone: last line, pending epoch, session closed, counters retired."""
        records = self.stream.flush()
        if self._terminal is None:
            held = len(self._held) if self._held else 0
            self._held = None
            self._metrics.reject(UNIDENTIFIED, held + len(records))
        else:
            if self.stream.terminal != self._terminal:
                self.stream.terminal = self._terminal
            if records:
                await self._publish(records)
            await self._close_session()
        self._mark_done()

    def _mark_done(self) -> None:
        self._done = True
        self._metrics.retire(self.stream.stats)
        self._owner.finished(self)
        self._wake_waiters()

    def _wake_waiters(self) -> None:
        for fut in self._done_waiters or ():
            if not fut.done():
                fut.set_result(None)
        self._done_waiters = None


def retag(records: list[Record], terminal: str) -> list[Record]:
    """``records`` with ``terminal`` as their terminal id."""
    return [r if r.terminal == terminal else replace(r, terminal=terminal) for r in records]


def _remote(transport: asyncio.BaseTransport) -> str:
    peer = transport.get_extra_info("peername")
    if isinstance(peer, tuple) and len(peer) >= 2:
        host = peer[0]
        return f"[{host}]:{peer[1]}" if ":" in str(host) else f"{host}:{peer[1]}"
    if peer:
        return str(peer)
    port = getattr(transport.get_extra_info("serial"), "port", None)  # serial: the device
    return str(port) if port else ""
