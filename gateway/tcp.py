"""TCP listener, one per wire protocol: NMEA (T55 family and anything that speaks plain NMEA
over a socket, identified by ``$PGID,<id>*hh``) or a binary protocol of
:data:`devices.protocols.PROTOCOLS` (JT/T 808: the header's phone number; GT06: the login's
IMEI), whose replies the connection writes back.

A connection is one :class:`~gateway.connection.StreamConnection`. Limits
(:class:`~gateway.config.TcpLimits`): line length (NMEA; binary frames are capped by their
protocol), connection count, idle timeout, read buffer, records held before identification.

A terminal id that identifies on a second connection takes over: the older connection is closed
(counted ``replaced``), its last lines published and its session closed, and only then does the
new session open. Mobile networks leave half-open sockets behind when a terminal roams or its
modem resets; the newest connection is the live one. Two gateway processes behind SO_REUSEPORT or
a balancer do not see each other's connections: there, both sessions stay open until the older
one times out, and the sink sees two sessions for one terminal.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from devices.commands import CommandAnswer
from devices.protocols import PROTOCOLS, ModelOf, ProtocolStream
from gateway.config import TcpConfig
from gateway.connection import StreamConnection
from gateway.metrics import TransportMetrics
from gateway.sink import TelemetrySink, Transport

log = logging.getLogger(__name__)

#: refusal and disconnect reasons, as the metrics label them
MAX_CONNECTIONS = "max_connections"
SHUTTING_DOWN = "shutting_down"
IDLE = "idle"
REPLACED = "replaced"
SHUTDOWN = "shutdown"


class TcpServer:
    """The listener, its connections and their idle sweep.

    Args:
        config: address and limits.
        sink: where records go.
        metrics: counters to add to (a fresh set when omitted).

    ``await start()`` binds; :meth:`run` sweeps idle connections until cancelled; ``await
    close()`` stops listening, closes every connection and waits until each session is closed.
    """

    def __init__(self, *, config: TcpConfig, sink: TelemetrySink,
                 metrics: TransportMetrics | None = None) -> None:
        self.config = config
        self.sink = sink
        #: protocols that acknowledge (JT/T 808, GT06) answer once what they received is
        #: committed or spooled: the sink's ``durable`` (telemetry.Ingest), when it has one
        self.durable: Callable[[], Awaitable[None]] | None = (
            getattr(sink, "durable", None) if PROTOCOLS[config.protocol].binary else None)
        self.wire = PROTOCOLS[config.protocol]
        #: a terminal's model by its id, for decoders whose layouts differ by model (GT06): the
        #: sink's ``model_of`` (the health monitor's registry directory), when it has one
        self.model_of: ModelOf | None = getattr(sink, "model_of", None)
        #: the transport label of sessions and metrics: ``tcp`` for NMEA, else the protocol
        self.kind: str = Transport.TCP if config.protocol == "nmea" else config.protocol
        self.metrics = metrics or TransportMetrics(self.kind)
        limits = config.limits
        self.max_line = limits.max_line if config.protocol == "nmea" else self.wire.limit
        self.read_buffer = limits.read_buffer
        self.max_unidentified = limits.max_unidentified
        self._max_connections = limits.max_connections
        self._server: asyncio.Server | None = None
        self._live: set[StreamConnection] = set()  # transport open
        self._closing: set[StreamConnection] = set()  # transport gone, session closing
        self._by_terminal: dict[str, StreamConnection] = {}
        self._stopping = False
        self.metrics.live_streams = self._live_stats
        #: where the terminals' answers to commands go (the gateway's command relay)
        self.on_answer: Callable[[int, CommandAnswer], None] | None = None

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        cfg = self.config
        self._server = await loop.create_server(
            lambda: StreamConnection(self), cfg.host, cfg.port, backlog=cfg.backlog,
            reuse_port=cfg.reuse_port or None,
        )
        log.info("TCP (%s) listening on %s", self.wire.title,
                 ", ".join(f"{h}:{p}" for h, p in self.addresses))

    @property
    def addresses(self) -> list[tuple[str, int]]:
        if self._server is None:
            return []
        return [s.getsockname()[:2] for s in self._server.sockets]

    @property
    def port(self) -> int:
        """The bound port (useful when configured with port 0)."""
        return self.addresses[0][1]

    async def run(self) -> None:
        """Close connections idle past the limit; runs until cancelled."""
        idle = self.config.limits.idle_timeout
        interval = min(max(idle / 4, 0.02), 5.0)
        while True:
            await asyncio.sleep(interval)
            self.sweep_idle(time.monotonic() - idle)

    def sweep_idle(self, before: float) -> int:
        """Close connections that received nothing since ``before`` (monotonic seconds); a
        connection whose sink call is in flight is not idle, it is being held back."""
        closed = 0
        for conn in list(self._live):
            if conn.last_rx < before and not conn.busy:
                conn.close(IDLE)
                closed += 1
        return closed

    async def close(self) -> None:
        self._stopping = True
        if self._server is not None:
            self._server.close()
        for conn in list(self._live):
            conn.close(SHUTDOWN)
        pending = [c.wait_done() for c in (*self._live, *self._closing) if not c.done]
        if pending:
            await asyncio.gather(*pending)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    # -- ConnectionOwner -------------------------------------------------------------------

    def new_stream(self, terminal: str | None) -> ProtocolStream:
        return self.wire.stream(None, terminal, self.max_line, self.model_of)

    def command_answered(self, command_id: int, answer: CommandAnswer) -> None:
        if self.on_answer is not None:
            self.on_answer(command_id, answer)

    def accept(self, conn: StreamConnection) -> str | None:
        if self._stopping:
            return SHUTTING_DOWN
        if len(self._live) >= self._max_connections:
            return MAX_CONNECTIONS
        self._live.add(conn)
        self.metrics.connections += 1
        self.metrics.connections_total += 1
        return None

    def claim(self, terminal: str, conn: StreamConnection) -> StreamConnection | None:
        old = conn.terminal  # a connection announcing another id gives up the first one
        if old is not None and self._by_terminal.get(old) is conn:
            del self._by_terminal[old]
        previous = self._by_terminal.get(terminal)
        self._by_terminal[terminal] = conn
        return previous

    def lost(self, conn: StreamConnection) -> None:
        self._live.discard(conn)
        self._closing.add(conn)
        self.metrics.connections -= 1

    def finished(self, conn: StreamConnection) -> None:
        self._closing.discard(conn)
        self._live.discard(conn)
        terminal = conn.terminal
        if terminal is not None and self._by_terminal.get(terminal) is conn:
            del self._by_terminal[terminal]

    # -- views -----------------------------------------------------------------------------

    @property
    def connections(self) -> int:
        return len(self._live)

    def connection_of(self, terminal: str) -> StreamConnection | None:
        return self._by_terminal.get(terminal)

    def identified(self) -> list[tuple[str, StreamConnection]]:
        """(terminal id, connection) of every identified, open connection."""
        return [(t, c) for t, c in self._by_terminal.items() if c.open]

    def _live_stats(self) -> list:
        return [c.stream.stats for c in (*self._live, *self._closing)]
