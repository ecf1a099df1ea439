"""MQTT subscriber: terminals (or their bridges) publish NMEA to ``fieldgate/<terminal id>/nmea``.

A payload holds one or more sentences separated by CR/LF. The topic names the terminal (a
``$PGID`` inside a payload does not change it); each terminal has one eager
:class:`~devices.nmea.NmeaStream` and one session, closed after ``idle_timeout`` without a
message. Bad topics and payloads are counted, never fatal.

One task (:meth:`MqttSubscriber.run`) does everything that touches the sink, in order: messages,
idle sweeps (queued as control items among the messages), and the final closing of sessions.
It connects, subscribes (``$share/<group>/...`` with a share group, so that several gateways
split the traffic), consumes, and on a lost broker waits with capped, jittered backoff and
connects again.

Backpressure: while ``publish`` waits the task consumes nothing; QoS 1 messages are acknowledged
only after their records were taken, so the broker's in-flight window fills and it holds the
rest; past ``high_water`` queued messages the socket is no longer read (see
:mod:`gateway.mqtt_flow`). With ``client_id`` set the session is persistent and the broker keeps
QoS 1 messages across gateway restarts; without it a clean session is used and messages sent
while no gateway is connected are not kept (MQTT semantics).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import cast

import aiomqtt

from devices.nmea import DecodeStats, NmeaStream
from gateway import mqtt_flow
from gateway.backoff import Backoff
from gateway.config import TERMINAL_ID, MqttConfig
from gateway.connection import retag
from gateway.metrics import TransportMetrics
from gateway.sink import SessionInfo, TelemetrySink, Transport

log = logging.getLogger(__name__)

_monotonic = time.monotonic
_perf = time.perf_counter

#: reject reasons (messages)
BAD_TOPIC = "bad_topic"
OVERSIZE = "oversize"
EMPTY = "empty_payload"
SINK_ERROR = "sink_error"
INTERNAL_ERROR = "internal_error"
#: refusal and disconnect reasons (broker connections)
CONNECT_FAILED = "connect_failed"
BROKER_LOST = "broker_lost"
SHUTDOWN = "shutdown"
IDLE = "idle"

#: topics whose terminal is remembered (past it, the memory starts again)
MAX_TOPICS = 100_000

_SWEEP = object()
_STOP = object()


class _Session:
    __slots__ = ("info", "last_rx", "stream")

    def __init__(self, stream: NmeaStream, info: SessionInfo) -> None:
        self.stream = stream
        self.info = info
        self.last_rx = _monotonic()


class MqttSubscriber:
    """Args:
    config: broker, subscription and limits.
    sink: where records go.
    metrics: counters to add to (a fresh set when omitted).
    backoff: reconnection delays (built from ``config.backoff`` when omitted).
    """

    kind = Transport.MQTT

    def __init__(self, *, config: MqttConfig, sink: TelemetrySink,
                 metrics: TransportMetrics | None = None,
                 backoff: Backoff | None = None) -> None:
        self.config = config
        self.sink = sink
        self.metrics = metrics or TransportMetrics(Transport.MQTT)
        self.metrics.live_streams = self._live_stats
        self._backoff = backoff or Backoff(policy=config.backoff)
        self._queue = mqtt_flow.FlowQueue(high_water=config.high_water)
        self._sessions: dict[str, _Session] = {}
        self._topics: dict[bytes, str] = {}  # topic → the terminal it names
        self._client: aiomqtt.Client | None = None
        self._pause: mqtt_flow.SocketPause | None = None
        self._identifier = config.client_id or (
            f"fieldgate-{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}")
        self._stopping = False
        self._connecting = False
        self._wake = asyncio.Event()
        self._sweep_queued = False
        self._task: asyncio.Task | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._finished = asyncio.Event()
        #: set while subscribed (tests and health checks wait on it)
        self.subscribed = asyncio.Event()
        self._queue.on_high = self._on_high
        self._queue.on_low = self._on_low

    # -- lifecycle -------------------------------------------------------------------------

    async def run(self) -> None:
        """Connect, consume, reconnect; returns after :meth:`stop` with every session closed."""
        self._task = asyncio.current_task()
        interval = min(max(self.config.idle_timeout / 4, 0.02), 5.0)
        self._timer = asyncio.get_running_loop().call_later(interval, self._tick, interval)
        try:
            while not self._stopping:
                try:
                    await self._connection()
                except asyncio.CancelledError:
                    if not self._stopping:
                        raise
                    task = asyncio.current_task()
                    if task is not None:
                        task.uncancel()
                except Exception:  # a bug must cost a reconnection, not the transport
                    log.exception("MQTT subscriber: unexpected error; reconnecting")
                    self.metrics.disconnect(INTERNAL_ERROR)
                if not self._stopping:
                    await self._between_attempts(self._backoff.next_delay())
            # messages received but not handled when the last connection ended: they are in
            # hand, so they go to the sink (the broker may deliver them again: the store keeps
            # one row per terminal and fix time)
            await self._drain()
            for terminal in list(self._sessions):
                await self._close_session(terminal)
        finally:
            if self._timer is not None:
                self._timer.cancel()
            self._finished.set()

    async def stop(self) -> None:
        """Finish the message in hand, close every session, disconnect."""
        self._stopping = True
        self._wake.set()
        self._queue.put_control(_STOP)
        if self._connecting and self._task is not None:
            self._task.cancel()  # connecting touches no sink: safe to interrupt
        if self._task is not None:
            await self._finished.wait()

    async def _connection(self) -> None:
        cfg = self.config
        self._queue.generation += 1
        client = aiomqtt.Client(
            cfg.host, cfg.port, identifier=self._identifier,
            clean_session=cfg.client_id is None, keepalive=cfg.keepalive,
            username=cfg.username, password=cfg.password,
            # aiomqtt calls queue_type() for a fresh queue: a factory of our FlowQueue serves
            queue_type=self._queue.factory,  # type: ignore[arg-type]
            timeout=max(5.0, float(cfg.keepalive)),
        )
        mqtt_flow.enable_manual_ack(client)
        self._connecting = True
        try:
            await client.__aenter__()
        except aiomqtt.MqttError as exc:
            self.metrics.refuse(CONNECT_FAILED)
            log.warning("MQTT broker %s: %s", cfg.url, exc)
            return
        finally:
            self._connecting = False
        self._client = client
        self._pause = mqtt_flow.SocketPause(client, self._queue)
        self._pause.take_over()
        self.metrics.connections = 1
        self.metrics.connections_total += 1
        reason = SHUTDOWN
        try:
            if self._queue.above:
                self._pause_socket()
            await client.subscribe(cfg.topic, qos=cfg.qos)
            self._backoff.reset()
            self.subscribed.set()
            log.info("MQTT subscribed to %s on %s", cfg.topic, cfg.url)
            async for item in client.messages:
                # aiomqtt types its queue's items as Message; ours (the FlowQueue passed as
                # queue_type) holds (generation, message or control item) pairs
                if not await self._dispatch(cast(tuple[int, object], item)):
                    break
                # aiomqtt's iterator costs a task and a turn of the event loop per message;
                # what is already queued is handled now, and acknowledged in one write
                if not await self._dispatch_queued():
                    break
        except aiomqtt.MqttError as exc:
            reason = BROKER_LOST
            log.warning("MQTT broker %s lost: %s", cfg.url, exc)
        finally:
            self.subscribed.clear()
            self.metrics.connections = 0
            self.metrics.disconnect(reason)
            if self._pause is not None and self._pause.paused:
                self._pause.paused = False
                self.metrics.paused = 0
            self._client = self._pause = None
            # a graceful DISCONNECT, unless the broker is gone or hangs
            with contextlib.suppress(aiomqtt.MqttError, TimeoutError):
                await asyncio.wait_for(client.__aexit__(None, None, None), timeout=5.0)

    async def _between_attempts(self, delay: float) -> None:
        """Wait before reconnecting; keep sweeping idle sessions and handling what was
        received before the broker went away."""
        deadline = _monotonic() + delay
        while not self._stopping:
            await self._drain()
            left = deadline - _monotonic()
            if left <= 0:
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=min(left, 0.5))

    # -- the queue -------------------------------------------------------------------------

    async def _dispatch(self, item: tuple[int, object]) -> bool:
        """Handle one queue item; False when the consumer must stop."""
        generation, body = item
        if body is _SWEEP:
            self._sweep_queued = False
            await self._sweep()
            return True
        if body is _STOP:
            return False
        # the control items (_SWEEP, _STOP) returned above: what is left is a message, from
        # the gateway's reader (Publish), or from aiomqtt's when paho read it (aiomqtt.Message)
        if body.__class__ is not mqtt_flow.Publish:
            message = cast(aiomqtt.Message, body)
            body = mqtt_flow.Publish(message.topic.value.encode(), message.payload,
                                     message.qos, message.mid)
        await self._handle(body, generation)
        return not self._stopping

    async def _dispatch_queued(self) -> bool:
        """Handle the items queued now (not those arriving meanwhile); False: stop."""
        queue = self._queue
        for _ in range(queue.qsize()):
            if queue.empty():
                break
            if not await self._dispatch(queue.get_nowait()):
                return False
        return True

    async def _drain(self) -> None:
        """Handle whatever is queued, without waiting for more (no connection to read)."""
        while not self._queue.empty():
            item = self._queue.get_nowait()
            if item[1] is not _STOP:
                await self._dispatch(item)

    def _tick(self, interval: float) -> None:
        if not self._sweep_queued:
            self._sweep_queued = True
            self._queue.put_control(_SWEEP)
        self._timer = asyncio.get_running_loop().call_later(interval, self._tick, interval)

    # -- messages --------------------------------------------------------------------------

    async def _handle(self, message: mqtt_flow.Publish, generation: int) -> None:
        metrics = self.metrics
        metrics.reads += 1
        try:
            terminal = self._terminal(message.topic)
            payload = message.payload
            if terminal is None:
                metrics.reject(BAD_TOPIC)
            elif not isinstance(payload, bytes | bytearray) or not payload:
                metrics.reject(EMPTY)
            elif len(payload) > self.config.max_payload:
                metrics.reject(OVERSIZE)
            else:
                await self._ingest(terminal, payload)
        except Exception:
            # a message that trips a bug would trip it again when redelivered: count it and
            # let it go rather than stall the subscription on it
            log.exception("MQTT message on %r: unexpected error", message.topic)
            metrics.reject(INTERNAL_ERROR)
        finally:
            # acknowledged only now: the records are the sink's (or were rejected for good)
            client = self._client
            if client is not None and generation == self._queue.generation:
                mqtt_flow.ack(client, message.mid, message.qos)

    def _terminal(self, topic: bytes) -> str | None:
        """The terminal a topic names (remembered: a gateway sees the same topics again)."""
        terminal = self._topics.get(topic)
        if terminal is not None:
            return terminal
        try:
            terminal = _terminal_of(topic.decode())
        except UnicodeDecodeError:
            return None
        if terminal is not None:
            if len(self._topics) >= MAX_TOPICS:
                self._topics.clear()
            self._topics[topic] = terminal
        return terminal

    async def _ingest(self, terminal: str, payload: bytes) -> None:
        session = self._sessions.get(terminal)
        if session is None:
            session = await self._open_session(terminal)
        session.last_rx = _monotonic()
        if payload[-1] not in (10, 13):
            payload += b"\n"  # the payload is complete: its last line must not wait for more
        stream = session.stream
        records = stream.feed(payload)
        if stream.terminal != terminal:
            stream.terminal = terminal  # the topic names the terminal, not a $PGID inside
            records = retag(records, terminal)
        if records:
            await self._publish(session, records)

    async def _open_session(self, terminal: str) -> _Session:
        stream = NmeaStream(eager=True, max_line=self.config.max_line, terminal=terminal)
        # the stream's live reject table: Reject is a str enum, so its keys are str
        info = SessionInfo(terminal_id=terminal, transport=Transport.MQTT,
                           remote=f"{self.config.url}/fieldgate/{terminal}/nmea",
                           connected_at=datetime.now(UTC),
                           rejected_by_reason=stream.stats.rejected)  # type: ignore[arg-type]
        session = self._sessions[terminal] = _Session(stream, info)
        self.metrics.sessions += 1
        self.metrics.sessions_total += 1
        try:
            await self.sink.session_opened(info)
        except Exception:
            log.exception("sink failed to open the session of %s", terminal)
            self.metrics.reject(SINK_ERROR)
        return session

    async def _publish(self, session: _Session, records: list) -> None:
        info = session.info
        info.sentences = session.stream.sentences
        info.rejected = session.stream.rejected
        started = _perf()
        try:
            await self.sink.publish(info, records)
        except Exception:
            log.exception("sink refused %d records of %s", len(records), info.terminal_id)
            self.metrics.reject(SINK_ERROR, len(records))
            return
        self.metrics.published(len(records), _perf() - started)

    async def _sweep(self) -> None:
        before = _monotonic() - self.config.idle_timeout
        for terminal, session in list(self._sessions.items()):
            if session.last_rx < before:
                self.metrics.disconnect(IDLE)
                await self._close_session(terminal)

    async def _close_session(self, terminal: str) -> None:
        session = self._sessions.pop(terminal)
        stream = session.stream
        records = stream.flush()
        if records:
            await self._publish(session, records)
        info = session.info
        info.sentences = stream.sentences
        info.rejected = stream.rejected
        self.metrics.sessions -= 1
        self.metrics.retire(stream.stats)
        try:
            await self.sink.session_closed(info)
        except Exception:
            log.exception("sink failed to close the session of %s", terminal)
            self.metrics.reject(SINK_ERROR)

    # -- flow control ----------------------------------------------------------------------

    def _on_high(self) -> None:
        self._pause_socket()

    def _pause_socket(self) -> None:
        if self._pause is not None and self._pause.pause():
            self.metrics.pauses += 1
            self.metrics.paused = 1

    def _on_low(self) -> None:
        if self._pause is not None and self._pause.paused:
            self._pause.resume()
            self.metrics.paused = 0

    # -- views -----------------------------------------------------------------------------

    @property
    def sessions(self) -> int:
        return len(self._sessions)

    @property
    def queued(self) -> int:
        return self._queue.qsize()

    def _live_stats(self) -> Iterable[DecodeStats]:
        return [s.stream.stats for s in list(self._sessions.values())]


def _terminal_of(topic: str) -> str | None:
    parts = topic.split("/")
    if len(parts) != 3 or parts[0] != "fieldgate" or parts[2] != "nmea":
        return None
    return parts[1] if TERMINAL_ID.fullmatch(parts[1]) else None
