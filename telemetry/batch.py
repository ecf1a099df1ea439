"""What the ingest accumulates between flushes, and the batch it hands to a writer or the spool.

A batch is the unit of everything downstream: one database transaction, one spool frame, one
ledger id. Besides the fixes it carries per-terminal deltas coalesced in memory (one
``terminal_state`` upsert per terminal per batch, not per fix) and the unknown-terminal sightings.
"""

from __future__ import annotations

import json
import struct
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from devices.records import Fix
from telemetry.pgcopy import Chunk, EncodeStats, encode_positions

PAYLOAD_VERSION = 1
_U32 = struct.Struct(">I")


@dataclass(slots=True)
class StateDelta:
    """Changes to one terminal's ``terminal_state`` row within one batch (None: unchanged)."""

    transport: str | None
    remote_addr: str | None
    last_seen_at: datetime | None
    connected: bool
    connected_at: datetime | None = None
    disconnected_at: datetime | None = None
    fix: Fix | None = None  #: newest fix (by fix time) of the batch
    sentences: int = 0
    rejected: int = 0
    fixes: int = 0
    connects: int = 0
    #: the newest status the terminal reported in the batch (binary protocols): ignition,
    #: its alarms' names comma-separated, and when it arrived; None: no status in the batch
    acc: bool | None = None
    alarms: str | None = None
    status_at: datetime | None = None


@dataclass(slots=True)
class UnknownDelta:
    """Sightings of one unregistered (or not yet resolved) terminal within one batch."""

    transport: str
    remote_addr: str
    first_seen_at: datetime
    last_seen_at: datetime
    messages: int = 0  #: records (epochs, with or without a fix) received
    fixes: int = 0
    fix: Fix | None = None  #: newest fix (by fix time)


def newer(current: Fix | None, candidate: Fix) -> Fix:
    """The fix to keep as "last fix": the later one by fix time (ties: the candidate)."""
    if current is None:
        return candidate
    try:
        return candidate if candidate.time >= current.time else current
    except TypeError:  # naive vs aware: the encoder will treat naive as UTC; here keep arrival
        return candidate


class PendingBatch:
    """The accumulator publish() appends to; swapped for a fresh one at each flush."""

    __slots__ = ("chunks", "rows", "states", "unknown", "undetermined")

    def __init__(self) -> None:
        self.chunks: list[Chunk] = []
        self.rows = 0
        self.states: dict[str, StateDelta] = {}
        self.unknown: dict[str, UnknownDelta] = {}
        self.undetermined: set[str] = set()

    def __bool__(self) -> bool:
        return bool(self.chunks or self.states or self.unknown)

    def freeze(self) -> Batch:
        return Batch(
            batch_id=uuid.uuid4().hex,
            chunks=self.chunks,
            rows=self.rows,
            states=self.states,
            unknown=self.unknown,
            undetermined=frozenset(self.undetermined),
        )


