"""Decode counters, shared by every wire protocol's stream."""

from __future__ import annotations

from dataclasses import dataclass, field

from devices.reject import Reject


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

    def reject(self, reason: Reject, count: int = 1) -> None:
        self.rejected[reason] = self.rejected.get(reason, 0) + count
