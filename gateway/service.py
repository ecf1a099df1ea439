"""The gateway service: every configured transport, run as named tasks of one TaskGroup.

::

    async with Gateway(config=config, sink=ingest) as gateway:
        registry.register(gateway.collector)   # Prometheus, wherever /metrics is served
        await stop_requested.wait()
    # leaving: listeners closed, streams flushed, sessions closed, tasks done

Entering binds the TCP listeners (so ``gateway.tcp.port`` and ``gateway.listeners["jt808"].port``
are known at once) and starts the
tasks; a failure of any transport task cancels the others and surfaces as the TaskGroup's
exception group when the ``async with`` block exits.
"""

from __future__ import annotations

import asyncio
import logging
from types import TracebackType
from typing import Self

from gateway.commands import CommandRelay, CommandSource, CommandTarget
from gateway.config import GatewayConfig
from gateway.metrics import GatewayCollector, TransportMetrics
from gateway.mqtt import MqttSubscriber
from gateway.serialport import SerialReceiver
from gateway.sink import TelemetrySink, Transport
from gateway.tcp import TcpServer

log = logging.getLogger(__name__)


class Gateway:
    """Args:
    config: which transports run, and how.
    sink: where every transport hands its records (``telemetry.ingest.Ingest`` in production).
    commands: the downlink command log (``telemetry.commands.CommandStore``); with it and a
        binary-protocol listener, a :class:`~gateway.commands.CommandRelay` delivers commands to
        the terminals connected here and records their answers.
    command_interval: seconds between the relay's reads of the log.
    """

    def __init__(self, *, config: GatewayConfig, sink: TelemetrySink,
                 commands: CommandSource | None = None,
                 command_interval: float = 1.0) -> None:
        self.config = config
        self.sink = sink
        self.tcp: TcpServer | None = None
        #: the binary protocols' listeners, by protocol name
        self.listeners: dict[str, TcpServer] = {}
        self.mqtt: MqttSubscriber | None = None
        self.serial: list[SerialReceiver] = []
        self._metrics: list[TransportMetrics] = []
        if config.tcp is not None:
            self.tcp = TcpServer(config=config.tcp, sink=sink)
            self._metrics.append(self.tcp.metrics)
        for listener in config.listeners:
            server = self.listeners[listener.protocol] = TcpServer(config=listener, sink=sink)
            self._metrics.append(server.metrics)
        if config.mqtt is not None:
            self.mqtt = MqttSubscriber(config=config.mqtt, sink=sink)
            self._metrics.append(self.mqtt.metrics)
        if config.serial:
            shared = TransportMetrics(Transport.SERIAL)
            self.serial = [SerialReceiver(config=port, sink=sink, metrics=shared)
                           for port in config.serial]
            shared.live_streams = self._serial_stats
            self._metrics.append(shared)
        #: downlink commands from the command log to this process's binary-protocol terminals
        self.commands: CommandRelay | None = None
        if commands is not None and self.listeners:
            self.commands = CommandRelay(source=commands, connections=self._identified,
                                         interval=command_interval)
            for server in self.listeners.values():
                server.on_answer = self.commands.answered
        #: Prometheus collector over every transport's counters (register it where you serve
        #: ``/metrics``; it holds no global state)
        self.collector = GatewayCollector(sources=lambda: self._metrics)
        self._tg: asyncio.TaskGroup | None = None
        self._sweepers: list[asyncio.Task] = []
        self._stopped = False

    @property
    def transport_metrics(self) -> list[TransportMetrics]:
        return list(self._metrics)

    def describe(self) -> str:
        """Where it listens, for logs: ``tcp 0.0.0.0:5000, mqtt mqtt://..., serial ...``."""
        parts = []
        if self.tcp is not None:
            parts += [f"tcp {h}:{p}" for h, p in self.tcp.addresses]
        for name, server in self.listeners.items():
            parts += [f"{name} {h}:{p}" for h, p in server.addresses]
        if self.mqtt is not None:
            parts.append(f"mqtt {self.mqtt.config.url} {self.mqtt.config.topic}")
        parts += [f"serial {r.config.device}={r.config.terminal_id}" for r in self.serial]
        return ", ".join(parts) or "no transports"

    async def __aenter__(self) -> Self:
        self.collector.loop = asyncio.get_running_loop()
        tg = self._tg = asyncio.TaskGroup()
        await tg.__aenter__()
        try:
            for name, server in self._servers():
                await server.start()
                self._sweepers.append(tg.create_task(server.run(),
                                                     name=f"gateway:{name}-idle-sweep"))
            if self.mqtt is not None:
                tg.create_task(self.mqtt.run(), name="gateway:mqtt")
            for receiver in self.serial:
                tg.create_task(receiver.run(), name=f"gateway:serial:{receiver.config.device}")
            if self.commands is not None:
                self._sweepers.append(tg.create_task(self.commands.run(),
                                                     name="gateway:commands"))
        except BaseException:
            # a transport that cannot start (port in use, bad address): stop the ones that
            # did, then raise the error itself rather than an exception group around it
            await self._stop()
            self._tg = None
            await tg.__aexit__(None, None, None)
            raise
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> bool | None:
        try:
            await self._stop()
        finally:
            tg, self._tg = self._tg, None
            if tg is not None:
                # the transports have returned: the group only raises what they raised; an
                # exception of the body itself propagates as it is, not wrapped in a group
                await tg.__aexit__(None, None, None)
        return None

    async def _stop(self) -> None:
        """Close listeners and ports, flush streams, close sessions: transports in parallel."""
        if self._stopped:
            return
        self._stopped = True
        for sweeper in self._sweepers:
            sweeper.cancel()
        stops = [server.close() for _name, server in self._servers()]
        if self.mqtt is not None:
            stops.append(self.mqtt.stop())
        stops.extend(receiver.stop() for receiver in self.serial)
        results = await asyncio.gather(*stops, return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                log.error("gateway: a transport failed to stop cleanly", exc_info=result)

    def _identified(self) -> list[tuple[str, CommandTarget]]:
        return [item for server in self.listeners.values() for item in server.identified()]

    def _servers(self) -> list[tuple[str, TcpServer]]:
        servers = [("tcp", self.tcp)] if self.tcp is not None else []
        return servers + list(self.listeners.items())

    def _serial_stats(self) -> list:
        return [s for s in (r.stream_stats for r in self.serial) if s is not None]