@dataclass(slots=True)
class Batch:
    """One transaction's worth of telemetry.

    Live batches hold ``chunks`` of Fix objects; batches read back from the spool hold the
    positions already encoded (``copy_data``) and the receive-time histogram (``received``).
    """

    batch_id: str
    chunks: list[Chunk] = field(default_factory=list)
    rows: int = 0
    states: dict[str, StateDelta] = field(default_factory=dict)
    unknown: dict[str, UnknownDelta] = field(default_factory=dict)
    undetermined: frozenset[str] = frozenset()
    copy_data: bytes | None = None
    received: dict[int, int] | None = None  #: receive time (epoch ms) -> number of fixes
    replayed: bool = False  #: read back from the spool (may have been committed before)
    encode_stats: EncodeStats = field(default_factory=EncodeStats)

    def positions_copy(self) -> bytes:
        """The positions as a binary COPY stream, encoded once and kept."""
        if self.copy_data is None:
            self.copy_data = encode_positions(self.chunks, self.encode_stats)
        return self.copy_data

    def received_counts(self) -> dict[int, int]:
        """How many fixes were received at which instant (ms), for socket-to-commit latency."""
        if self.received is None:
            counts: dict[int, int] = {}
            for _tid, received_at, fixes in self.chunks:
                ms = int(received_at.timestamp() * 1000)
                counts[ms] = counts.get(ms, 0) + len(fixes)
            self.received = counts
        return self.received

    # -- spool form -------------------------------------------------------------------------

    def to_payload(self) -> bytes:
        """``u32 header length | JSON header | positions as binary COPY`` (see docs/storage.md)."""
        header = {
            "v": PAYLOAD_VERSION,
            "id": self.batch_id,
            "rows": self.rows,
            "received": sorted(self.received_counts().items()),
            "states": {tid: _state_json(d) for tid, d in self.states.items()},
            "unknown": {tid: _unknown_json(d) for tid, d in self.unknown.items()},
            "undetermined": sorted(self.undetermined),
        }
        head = json.dumps(header, separators=(",", ":")).encode()
        return _U32.pack(len(head)) + head + self.positions_copy()

    @classmethod
    def from_payload(cls, payload: bytes) -> Batch:
        """Rebuild a batch from :meth:`to_payload` bytes.

        Raises:
            ValueError: the payload is not one (wrong version, bad JSON, truncated).
        """
        if len(payload) < 4:
            raise ValueError("spool payload shorter than its header length")
        (head_len,) = _U32.unpack_from(payload)
        if 4 + head_len > len(payload):
            raise ValueError("spool payload truncated inside its header")
        try:
            header = json.loads(payload[4 : 4 + head_len])
            if header.get("v") != PAYLOAD_VERSION:
                raise ValueError(f"spool payload version {header.get('v')!r} is not supported")
            return cls(
                batch_id=str(header["id"]),
                rows=int(header["rows"]),
                states={tid: _state_from(v) for tid, v in header["states"].items()},
                unknown={tid: _unknown_from(v) for tid, v in header["unknown"].items()},
                undetermined=frozenset(header["undetermined"]),
                copy_data=bytes(payload[4 + head_len :]),
                received={int(ms): int(n) for ms, n in header["received"]},
                replayed=True,
            )
        except (KeyError, TypeError, AttributeError, json.JSONDecodeError) as exc:
            raise ValueError(f"bad spool payload header: {exc}") from exc


def _dt(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _parse_dt(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _dt_from(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _fix_json(fix: Fix | None) -> list[Any] | None:
    if fix is None:
        return None
    return [fix.time.isoformat(), fix.lat, fix.lon, fix.speed_kn, fix.course, fix.alt_m,
            fix.sats, fix.hdop, fix.fix_quality]


def _fix_from(value: Sequence[Any] | None) -> Fix | None:
    if value is None:
        return None
    time, lat, lon, speed, course, alt, sats, hdop, quality = value
    return Fix(time=datetime.fromisoformat(time), lat=lat, lon=lon, speed_kn=speed,
               course=course, alt_m=alt, sats=sats, hdop=hdop, fix_quality=quality)


def _state_json(d: StateDelta) -> dict[str, Any]:
    return {
        "transport": d.transport, "remote": d.remote_addr, "seen": _dt(d.last_seen_at),
        "connected": d.connected, "connected_at": _dt(d.connected_at),
        "disconnected_at": _dt(d.disconnected_at), "fix": _fix_json(d.fix),
        "sentences": d.sentences, "rejected": d.rejected, "fixes": d.fixes,
        "connects": d.connects, "acc": d.acc, "alarms": d.alarms, "status_at": _dt(d.status_at),
    }


def _state_from(v: dict[str, Any]) -> StateDelta:
    return StateDelta(
        transport=v["transport"], remote_addr=v["remote"], last_seen_at=_parse_dt(v["seen"]),
        connected=bool(v["connected"]), connected_at=_parse_dt(v["connected_at"]),
        disconnected_at=_parse_dt(v["disconnected_at"]), fix=_fix_from(v["fix"]),
        sentences=int(v["sentences"]), rejected=int(v["rejected"]), fixes=int(v["fixes"]),
        connects=int(v["connects"]),
        # spooled before the status columns existed: no status
        acc=v.get("acc"), alarms=v.get("alarms"), status_at=_parse_dt(v.get("status_at")),
    )


def _unknown_json(d: UnknownDelta) -> dict[str, Any]:
    return {
        "transport": d.transport, "remote": d.remote_addr, "first": _dt(d.first_seen_at),
        "last": _dt(d.last_seen_at), "messages": d.messages, "fixes": d.fixes,
        "fix": _fix_json(d.fix),
    }


def _unknown_from(v: dict[str, Any]) -> UnknownDelta:
    return UnknownDelta(
        transport=v["transport"], remote_addr=v["remote"], first_seen_at=_dt_from(v["first"]),
        last_seen_at=_dt_from(v["last"]), messages=int(v["messages"]), fixes=int(v["fixes"]),
        fix=_fix_from(v["fix"]),
    )
