"""The wire protocols fieldgate speaks, registered in one place.

A protocol is a module under ``devices/`` with a stream decoder that follows
:class:`ProtocolStream`; registering it is one entry in :data:`PROTOCOLS`. The gateway runs a
listener per protocol port and knows only this interface (framing, records, replies, identity);
``fieldgate decode --protocol`` reads captures with the same streams.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from devices.commands import Command, CommandAnswer
from devices.gt06 import MAX_FRAME as GT06_MAX_FRAME
from devices.gt06 import Gt06Stream
from devices.jt808 import MAX_FRAME as JT808_MAX_FRAME
from devices.jt808 import Jt808Stream
from devices.nmea import MAX_LINE, DecodeStats, NmeaStream
from devices.records import Record

#: a terminal's model by its id (None: not known)
ModelOf = Callable[[str], str | None]


class ProtocolStream(Protocol):
    """One connection's decoder: bytes in, records out, replies queued for the terminal."""

    #: the terminal the stream has identified (header phone number, login IMEI, $PGID)
    terminal: str | None
    stats: DecodeStats
    #: messages/sentences accepted and refused by this stream (the session's counters)
    sentences: int
    rejected: int

    def feed(self, data: bytes) -> list[Record]: ...

    def flush(self) -> list[Record]: ...

    def take_output(self) -> bytes:
        """Bytes to send back (acknowledgements, registration replies)."""
        ...

    def send_command(self, command: Command, ref: int) -> tuple[int, bytes]:
        """The bytes of ``command`` for this connection's terminal, and the reference its
        answer will carry (``ref`` where the protocol can carry it, else its own serial).
        Raises :class:`~devices.commands.UnsupportedCommand`."""
        ...

    def take_answers(self) -> list[CommandAnswer]:
        """The terminal's answers to commands since the last call."""
        ...


@dataclass(frozen=True, slots=True)
class WireProtocol:
    name: str
    title: str
    binary: bool  #: frames, not lines (``fieldgate decode`` reads hex text for these too)
    limit: int  #: default longest line or frame, bytes
    #: a stream for one connection: (stats to add to, terminal known from outside, limit,
    #: the model of a terminal by its id: the registry's, for protocols whose layouts differ
    #: by model (GT06); the others do not ask)
    stream: Callable[[DecodeStats | None, str | None, int, ModelOf | None], ProtocolStream]


def _nmea(stats: DecodeStats | None, terminal: str | None, limit: int,
          _model_of: ModelOf | None) -> NmeaStream:
    return NmeaStream(eager=True, max_line=limit, stats=stats, terminal=terminal)


def _jt808(stats: DecodeStats | None, terminal: str | None, limit: int,
           _model_of: ModelOf | None) -> Jt808Stream:
    return Jt808Stream(stats=stats, terminal=terminal, max_frame=limit)


def _gt06(stats: DecodeStats | None, terminal: str | None, limit: int,
          model_of: ModelOf | None) -> Gt06Stream:
    return Gt06Stream(stats=stats, terminal=terminal, max_frame=limit, model_of=model_of)


NMEA = WireProtocol("nmea", "NMEA 0183", False, MAX_LINE, _nmea)
JT808 = WireProtocol("jt808", "JT/T 808", True, JT808_MAX_FRAME, _jt808)

GT06 = WireProtocol("gt06", "GT06", True, GT06_MAX_FRAME, _gt06)

PROTOCOLS: dict[str, WireProtocol] = {p.name: p for p in (NMEA, JT808, GT06)}
