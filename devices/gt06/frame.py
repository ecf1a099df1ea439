"""GT06 (Concox) framing: ``78 78`` short and ``79 79`` long frames with a CRC-ITU.

=========  ========================================================================
start      ``78 78`` (length is one byte) or ``79 79`` (length is two bytes)
length     bytes from the protocol number to the CRC, inclusive
protocol   BYTE: 0x01 login, 0x12/0x22 location, 0x13/0x23 status, 0x16/0x26 alarm, ...
content    per protocol
serial     WORD: the terminal's information serial number, echoed in replies
crc        WORD: CRC-ITU (CRC-16/X-25) from the length to the serial, inclusive
stop       ``0D 0A``
=========  ========================================================================

:func:`parse` never raises on input: it returns a :class:`Packet` or the
:class:`~devices.reject.Reject` reason.
"""

from __future__ import annotations

from dataclasses import dataclass

from devices.reject import Reject

SHORT = b"\x78\x78"
LONG = b"\x79\x79"
STOP = b"\x0d\x0a"
#: longest frame accepted: a long frame may declare 65,535 bytes, no terminal sends more than
#: a few hundred (Wi-Fi and cell lists); past this the frame is noise or an attack
MAX_FRAME = 2048


def _crc_table() -> list[int]:
    table = []
    for i in range(256):
        crc = i
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
        table.append(crc)
    return table


_TABLE = _crc_table()


def crc_itu(data: bytes) -> int:
    """CRC-16/X-25 (reflected 0x1021, init and final XOR 0xFFFF), as the GT06 documents it."""
    crc = 0xFFFF
    table = _TABLE
    for b in data:
        crc = (crc >> 8) ^ table[(crc ^ b) & 0xFF]
    return crc ^ 0xFFFF


@dataclass(frozen=True, slots=True)
class Packet:
    protocol: int
    content: bytes
    serial: int
    long: bool = False  #: came in a ``79 79`` frame


def frame_length(buf: bytes | bytearray, start: int) -> int | None:
    """Total length of the frame starting at ``buf[start]`` (start bytes included), or None
    when its header is not all there yet."""
    if buf[start] == 0x78:
        if len(buf) < start + 3:
            return None
        return 2 + 1 + buf[start + 2] + 2
    if len(buf) < start + 4:
        return None
    return 2 + 2 + int.from_bytes(buf[start + 2:start + 4]) + 2


def parse(frame: bytes) -> Packet | Reject:
    """Decode one whole frame, start and stop bytes included."""
    long = frame[:2] == LONG
    head = 4 if long else 3
    if len(frame) < head + 1 + 2 + 2 + 2:  # protocol, serial, crc, stop
        return Reject.TRUNCATED
    if frame[-2:] != STOP:
        return Reject.MALFORMED
    crc = int.from_bytes(frame[-4:-2])
    if crc_itu(frame[2:-4]) != crc:
        return Reject.BAD_CHECKSUM
    return Packet(frame[head], frame[head + 1:-6], int.from_bytes(frame[-6:-4]), long)


def build(protocol: int, content: bytes, serial: int, *, long: bool = False) -> bytes:
    """One frame ready for the wire; ``long`` for a ``79 79`` frame (or when the content does
    not fit a short one)."""
    length = 1 + len(content) + 2 + 2
    long = long or length > 0xFF
    if long and length > 0xFFFF:
        raise ValueError("content too long for a GT06 frame")
    size = length.to_bytes(2) if long else bytes((length,))
    body = size + bytes((protocol,)) + content + (serial & 0xFFFF).to_bytes(2)
    return (LONG if long else SHORT) + body + crc_itu(body).to_bytes(2) + STOP
