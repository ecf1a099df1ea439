"""NMEA over MQTT: each terminal is its own client publishing to ``fieldgate/<id>/nmea``.

A payload is one report: the sentences of one epoch separated by CR/LF, as the gateway expects.
Client ids carry a per-run token so that two simulators (or a restarted one) never take over
each other's sessions at the broker, which would look like a reconnect storm.
"""

from __future__ import annotations

import contextlib
import secrets
from urllib.parse import urlsplit

import aiomqtt

from simulators.errors import SpecError, TransportError
from simulators.transports.base import Link, Transport

TOPIC = "fieldgate/{terminal}/nmea"


def parse_mqtt_url(text: str) -> tuple[str, int]:
    """``mqtt://HOST[:PORT]`` (port 1883 by default)."""
    parts = urlsplit(text.strip())
    if parts.scheme != "mqtt" or not parts.hostname:
        raise SpecError(f"bad broker URL {text!r}: expected mqtt://HOST[:PORT]")
    try:
        port = parts.port or 1883
    except ValueError:
        raise SpecError(f"bad port in broker URL {text!r}") from None
    if parts.path not in ("", "/") or parts.query:
        raise SpecError(f"broker URL {text!r} takes no path or query")
    return parts.hostname, port


class MqttLink(Link):
    def __init__(self, terminal_id: str, transport: MqttTransport) -> None:
        self.terminal_id = terminal_id
        self._t = transport
        self.topic = transport.topic.format(terminal=terminal_id)
        self._client: aiomqtt.Client | None = None
        self._lost = False

    @property
    def is_open(self) -> bool:
        return self._client is not None and not self._lost

    @property
    def remote(self) -> str:
        return f"mqtt://{self._t.host}:{self._t.port}/{self.topic}"

    async def open(self) -> None:
        await self.close()
        t = self._t
        client = aiomqtt.Client(t.host, t.port, identifier=f"fgsim-{t.run}-{self.terminal_id}",
                                keepalive=t.keepalive, timeout=t.timeout, clean_session=True)
        try:
            await client.__aenter__()
        except aiomqtt.MqttError as exc:
            raise TransportError(f"{self.terminal_id}: cannot connect to "
                                 f"mqtt://{t.host}:{t.port}: {exc}") from exc
        self._client = client
        self._lost = False

    async def send(self, data: bytes) -> None:
        client = self._client
        if client is None or self._lost:
            raise TransportError(f"{self.terminal_id}: not connected to the broker")
        try:
            await client.publish(self.topic, data, qos=self._t.qos, timeout=self._t.timeout)
        except aiomqtt.MqttError as exc:
            self._lost = True
            raise TransportError(f"{self.terminal_id}: publish failed: {exc}") from exc

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(aiomqtt.MqttError, OSError):
                await client.__aexit__(None, None, None)


class MqttTransport(Transport):
    """Publish each terminal's reports on its own topic, one client per terminal.

    Args:
        host, port: the broker.
        qos: 0 or 1 (1 waits for the broker's PUBACK before the next report).
        topic: template with ``{terminal}``.
        keepalive: MQTT keepalive, seconds.
        timeout: seconds for connect and (QoS 1) acknowledgement.
    """

    name = "mqtt"

    def __init__(self, host: str, port: int = 1883, *, qos: int = 0, topic: str = TOPIC,
                 keepalive: int = 30, timeout: float = 10.0) -> None:
        if qos not in (0, 1):
            raise SpecError(f"MQTT QoS must be 0 or 1, not {qos}")
        if "{terminal}" not in topic:
            raise SpecError(f"MQTT topic template {topic!r} lacks {{terminal}}")
        self.host, self.port, self.qos = host, port, qos
        self.topic = topic
        self.keepalive, self.timeout = keepalive, timeout
        self.run = secrets.token_hex(3)

    def link(self, terminal_id: str) -> MqttLink:
        return MqttLink(terminal_id, self)

    def describe(self) -> str:
        return f"mqtt://{self.host}:{self.port} ({self.topic}, QoS {self.qos})"
