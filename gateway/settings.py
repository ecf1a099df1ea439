"""Gateway settings as users give them: ``FIELDGATE_*`` environment variables and command-line
flags, read once at the edge (``fieldgate gateway``, ``fieldgate serve``) and turned into the
typed :class:`~gateway.config.GatewayConfig`. Nothing below the edge reads the environment.

Flags override variables: the entry point passes the flags it was given as keyword arguments,
which pydantic-settings ranks above the environment.
"""

from __future__ import annotations

import json
from typing import Annotated

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from devices.nmea import MAX_LINE
from devices.protocols import PROTOCOLS
from gateway.config import (
    GatewayConfig,
    MqttConfig,
    SerialPortConfig,
    TcpConfig,
    TcpLimits,
    parse_host_port,
)
from gateway.errors import ConfigError

__all__ = ["GatewaySettings", "settings_error"]


class GatewaySettings(BaseSettings):
    """Every field is also ``FIELDGATE_<FIELD>`` (``FIELDGATE_TCP``, ``FIELDGATE_MQTT_SHARE``,
    ...)."""

    model_config = SettingsConfigDict(env_prefix="FIELDGATE_", frozen=True, extra="ignore")

    #: ``HOST:PORT`` of the TCP listener; None: no TCP
    tcp: str | None = None
    #: ``HOST:PORT`` of the JT/T 808 listener; None: none
    jt808: str | None = None
    #: ``HOST:PORT`` of the GT06 listener; None: none
    gt06: str | None = None
    #: SO_REUSEPORT on the listeners (several gateway processes on one port)
    reuse_port: bool = False
    #: ``mqtt://[user[:password]@]HOST[:PORT]``; None: no MQTT
    mqtt: str | None = None
    #: shared-subscription group (``$share/<group>/fieldgate/+/nmea``)
    mqtt_share: str | None = None
    mqtt_qos: int = Field(default=1, ge=0, le=1)
    #: a fixed client id makes the broker session persistent (QoS 1 kept while away)
    mqtt_client_id: str | None = None
    #: ``DEVICE=TERMINAL_ID[@BAUD]`` bindings; the variable takes them separated by commas or
    #: spaces (or a JSON list)
    serial: Annotated[list[str], NoDecode] = Field(default_factory=list)
    #: ``HOST:PORT`` of a standalone /metrics endpoint; None: none
    metrics: str | None = None
    max_line: int = MAX_LINE
    max_connections: int = 20_000
    #: seconds without data before a TCP connection or an MQTT terminal session is closed
    idle_timeout: float = 300.0
    read_buffer: int = 64 * 1024
    #: records held per TCP connection until it sends $PGID
    max_unidentified: int = 1000

    @field_validator("serial", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [part for part in text.replace(",", " ").split() if part]
        return value

    def to_config(self) -> GatewayConfig:
        """The typed configuration; :class:`ConfigError` says what is wrong."""
        limits = TcpLimits(max_line=self.max_line, max_connections=self.max_connections,
                           idle_timeout=self.idle_timeout, read_buffer=self.read_buffer,
                           max_unidentified=self.max_unidentified)
        tcp = None
        if self.tcp:
            host, port = parse_host_port(self.tcp)
            tcp = TcpConfig(host=host, port=port, reuse_port=self.reuse_port, limits=limits)
        listeners = []
        for protocol, address in self.protocol_addresses().items():
            host, port = parse_host_port(address)
            listeners.append(TcpConfig(host=host, port=port, reuse_port=self.reuse_port,
                                       limits=limits, protocol=protocol))
        if self.reuse_port and tcp is None and not listeners:
            raise ConfigError("reuse_port needs a TCP listener (--tcp, --jt808, --gt06)")
        mqtt = None
        if self.mqtt:
            mqtt = MqttConfig.from_url(self.mqtt, share_group=self.mqtt_share or None,
                                       qos=self.mqtt_qos, client_id=self.mqtt_client_id or None,
                                       idle_timeout=self.idle_timeout, max_line=self.max_line)
        elif self.mqtt_share or self.mqtt_client_id:
            raise ConfigError("MQTT options given without a broker (--mqtt)")
        serial = tuple(SerialPortConfig.parse(spec, max_line=self.max_line,
                                              read_buffer=self.read_buffer)
                       for spec in self.serial)
        return GatewayConfig(tcp=tcp, mqtt=mqtt, serial=serial, listeners=tuple(listeners))

    def protocol_addresses(self) -> dict[str, str]:
        """Binary protocol → ``HOST:PORT`` of the listeners asked for (only registered
        protocols have a setting: ``devices.protocols.PROTOCOLS``)."""
        given = {"jt808": self.jt808, "gt06": self.gt06}
        return {name: address for name, address in given.items()
                if address and name in PROTOCOLS}

    def metrics_address(self) -> tuple[str, int] | None:
        if not self.metrics:
            return None
        return parse_host_port(self.metrics)


def settings_error(exc: ValidationError) -> str:
    """One readable line per wrong setting, naming the variable."""
    lines = []
    for err in exc.errors():
        name = ".".join(str(p) for p in err["loc"]) or "settings"
        lines.append(f"FIELDGATE_{name.upper()} / --{name.replace('_', '-')}: {err['msg']}")
    return "; ".join(lines)
