"""Decode counters, shared by every wire protocol's stream."""

from __future__ import annotations

from dataclasses import dataclass, field

from devices.reject import Reject

#: distinct kinds counted by name (binary protocols; NMEA keeps its own, same-valued limit)
MAX_COUNTED_TYPES = 64


@dataclass(slots=True)
class DecodeStats:
    """Counters for one stream, or shared by many (the gateway passes one for all sessions)."""

    by_type: dict[str, int] = field(default_factory=dict)  #: accepted sentences / messages per type
    rejected: dict[Reject, int] = field(default_factory=dict)
    fixes: int = 0
    no_fixes: int = 0

    @property
    def sentences(self) -> int:
        return sum(self.by_type.values())

    @property
    def rejected_total(self) -> int:
        return sum(self.rejected.values())

    def accept(self, kind: str) -> None:
        """One message or sentence of ``kind`` accepted. Distinct kinds past
        :data:`MAX_COUNTED_TYPES` are counted as ``other``: garbage with a valid check code must
        not grow the table without bound."""
        by_type = self.by_type
        if kind not in by_type and len(by_type) >= MAX_COUNTED_TYPES:
            kind = "other"
        by_type[kind] = by_type.get(kind, 0) + 1

    def reject(self, reason: Reject, count: int = 1) -> None:
        self.rejected[reason] = self.rejected.get(reason, 0) + count
