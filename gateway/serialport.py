"""Serial receiver: one port (a GPS on a bench, a terminal on a USB-serial cable) bound to one
terminal id in configuration.

The port is one :class:`~gateway.connection.StreamConnection` whose identity is fixed by the
binding (``$PGID`` on the line does not change it): the session opens when the port opens and
closes when it goes away. USB adapters vanish when unplugged and come back under the same name;
the receiver reopens the port with capped, jittered backoff until it is there again.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging

import serial_asyncio_fast

from devices.commands import CommandAnswer
from devices.nmea import DecodeStats, NmeaStream
from gateway.backoff import Backoff
from gateway.config import SerialPortConfig
from gateway.connection import StreamConnection
from gateway.metrics import TransportMetrics
from gateway.sink import TelemetrySink, Transport

log = logging.getLogger(__name__)

#: refusal and disconnect reasons, as the metrics label them
OPEN_FAILED = "open_failed"
SHUTTING_DOWN = "shutting_down"
SHUTDOWN = "shutdown"


def _same(conn: StreamConnection) -> StreamConnection:
    """The protocol factory of one attempt: the connection made for it."""
    return conn


class SerialReceiver:
    """Args:
    config: the port, its terminal binding and limits.
    sink: where records go.
    metrics: counters to add to (all serial ports of a gateway share one set).
    backoff: reopening delays (built from ``config.backoff`` when omitted).
    """

    kind: str = Transport.SERIAL
    max_unidentified = 0  # the binding identifies the port: nothing is ever held

    def __init__(self, *, config: SerialPortConfig, sink: TelemetrySink,
                 metrics: TransportMetrics | None = None,
                 backoff: Backoff | None = None) -> None:
        self.config = config
        self.sink = sink
        if metrics is None:
            metrics = TransportMetrics(Transport.SERIAL)
            metrics.live_streams = lambda: [s for s in (self.stream_stats,) if s is not None]
        self.metrics = metrics
        self.max_line = config.max_line
        self.read_buffer = config.read_buffer
        self._backoff = backoff or Backoff(policy=config.backoff)
        self._conn: StreamConnection | None = None
        self._transport: asyncio.Transport | None = None
        self._stopping = False
        self._wake = asyncio.Event()
        self._finished = asyncio.Event()
        self._running = False
        self._failing = False  # log the first failure to open, not every retry
        #: set while the port is open (tests wait on it)
        self.opened = asyncio.Event()

    async def run(self) -> None:
        """Open, read, reopen; returns after :meth:`stop` with the session closed."""
        self._running = True
        loop = asyncio.get_running_loop()
        cfg = self.config
        try:
            while not self._stopping:
                conn = StreamConnection(self, terminal=cfg.terminal_id)
                try:
                    transport, _ = await serial_asyncio_fast.create_serial_connection(
                        loop, functools.partial(_same, conn), cfg.device,
                        baudrate=cfg.baudrate)
                except Exception as exc:  # noqa: BLE001 - SerialException, OSError, termios.error
                    self.metrics.refuse(OPEN_FAILED)
                    if not self._failing:
                        log.warning("serial %s (%s): cannot open: %s; retrying", cfg.device,
                                    cfg.terminal_id, exc)
                    self._failing = True
                    await self._sleep(self._backoff.next_delay())
                    continue
                self._failing = False
                self._conn, self._transport = conn, transport
                self._backoff.reset()
                log.info("serial %s open for terminal %s", cfg.device, cfg.terminal_id)
                if self._stopping:
                    self._close(conn, transport)
                await conn.wait_done()
                self._conn = self._transport = None
                self.opened.clear()
                if not self._stopping:
                    log.warning("serial %s (%s) closed (%s); reopening", cfg.device,
                                cfg.terminal_id, conn.close_reason)
                    # at least the first backoff step: a port that opens and fails at once
                    # must not spin
                    await self._sleep(self._backoff.next_delay())
        finally:
            self._finished.set()

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._conn is not None and self._transport is not None:
            self._close(self._conn, self._transport)
        if self._running:
            await self._finished.wait()

    @staticmethod
    def _close(conn: StreamConnection, transport: asyncio.Transport) -> None:
        conn.close(SHUTDOWN)
        if conn.close_reason is None:  # connection_made has not run yet
            conn.close_reason = SHUTDOWN
        transport.close()

    async def _sleep(self, delay: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=delay)

    # -- ConnectionOwner -------------------------------------------------------------------

    def new_stream(self, terminal: str | None) -> NmeaStream:
        return NmeaStream(eager=True, max_line=self.max_line, terminal=terminal)

    def command_answered(self, command_id: int, answer: CommandAnswer) -> None:
        """Never called: NMEA terminals take no commands."""

    def accept(self, conn: StreamConnection) -> str | None:
        if self._stopping:
            return SHUTTING_DOWN
        self.metrics.connections += 1
        self.metrics.connections_total += 1
        self.opened.set()
        return None

    def claim(self, terminal: str, conn: StreamConnection) -> StreamConnection | None:
        return None  # one port per terminal id, checked in GatewayConfig

    def lost(self, conn: StreamConnection) -> None:
        self.metrics.connections -= 1

    def finished(self, conn: StreamConnection) -> None:
        pass

    @property
    def stream_stats(self) -> DecodeStats | None:
        """The decoder counters of the open port (metrics add them to the retired ones)."""
        conn = self._conn
        return conn.stream.stats if conn is not None and not conn.done else None
