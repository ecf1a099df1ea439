"""JT/T 808 framing: 0x7E flags, 0x7D escapes, the XOR check code and the message header.

A frame on the wire is ``7E <header> <body> <check> 7E`` where every 0x7E inside is sent as
``7D 02`` and every 0x7D as ``7D 01``; the check code is the XOR of header and body. The header
(JT/T 808-2013 §4.4, 2019 §4.4):

==========  ============  ==========================================================
message id  WORD
properties  WORD          bits 0-9 body length, 10-12 encryption (bit 10: RSA),
                          13 sub-packaged, 14 version flag (2019 header), 15 reserved
version     BYTE          2019 header only (1 = JT/T 808-2019)
phone       BCD[6]/[10]   the terminal's phone number: 12 digits (2013), 20 (2019)
serial      WORD          the terminal's message serial number
packages    WORD, WORD    total and index (from 1), only when sub-packaged
==========  ============  ==========================================================

:func:`parse` never raises on input: it returns a :class:`Message` or the
:class:`~devices.reject.Reject` reason.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from devices.reject import Reject

FLAG = 0x7E
ESCAPE = 0x7D
#: longest body the 10-bit length field can declare
MAX_BODY = 0x3FF
#: longest escaped frame between flags: header (17) + body + check, each byte possibly escaped
MAX_FRAME = 2 * (17 + MAX_BODY + 1)

_RSA = 0x0400
_SUBPACKAGE = 0x2000
_VERSION_FLAG = 0x4000
_RESERVED = 0x8000
_HEAD = struct.Struct(">HH")


@dataclass(frozen=True, slots=True)
class Message:
    """One decoded frame (a sub-package carries its part of the body)."""

    msg_id: int
    phone: str  #: BCD digits as sent (12 or 20), leading zeros kept; hex digits from some makers
    serial: int
    body: bytes
    version: int | None = None  #: None: 2013 header; else the 2019 header's version byte
    packages: tuple[int, int] | None = None  #: (total, index) of a sub-package
    encrypted: bool = False  #: RSA-encrypted body (bit 10)

    @property
    def terminal(self) -> str:
        """The terminal id: the phone number without its padding zeros, as on the label."""
        return self.phone.lstrip("0") or "0"


def unescape(raw: bytes) -> bytes | None:
    """The bytes between two flags with escapes undone; None for a 0x7D that ends them."""
    if ESCAPE not in raw:
        return raw
    out = bytearray()
    i = 0
    n = len(raw)
    while i < n:
        b = raw[i]
        if b == ESCAPE:
            if i + 1 >= n:
                return None
            nxt = raw[i + 1]
            if nxt == 0x01:
                out.append(ESCAPE)
                i += 2
            elif nxt == 0x02:
                out.append(FLAG)
                i += 2
            else:
                # a 0x7D its sender did not escape (seen from several makers): taken as it
                # stands, and the check code decides
                out.append(b)
                i += 1
        else:
            out.append(b)
            i += 1
    return bytes(out)


def escape(data: bytes) -> bytes:
    return data.replace(b"\x7d", b"\x7d\x01").replace(b"\x7e", b"\x7d\x02")


def check_code(data: bytes) -> int:
    """XOR of every byte (header and body): eight at a time, then folded."""
    pad = -len(data) % 8
    words = memoryview(data + bytes(pad) if pad else data).cast("Q")
    x = 0
    for word in words:
        x ^= word
    x ^= x >> 32
    x ^= x >> 16
    x ^= x >> 8
    return x & 0xFF


def parse(raw: bytes) -> Message | Reject:
    """Decode the bytes between two flags (escaped, flags excluded)."""
    data = unescape(raw)
    if data is None:
        return Reject.MALFORMED
    if len(data) < 13:  # 2013 header (12) + check code
        return Reject.TRUNCATED
    if check_code(data[:-1]) != data[-1]:
        return Reject.BAD_CHECKSUM
    msg_id = int.from_bytes(data[0:2])
    props = int.from_bytes(data[2:4])
    if props & _RESERVED:
        return Reject.UNSUPPORTED  # not a JT/T 808 header: a maker's own format on the port
    if props & _VERSION_FLAG:
        if len(data) < 18:
            return Reject.TRUNCATED
        version: int | None = data[4]
        phone_raw = data[5:15]
        pos = 15
    else:
        version = None
        phone_raw = data[4:10]
        pos = 10
    # BCD by the standard; some makers put hex digits there (Traccar reads it as hex too)
    phone = phone_raw.hex()
    serial = int.from_bytes(data[pos:pos + 2])
    pos += 2
    packages = None
    if props & _SUBPACKAGE:
        if len(data) < pos + 5:
            return Reject.TRUNCATED
        total = int.from_bytes(data[pos:pos + 2])
        index = int.from_bytes(data[pos + 2:pos + 4])
        pos += 4
        if total == 0 or not 1 <= index <= total:
            return Reject.MALFORMED
        packages = (total, index)
    body = data[pos:-1]
    # the flags and the check code delimit and protect the body; the length field is not
    # trusted (some terminals count wrong, e.g. a 0x0900 declaring two bytes it does not send)
    return Message(msg_id, phone, serial, body, version, packages, bool(props & _RSA))


def build(msg_id: int, phone: str, serial: int, body: bytes = b"", *,
          version: int | None = None, packages: tuple[int, int] | None = None) -> bytes:
    """One frame, flags included, ready for the wire. ``phone`` is padded with zeros to the
    header's width (12 digits, or 20 with a 2019 ``version``)."""
    if len(body) > MAX_BODY:
        raise ValueError(f"body of {len(body)} bytes: longer than {MAX_BODY}, sub-package it")
    width = 12 if version is None else 20
    if len(phone) > width or any(c not in "0123456789abcdef" for c in phone):
        raise ValueError(f"phone must be at most {width} digits, got {phone!r}")
    return encode_frame(msg_id, bytes.fromhex(phone.zfill(width)), serial, body,
                        version=version, packages=packages)


def encode_frame(msg_id: int, phone_bcd: bytes, serial: int, body: bytes, *,
                 version: int | None = None, packages: tuple[int, int] | None = None) -> bytes:
    """:func:`build` with the phone already as its BCD bytes (the gateway's replies: the
    header's own bytes echoed) and no checks."""
    props = len(body)
    if version is not None:
        props |= _VERSION_FLAG
    if packages is not None:
        props |= _SUBPACKAGE
    head = _HEAD.pack(msg_id, props)
    if version is not None:
        head += bytes((version,))
    head += phone_bcd + (serial & 0xFFFF).to_bytes(2)
    if packages is not None:
        head += packages[0].to_bytes(2) + packages[1].to_bytes(2)
    data = head + body
    data += bytes((check_code(data),))
    if 0x7D in data or 0x7E in data:
        data = escape(data)
    return b"\x7e" + data + b"\x7e"
