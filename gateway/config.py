"""Typed configuration of the gateway: value objects, keyword-only, validated at construction.

Entry points (``fieldgate gateway``, ``fieldgate serve``) read settings once (flags and
``FIELDGATE_*`` variables, see :mod:`gateway.settings`) and hand these objects down; nothing in
the gateway reads the environment.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from devices.nmea import MAX_LINE
from devices.protocols import PROTOCOLS
from gateway.backoff import BackoffPolicy
from gateway.errors import ConfigError

#: Terminal ids as topics, bindings and the registry take them: IMEIs, serial numbers, names.
#: MQTT wildcards and separators (``+ # /``) are excluded so an id is always a single topic level.
TERMINAL_ID = re.compile(r"[A-Za-z0-9_.\-]{1,64}")
#: The topic filter terminals publish under: ``fieldgate/<terminal id>/nmea``.
MQTT_TOPIC_FILTER = "fieldgate/+/nmea"


def check_terminal_id(value: str) -> str:
    if not TERMINAL_ID.fullmatch(value):
        raise ConfigError(
            f"bad terminal id {value!r}: 1-64 characters of letters, digits, '_', '.', '-'"
        )
    return value


def parse_host_port(value: str, *, default_host: str = "0.0.0.0") -> tuple[str, int]:
    """``HOST:PORT``, ``:PORT``, ``PORT`` or ``[v6]:PORT``."""
    text = value.strip()
    host, sep, port_text = text.rpartition(":")
    if not sep:
        host, port_text = "", text
    host = host.strip("[]") or default_host
    try:
        port = int(port_text)
    except ValueError:
        raise ConfigError(f"bad address {value!r}: expected HOST:PORT") from None
    if not 0 <= port <= 65535:
        raise ConfigError(f"bad address {value!r}: port out of range")
    return host, port


def _positive(name: str, value: float) -> None:
    if not value > 0:
        raise ConfigError(f"{name} must be positive, got {value!r}")


def _max_line(value: int) -> None:
    if not 16 <= value <= 1 << 20:
        raise ConfigError(f"max_line must be within [16, 1 MiB], got {value!r}")


@dataclass(frozen=True, slots=True, kw_only=True)
class TcpLimits:
    """Per-connection and per-server limits of the TCP listener.

    Args:
        max_line: longest NMEA line accepted, bytes; longer ones are counted ``overlong``.
        max_connections: open connections at once; more are closed at accept, counted as
            refused ``max_connections``.
        idle_timeout: seconds without a byte before the connection is closed (``idle``).
        read_buffer: bytes read but not yet decoded (while the sink is busy with this
            connection's previous read) above which reading pauses.
        max_unidentified: records held for a connection that has not sent ``$PGID`` yet;
            beyond it the oldest are dropped, counted ``unidentified``.
    """

    max_line: int = MAX_LINE
    max_connections: int = 20_000
    idle_timeout: float = 300.0
    read_buffer: int = 64 * 1024
    max_unidentified: int = 1000

    def __post_init__(self) -> None:
        _max_line(self.max_line)
        _positive("max_connections", self.max_connections)
        _positive("idle_timeout", self.idle_timeout)
        if self.read_buffer < self.max_line:
            raise ConfigError("read_buffer must hold at least one line (>= max_line)")
        if self.max_unidentified < 0:
            raise ConfigError("max_unidentified must not be negative")


@dataclass(frozen=True, slots=True, kw_only=True)
class TcpConfig:
    """Args:
    host, port: where to listen (port 0 picks a free one: tests).
    reuse_port: set SO_REUSEPORT so several gateway processes share the port (the kernel
        spreads new connections across them).
    backlog: listen(2) backlog; reconnect storms of thousands of terminals need a deep one.
    limits: see :class:`TcpLimits`.
    protocol: the wire protocol spoken on this port (a name of
        :data:`devices.protocols.PROTOCOLS`): ``nmea`` (``$PGID`` identification), or a binary
        one (``jt808``, ``gt06``), whose frames are capped by the protocol, not ``max_line``.
    """

    host: str = "0.0.0.0"
    port: int = 5055
    reuse_port: bool = False
    backlog: int = 4096
    limits: TcpLimits = field(default_factory=TcpLimits)
    protocol: str = "nmea"

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise ConfigError(f"TCP port out of range: {self.port}")
        _positive("backlog", self.backlog)
        if self.protocol not in PROTOCOLS:
            raise ConfigError(f"unknown protocol {self.protocol!r}: one of "
                              f"{', '.join(sorted(PROTOCOLS))}")


@dataclass(frozen=True, slots=True, kw_only=True)
class MqttConfig:
    """Args:
    host, port: the broker.
    share_group: subscribe as ``$share/<group>/fieldgate/+/nmea`` so that the gateways of one
        group split the messages (each message goes to one of them).
    qos: subscription QoS, 0 or 1. QoS 1 messages are acknowledged only after the sink took
        their records.
    client_id: MQTT client id. When given, the session is persistent (clean session off):
        QoS 1 messages published while the gateway is away are kept by the broker and
        delivered when it returns. Without one, a unique id and a clean session are used.
    keepalive: seconds, MQTT keepalive.
    idle_timeout: seconds without a message from a terminal before its session closes.
    max_line: longest NMEA line accepted in a payload.
    max_payload: payloads longer than this are counted ``oversize`` and skipped.
    high_water: messages received but not yet handled above which the gateway stops reading
        the broker's socket (backpressure reaches the broker and its TCP window).
    backoff: delays between reconnection attempts.
    username, password: broker credentials, if any.
    """

    host: str = "127.0.0.1"
    port: int = 1883
    share_group: str | None = None
    qos: int = 1
    client_id: str | None = None
    keepalive: int = 30
    idle_timeout: float = 300.0
    max_line: int = MAX_LINE
    max_payload: int = 256 * 1024
    high_water: int = 1000
    backoff: BackoffPolicy = field(default_factory=BackoffPolicy)
    username: str | None = None
    password: str | None = None

    def __post_init__(self) -> None:
        if self.qos not in (0, 1):
            raise ConfigError(f"MQTT QoS must be 0 or 1, got {self.qos!r}")
        if not 0 < self.port <= 65535:
            raise ConfigError(f"MQTT port out of range: {self.port}")
        if self.share_group is not None and not re.fullmatch(r"[A-Za-z0-9_.\-]{1,64}",
                                                             self.share_group):
            raise ConfigError(f"bad MQTT share group {self.share_group!r}")
        _positive("keepalive", self.keepalive)
        _positive("idle_timeout", self.idle_timeout)
        _max_line(self.max_line)
        _positive("high_water", self.high_water)
        _positive("max_payload", self.max_payload)

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> MqttConfig:
        """``mqtt://[user[:password]@]host[:port]``; other fields as keywords."""
        parts = urlsplit(url if "://" in url else f"mqtt://{url}")
        if parts.scheme != "mqtt":
            raise ConfigError(f"unsupported MQTT URL {url!r}: use mqtt://HOST:PORT")
        try:
            port = parts.port or 1883
        except ValueError:
            raise ConfigError(f"bad MQTT URL {url!r}: port out of range") from None
        if not parts.hostname:
            raise ConfigError(f"bad MQTT URL {url!r}: no host")
        if parts.username is not None:
            kwargs.setdefault("username", parts.username)
            kwargs.setdefault("password", parts.password)
        return cls(host=parts.hostname, port=port, **kwargs)

    @property
    def topic(self) -> str:
        if self.share_group:
            return f"$share/{self.share_group}/{MQTT_TOPIC_FILTER}"
        return MQTT_TOPIC_FILTER

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"


@dataclass(frozen=True, slots=True, kw_only=True)
class SerialPortConfig:
    """One serial port bound to one terminal.

    Args:
        device: path of the port (``/dev/ttyUSB0``, a pty link).
        terminal_id: the terminal on the other end (the binding is the identification:
            ``$PGID`` on a serial line does not change it).
        baudrate: line speed.
        max_line: longest NMEA line accepted.
        read_buffer: bytes read but not yet decoded above which reading pauses.
        backoff: delays between attempts to (re)open the port.
    """

    device: str
    terminal_id: str
    baudrate: int = 9600
    max_line: int = MAX_LINE
    read_buffer: int = 64 * 1024
    backoff: BackoffPolicy = field(default_factory=lambda: BackoffPolicy(initial=0.2,
                                                                       maximum=10.0))

    def __post_init__(self) -> None:
        if not self.device:
            raise ConfigError("serial: empty device path")
        check_terminal_id(self.terminal_id)
        _positive("baudrate", self.baudrate)
        _max_line(self.max_line)
        if self.read_buffer < self.max_line:
            raise ConfigError("read_buffer must hold at least one line (>= max_line)")

    @classmethod
    def parse(cls, spec: str, **kwargs: Any) -> SerialPortConfig:
        """``DEVICE=TERMINAL_ID[@BAUD]``, as ``--serial`` takes it."""
        device, sep, rest = spec.rpartition("=")
        if not sep or not device or not rest:
            raise ConfigError(f"bad serial binding {spec!r}: expected DEVICE=TERMINAL_ID[@BAUD]")
        terminal, _, baud = rest.partition("@")
        if baud:
            try:
                kwargs["baudrate"] = int(baud)
            except ValueError:
                raise ConfigError(f"bad baud rate in {spec!r}") from None
        return cls(device=device, terminal_id=terminal, **kwargs)


@dataclass(frozen=True, slots=True, kw_only=True)
class GatewayConfig:
    """Which transports run, and how. At least one is required.

    ``tcp`` is the NMEA listener; ``listeners`` are the binary protocols' ports, one
    :class:`TcpConfig` each with its ``protocol`` set (JT/T 808, GT06: each on its own port, as
    operators configure terminals by protocol).
    """

    tcp: TcpConfig | None = None
    mqtt: MqttConfig | None = None
    serial: tuple[SerialPortConfig, ...] = ()
    listeners: tuple[TcpConfig, ...] = ()

    def __post_init__(self) -> None:
        if self.tcp is None and self.mqtt is None and not self.serial and not self.listeners:
            raise ConfigError("no transport configured: give TCP, MQTT, a serial port or a "
                              "protocol listener")
        if self.tcp is not None and self.tcp.protocol != "nmea":
            raise ConfigError("the tcp listener speaks NMEA; give other protocols as listeners")
        names = [c.protocol for c in self.listeners]
        if "nmea" in names or len(set(names)) != len(names):
            raise ConfigError("one listener per binary protocol (NMEA is the tcp listener)")
        devices = [p.device for p in self.serial]
        if len(set(devices)) != len(devices):
            raise ConfigError("a serial device is bound twice")
        terminals = [p.terminal_id for p in self.serial]
        if len(set(terminals)) != len(terminals):
            raise ConfigError("a terminal id is bound to two serial ports")
