"""Small valid images made in code, for the tests that upload photos and signatures."""

from __future__ import annotations

import zlib
from struct import pack

#: the smallest shape of a JPEG file: start-of-image, an APP0 header, end-of-image
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64 + b"\xff\xd9"


def png(width: int = 2, height: int = 2, rgb: bytes = b"\xff\xff\xff") -> bytes:
    """A valid ``width`` x ``height`` PNG of one colour."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return pack(">I", len(data)) + kind + data + pack(">I", zlib.crc32(kind + data))
    raw = b"".join(b"\x00" + rgb * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
