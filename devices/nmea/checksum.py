"""NMEA 0183 checksum: XOR of every byte between ``$`` and ``*``, written as two hex digits."""

from __future__ import annotations


def checksum(body: bytes) -> int:
    """XOR of ``body`` (the bytes between ``$`` and ``*``)."""
    value = 0
    for byte in body:
        value ^= byte
    return value


def with_checksum(body: bytes) -> bytes:
    """``$body*HH`` (no line ending)."""
    return b"$%s*%02X" % (body, checksum(body))
