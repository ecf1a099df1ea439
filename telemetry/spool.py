"""A durable, bounded, on-disk FIFO of batches for when the database is away.

Layout of ``spool_dir``::

    .lock                       flock()ed by the owning process: one process per directory
    00000000000000000007.seg    segment files, appended in order, replayed oldest first
    quarantine/                 corrupt segments and batches the database refused, kept for people

A segment is a sequence of frames ``b"FGSP" | u32 payload length | u32 CRC-32 of payload |
payload`` (big-endian). A frame is appended with one ``write`` and, with ``fsync=True``, an
``fsync`` before ``append`` returns: once the writer has been told a batch is spooled, a crash
or power cut does not lose it. New segment files are made durable with an fsync of the
directory. Segments are never appended to after a restart: a torn tail left by a crash stays
at the end of a sealed segment.

Frames are deleted only after the batch they hold was committed (:meth:`Spool.commit`), a whole
segment at a time. Reading back validates magic, length and CRC; a bad region is counted, the
reader resynchronises on the next magic, and the good frames before and after it are kept.
A segment that had bad regions is moved to ``quarantine/`` (not deleted) once drained.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import struct
import zlib
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from telemetry.errors import SpoolError, SpoolLocked

log = logging.getLogger(__name__)

MAGIC = b"FGSP"
HEAD = struct.Struct(">4sII")
SUFFIX = ".seg"
QUARANTINE = "quarantine"


@dataclass(slots=True, eq=False)
class Segment:
    seq: int
    path: Path
    size: int = 0  #: bytes in the file
    frames: deque[Frame] = field(default_factory=deque)  #: not yet committed, oldest first
    sealed: bool = False  #: no more appends (left over from before, or rotated)
    corrupt: bool = False  #: bad regions were found: quarantine instead of delete


@dataclass(slots=True, eq=False)
class Frame:
    segment: Segment
    offset: int
    length: int  #: payload bytes

    @property
    def size(self) -> int:
        return HEAD.size + self.length


@dataclass(slots=True)
class SpoolCounters:
    corrupt_regions: int = 0  #: bad or truncated regions found in segment files
    quarantined_segments: int = 0
    quarantined_batches: int = 0
    appended: int = 0
    committed: int = 0


def scan_frames(data: bytes) -> tuple[list[tuple[int, int]], int]:
    """Valid frames ``(offset, payload length)`` in ``data`` and the number of bad regions."""
    frames: list[tuple[int, int]] = []
    bad = 0
    pos = 0
    end = len(data)
    while pos < end:
        if data.startswith(MAGIC, pos) and pos + HEAD.size <= end:
            _magic, length, crc = HEAD.unpack_from(data, pos)
            stop = pos + HEAD.size + length
            if stop <= end and zlib.crc32(data[pos + HEAD.size : stop]) == crc:
                frames.append((pos, length))
                pos = stop
                continue
        bad += 1
        nxt = data.find(MAGIC, pos + 1)
        if nxt < 0:
            break
        pos = nxt
    return frames, bad


class Spool:
    """See the module docstring. All methods are called from one event loop."""

    def __init__(self, directory: Path, *, max_bytes: int, segment_bytes: int,
                 fsync: bool = True) -> None:
        self.directory = Path(directory)
        self.max_bytes = max_bytes
        self.segment_bytes = segment_bytes
        self.fsync = fsync
        self.counters = SpoolCounters()
        self._segments: deque[Segment] = deque()
        self._active: Segment | None = None
        self._active_fd: int | None = None
        self._next_seq = 1
        self._lock_fd: int | None = None
        self._file_bytes = 0
        self._pending_bytes = 0
        self._pending = 0
        self._cond = asyncio.Condition()
        self._overflow = False

    # -- opening ----------------------------------------------------------------------------

    @classmethod
    async def open(cls, directory: Path, *, max_bytes: int, segment_bytes: int,
                   fsync: bool = True) -> Spool:
        spool = cls(directory, max_bytes=max_bytes, segment_bytes=segment_bytes, fsync=fsync)
        await asyncio.to_thread(spool._open_sync)
        return spool

    def _open_sync(self) -> None:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            (self.directory / QUARANTINE).mkdir(exist_ok=True)
            fd = os.open(self.directory / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise SpoolError(f"cannot use spool directory {self.directory}: {exc}") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            os.close(fd)
            raise SpoolLocked(f"spool directory {self.directory} is used by another process") \
                from exc
        self._lock_fd = fd
        for path in sorted(self.directory.glob("*" + SUFFIX)):
            try:
                seq = int(path.stem)
            except ValueError:
                log.warning("spool: ignoring unexpected file %s", path)
                continue
            self._next_seq = max(self._next_seq, seq + 1)
            self._load_segment(seq, path)
        if self._pending:
            log.warning("spool: %d batch(es) (%d bytes) left over in %s will be replayed",
                        self._pending, self._pending_bytes, self.directory)

    def _load_segment(self, seq: int, path: Path) -> None:
        data = path.read_bytes()
        frames, bad = scan_frames(data)
        segment = Segment(seq=seq, path=path, size=len(data), sealed=True, corrupt=bad > 0)
        if bad:
            self.counters.corrupt_regions += bad
            log.error("spool: %s has %d corrupt or truncated region(s); %d good batch(es) kept",
                      path, bad, len(frames))
        for offset, length in frames:
            segment.frames.append(Frame(segment, offset, length))
        if not segment.frames:
            self._retire(segment)
            return
        self._segments.append(segment)
        self._file_bytes += segment.size
        self._pending += len(segment.frames)
        self._pending_bytes += sum(f.size for f in segment.frames)

    # -- state --------------------------------------------------------------------------------

    @property
    def pending_batches(self) -> int:
        return self._pending

    @property
    def pending_bytes(self) -> int:
        return self._pending_bytes

    @property
    def file_bytes(self) -> int:
        return self._file_bytes

    @property
    def is_empty(self) -> bool:
        return self._pending == 0

    def has_room(self, size: int) -> bool:
        # an empty spool takes any batch, however big: otherwise it could never be taken
        return (self._overflow or self._file_bytes == 0
                or self._file_bytes + HEAD.size + size <= self.max_bytes)

    async def allow_overflow(self) -> None:
        """From now on take batches beyond ``max_bytes`` (shutdown: over the bound beats lost)."""
        async with self._cond:
            self._overflow = True
            self._cond.notify_all()

    # -- writing ------------------------------------------------------------------------------

    async def append(self, payload: bytes, *, wait: bool = True) -> None:
        """Append one batch durably. Waits while the spool is full, unless ``wait`` is False
        (used for the final flush at shutdown: better over the bound than lost).
        """
        async with self._cond:
            if wait:
                await self._cond.wait_for(lambda: self.has_room(len(payload)))
            frame = await asyncio.to_thread(self._append_sync, payload)
            self._pending += 1
            self._pending_bytes += frame.size
            self._file_bytes += frame.size
            self.counters.appended += 1
            self._cond.notify_all()

    def _append_sync(self, payload: bytes) -> Frame:
        segment = self._active
        try:
            if segment is None or segment.size >= self.segment_bytes:
                if segment is not None:
                    self._seal_active()
                segment = self._new_segment()
            head = HEAD.pack(MAGIC, len(payload), zlib.crc32(payload))
            assert self._active_fd is not None
            os.write(self._active_fd, head + payload)
            if self.fsync:
                os.fsync(self._active_fd)
        except OSError as exc:
            raise SpoolError(f"cannot append to spool {self.directory}: {exc}") from exc
        frame = Frame(segment, segment.size, len(payload))
        segment.size += frame.size
        segment.frames.append(frame)
        return frame

    def _new_segment(self) -> Segment:
        seq = self._next_seq
        self._next_seq += 1
        path = self.directory / f"{seq:020d}{SUFFIX}"
        self._active_fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o644)
        if self.fsync:
            self._fsync_dir()
        segment = Segment(seq=seq, path=path)
        self._active = segment
        self._segments.append(segment)
        return segment

    def _seal_active(self) -> None:
        if self._active_fd is not None:
            os.close(self._active_fd)
        self._active_fd = None
        if self._active is not None:
            self._active.sealed = True
        self._active = None

    def _fsync_dir(self) -> None:
        fd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    # -- reading ------------------------------------------------------------------------------

    async def wait_nonempty(self) -> None:
        async with self._cond:
            await self._cond.wait_for(lambda: self._pending > 0)

    async def peek(self) -> tuple[Frame, bytes] | None:
        """The oldest batch not yet committed, with its payload; None when empty.

        A frame that no longer reads back intact (disk trouble after it was written) is
        counted, dropped and the next one is returned.
        """
        while self._segments:
            segment = self._segments[0]
            if not segment.frames:
                await self._drop_drained()
                continue
            frame = segment.frames[0]
            payload = await asyncio.to_thread(self._read_sync, frame)
            if payload is not None:
                return frame, payload
            self.counters.corrupt_regions += 1
            segment.corrupt = True
            log.error("spool: batch at %s:%d no longer reads back intact; skipped",
                      segment.path, frame.offset)
            await self.commit(frame)
        return None

    def _read_sync(self, frame: Frame) -> bytes | None:
        try:
            with open(frame.segment.path, "rb") as fh:
                fh.seek(frame.offset)
                data = fh.read(frame.size)
        except OSError as exc:
            raise SpoolError(f"cannot read spool segment {frame.segment.path}: {exc}") from exc
        if len(data) != frame.size:
            return None
        magic, length, crc = HEAD.unpack_from(data)
        payload = data[HEAD.size :]
        if magic != MAGIC or length != frame.length or zlib.crc32(payload) != crc:
            return None
        return payload

    async def commit(self, frame: Frame) -> None:
        """The batch in ``frame`` is committed: forget it; delete its segment once drained."""
        async with self._cond:
            segment = frame.segment
            if not segment.frames or segment.frames[0] is not frame:
                raise SpoolError("spool frames must be committed oldest first")
            segment.frames.popleft()
            self._pending -= 1
            self._pending_bytes -= frame.size
            self.counters.committed += 1
            if not segment.frames:
                await self._drop_drained_locked()
            self._cond.notify_all()

    async def quarantine(self, frame: Frame, payload: bytes, reason: str) -> Path:
        """Keep a batch the database refuses in ``quarantine/`` and commit it out of the spool."""
        name = f"batch-{frame.segment.seq:020d}-{frame.offset}.frame"
        target = self.directory / QUARANTINE / name

        def write() -> None:
            target.write_bytes(HEAD.pack(MAGIC, len(payload), zlib.crc32(payload)) + payload)
            target.with_suffix(".reason").write_text(reason + "\n")

        await asyncio.to_thread(write)
        self.counters.quarantined_batches += 1
        log.error("spool: batch quarantined to %s: %s", target, reason)
        await self.commit(frame)
        return target

    async def _drop_drained(self) -> None:
        async with self._cond:
            await self._drop_drained_locked()
            self._cond.notify_all()

    async def _drop_drained_locked(self) -> None:
        while self._segments and not self._segments[0].frames:
            segment = self._segments.popleft()
            if segment is self._active:
                self._seal_active()
            self._file_bytes -= segment.size
            await asyncio.to_thread(self._retire, segment)

    def _retire(self, segment: Segment) -> None:
        """Delete a drained segment, or move it to quarantine if it had bad regions."""
        try:
            if segment.corrupt:
                segment.path.rename(self.directory / QUARANTINE / segment.path.name)
                self.counters.quarantined_segments += 1
                log.error("spool: corrupt segment %s moved to %s/", segment.path.name, QUARANTINE)
            else:
                segment.path.unlink(missing_ok=True)
            if self.fsync:
                self._fsync_dir()
        except OSError as exc:
            raise SpoolError(f"cannot remove drained spool segment {segment.path}: {exc}") \
                from exc

    # -- closing ------------------------------------------------------------------------------

    def close(self) -> None:
        self._seal_active()
        if self._lock_fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            os.close(self._lock_fd)
            self._lock_fd = None
