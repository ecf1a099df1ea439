"""Transports (TCP, MQTT, serial), terminal sessions and identification, limits, backpressure
and metrics. Knows no SQL: decoded records go to a :class:`gateway.sink.TelemetrySink`.

The public surface is listed in ``__all__``; see ``docs/gateway.md``.
"""

from gateway.backoff import Backoff, BackoffPolicy
from gateway.config import (
    GatewayConfig,
    MqttConfig,
    SerialPortConfig,
    TcpConfig,
    TcpLimits,
)
from gateway.errors import ConfigError, GatewayError
from gateway.metrics import GatewayCollector, TransportMetrics
from gateway.service import Gateway
from gateway.sink import SessionInfo, TelemetrySink, Transport

__all__ = [
    "Backoff",
    "BackoffPolicy",
    "ConfigError",
    "Gateway",
    "GatewayCollector",
    "GatewayConfig",
    "GatewayError",
    "MqttConfig",
    "SerialPortConfig",
    "SessionInfo",
    "TcpConfig",
    "TcpLimits",
    "TelemetrySink",
    "Transport",
    "TransportMetrics",
]
