"""The contract between the gateway and what it hands records to: a terminal's session and the
sink. Beside :mod:`devices.records` so that both sides (``gateway`` above, ``telemetry`` which
implements the sink) import it downwards."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from devices.records import Record


class Transport(enum.StrEnum):
    """How NMEA reaches the gateway. A binary protocol's listener (TCP too) reports its
    protocol's name instead (``jt808``, ``gt06``): one label says both."""

    TCP = "tcp"
    MQTT = "mqtt"
    SERIAL = "serial"


#: transports that carry NMEA only: their records never have a ``status`` (alarm words), so the
#: telemetry side does not look for one on its hot path
NMEA_TRANSPORTS = frozenset(Transport)


@dataclass(slots=True)
class SessionInfo:
    """One terminal's presence on one transport: a TCP connection, an MQTT topic, a serial port.

    ``sentences`` and ``rejected`` are running totals for the session, updated by the gateway
    before each :meth:`TelemetrySink.publish`; the sink may read them (health rules).
    """

    terminal_id: str
    transport: str  #: a :class:`Transport`, or the binary protocol's name
    remote: str  #: "host:port", broker URL + topic, or device path
    connected_at: datetime
    sentences: int = 0
    rejected: int = 0
    rejected_by_reason: dict[str, int] = field(default_factory=dict)


class TelemetrySink(Protocol):
    async def session_opened(self, session: SessionInfo) -> None:
        """A terminal identified itself (PGID seen, first MQTT message, serial port opened)."""

    async def publish(self, session: SessionInfo, records: Sequence[Record]) -> None:
        """Take the records of one read. May wait: that wait is the gateway's backpressure
        (the transport stops reading until the sink has room). Never loses records it accepted.
        """

    async def session_closed(self, session: SessionInfo) -> None:
        """The connection closed, the port vanished, or the session timed out."""
