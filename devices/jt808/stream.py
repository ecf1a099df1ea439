"""JT/T 808 stream decoder: bytes in, records and the platform's replies out.

One instance per connection. :meth:`Jt808Stream.feed` frames on 0x7E, checks each frame
(:func:`devices.jt808.frame.parse`), reassembles sub-packages and turns location reports into
:class:`~devices.records.Fix` records (or :class:`~devices.records.NoFix` when the terminal
says it is not positioned), each with its alarm and status words as a
:class:`~devices.status.DeviceStatus`. The replies the standard asks of the platform (0x8100 to
a registration, 0x8001 to everything else that is not itself a reply) are queued and taken with
:meth:`take_output`, which the gateway calls only after the records of the same read were
accepted: a terminal whose location was not acknowledged sends it again.

Nothing here raises on input; every refusal is counted (:class:`~devices.reject.Reject`).
"""

from __future__ import annotations

from collections.abc import Callable

from devices.commands import Command, CommandAnswer, CommandKind, UnsupportedCommand
from devices.jt808 import accel
from devices.jt808 import frame as wire
from devices.jt808.messages import (
    PARAM_IDS,
    ControlWord,
    MsgId,
    RegisterResult,
    ReplyResult,
    decode_batch,
    decode_reply,
    encode_params,
    encode_text,
    platform_reply,
    register_reply,
)
from devices.records import NoFix, Record
from devices.reject import Reject
from devices.stats import DecodeStats

#: sub-packaged messages being reassembled at once, and packages per message
MAX_REASSEMBLIES = 4
MAX_PACKAGES = 256

_KMH_PER_KNOT = 1.852
#: messages that are themselves answers to the platform: no general reply
_NO_REPLY = frozenset({MsgId.TERMINAL_REPLY, MsgId.REGISTER, MsgId.PARAMS_REPLY,
                       MsgId.ATTRIBUTES_REPLY, MsgId.LOCATION_QUERY_REPLY, MsgId.CONTROL_REPLY})
_NAMES = {m.value: m.name.lower() for m in MsgId}
_PLATFORM_REPLY = int(MsgId.PLATFORM_REPLY)
_LOCATION = int(MsgId.LOCATION)


class Jt808Stream:
    """Incremental decoder for one JT/T 808 connection.

    Args:
        stats: counters to add to (shared by the gateway across connections).
        terminal: a terminal id known from outside; frames name their own and win.
        max_frame: longest escaped frame accepted, in bytes.
        auth_code: the authentication code given in a registration reply, from the terminal
            id (by default the id itself: fieldgate authenticates terminals by its registry,
            not by this code, which it accepts as sent).
        register_result: the registration reply's result for a terminal id (by default OK:
            unknown terminals are then listed as unregistered by the telemetry side, as NMEA
            terminals are).
    """

    protocol = "jt808"

    def __init__(self, *, stats: DecodeStats | None = None, terminal: str | None = None,
                 max_frame: int = wire.MAX_FRAME,
                 auth_code: Callable[[str], str] | None = None,
                 register_result: Callable[[str], RegisterResult] | None = None) -> None:
        self.stats = stats if stats is not None else DecodeStats()
        self.terminal = terminal
        self.max_frame = max_frame
        self.sentences = 0  #: messages accepted (the session's counter)
        self.rejected = 0
        self._answers: list[CommandAnswer] = []
        self._phone: str | None = None  # as the header carries it (for commands)
        self._version: int | None = None
        self._auth_code = auth_code or (lambda terminal: terminal)
        self._register_result = register_result or (lambda terminal: RegisterResult.OK)
        self._buf = bytearray()
        self._started = False  # a flag has been seen: bytes now belong to frames
        self._discarding = False  # inside an overlong frame: drop bytes until the next flag
        self._out = bytearray()
        self._serial = 0  # the platform's message serial number
        self._parts: dict[tuple[str, int, int], dict[int, wire.Message]] = {}
        self._bcd: dict[str, bytes] = {}  # the header's phone digits as sent
        # the C accelerator's or the pure-Python codecs (devices/jt808/accel.py)
        self._parse = accel.parse
        self._decode_location = accel.decode_location
        self._encode_frame = accel.encode_frame
        self._make_fix = accel.make_fix
        self._make_status = accel.make_status
        self._fast = accel.location_frame

    # -- framing ---------------------------------------------------------------------------

    def feed(self, data: bytes) -> list[Record]:
        """Decode a chunk of bytes; returns the records of the frames it completed."""
        out: list[Record] = []
        buf = self._buf
        buf += data
        pos = 0
        n = len(buf)
        while pos < n:
            flag = buf.find(0x7E, pos)
            if flag < 0:
                break
            if not self._started:
                self._started = True
                if flag > pos:
                    self._reject(Reject.NO_FRAME)
            elif self._discarding:
                self._discarding = False
            elif flag > pos:
                self._frame(bytes(buf[pos:flag]), out)
            pos = flag + 1
        del buf[:pos]
        if len(buf) > self.max_frame:
            if self._started and not self._discarding:
                self._reject(Reject.OVERLONG)
                self._discarding = True
            elif not self._started:
                self._reject(Reject.NO_FRAME)
            buf.clear()
        return out

    def flush(self) -> list[Record]:
        """End of stream: a frame without its closing flag is counted and dropped."""
        if self._buf and self._started and not self._discarding:
            self._reject(Reject.TRUNCATED)
        elif self._buf and not self._started:
            self._reject(Reject.NO_FRAME)
        self._buf.clear()
        self._discarding = False
        return []

    def take_output(self) -> bytes:
        """The replies queued since the last call, as wire bytes."""
        out = bytes(self._out)
        self._out.clear()
        return out

    # -- messages --------------------------------------------------------------------------

    def _frame(self, raw: bytes, out: list[Record]) -> None:
        fast = self._fast
        if fast is not None:
            # the common frame decoded, recorded and answered in one C call (accel.py)
            hit = fast(raw, self._serial, self.max_frame)
            if hit is not None:
                fix, reply, self._phone, self._version = hit
                self.terminal = fix.terminal
                out.append(fix)
                self.sentences += 1
                stats = self.stats
                stats.fixes += 1
                stats.accept("location")
                self._out += reply
                self._serial = (self._serial + 1) & 0xFFFF
                return
        if len(raw) > self.max_frame:
            self._reject(Reject.OVERLONG)
            return
        msg = self._parse(raw)
        if isinstance(msg, Reject):
            self._reject(msg)
            return
        if msg.encrypted:
            self._reject(Reject.UNSUPPORTED)
            self._reply(msg, ReplyResult.UNSUPPORTED)
            return
        if msg.packages is not None:
            whole = self._reassemble(msg)
            self._reply(msg, ReplyResult.OK)
            if whole is None:
                return
            msg = whole
        self.terminal = msg.terminal
        self._phone = msg.phone
        self._version = msg.version
        self._dispatch(msg, out)

    def _reassemble(self, part: wire.Message) -> wire.Message | None:
        total, index = part.packages  # type: ignore[misc]  # checked by the caller
        if total > MAX_PACKAGES:
            self._reject(Reject.OVERLONG)
            return None
        key = (part.phone, part.msg_id, total)
        parts = self._parts.get(key)
        if parts is None:
            if len(self._parts) >= MAX_REASSEMBLIES:
                oldest = next(iter(self._parts))
                self._reject(Reject.TRUNCATED, len(self._parts.pop(oldest)))
            parts = self._parts[key] = {}
        parts[index] = part  # a resent package replaces the first copy
        if len(parts) < total:
            return None
        del self._parts[key]
        body = b"".join(parts[i].body for i in range(1, total + 1))
        first = parts[1]
        return wire.Message(first.msg_id, first.phone, first.serial, body, first.version)

    def _dispatch(self, msg: wire.Message, out: list[Record]) -> None:
        mid = msg.msg_id
        if mid == _LOCATION:
            if self._location(msg.body, msg.terminal, out):
                self._reply(msg, 0)  # ReplyResult.OK
            else:
                self._reply(msg, ReplyResult.BAD_MESSAGE)
            return
        if mid == MsgId.BATCH_LOCATION:
            bodies = decode_batch(msg.body)
            if bodies is None:
                self._reject(Reject.MALFORMED)
                self._reply(msg, ReplyResult.BAD_MESSAGE)
                return
            for body in bodies:
                self._location(body, msg.terminal, out, count=False)
            self._count(mid)
            self._reply(msg, ReplyResult.OK)
            return
        if mid in (MsgId.LOCATION_QUERY_REPLY, MsgId.CONTROL_REPLY):
            if len(msg.body) < 2:
                self._reject(Reject.TRUNCATED)
            elif self._location(msg.body[2:], msg.terminal, out):
                self._answers.append(CommandAnswer(int.from_bytes(msg.body[0:2]), True,
                                                   "position reported"))
            return
        if mid == MsgId.REGISTER:
            self._count(mid)
            result = self._register_result(msg.terminal)
            code = self._auth_code(msg.terminal) if result is RegisterResult.OK else ""
            self._send(msg, MsgId.REGISTER_REPLY, register_reply(msg.serial, result, code))
            return
        if mid == MsgId.TERMINAL_REPLY:
            reply = decode_reply(msg.body)
            if reply is None:
                self._reject(Reject.MALFORMED)
                return
            self._count(mid)
            outcome = reply[2]
            name = (ReplyResult(outcome).name.lower()
                    if outcome in ReplyResult._value2member_map_ else f"result {outcome}")
            self._answers.append(CommandAnswer(reply[0], outcome == 0, name))
            return
        self._count(mid)  # heartbeat, logout, authentication, and whatever else is sent
        if mid not in _NO_REPLY:
            self._reply(msg, ReplyResult.OK)

    def _location(self, body: bytes, terminal: str, out: list[Record], *,
                  count: bool = True) -> bool:
        loc = self._decode_location(body)
        if loc is None:
            self._reject(Reject.TRUNCATED)
            return False
        if not (-90.0 <= loc.lat <= 90.0 and -180.0 <= loc.lon <= 180.0):
            self._reject(Reject.MALFORMED)
            return False
        status = loc.device_status(self._make_status)
        stats = self.stats
        if loc.positioned and loc.time is not None:
            out.append(self._make_fix(loc.time, loc.lat, loc.lon, loc.speed_kmh / _KMH_PER_KNOT,
                                      float(loc.course), float(loc.alt_m), loc.sats, None, None,
                                      None, terminal, status))
            stats.fixes += 1
        elif loc.positioned:
            self._reject(Reject.UNDATED)
            return False
        else:
            out.append(NoFix(loc.time, loc.sats, terminal, status))
            stats.no_fixes += 1
        self.sentences += 1
        stats.accept("location" if count else "batch_location.item")
        return True

    # -- counters and replies --------------------------------------------------------------

    def _count(self, mid: int) -> None:
        self.sentences += 1
        self.stats.accept(_NAMES.get(mid) or f"0x{mid:04x}")

    def _reject(self, reason: Reject, count: int = 1) -> None:
        self.rejected += count
        self.stats.reject(reason, count)

    def _reply(self, msg: wire.Message, result: int) -> None:
        self._send(msg, _PLATFORM_REPLY, platform_reply(msg.serial, msg.msg_id, result))

    def _send(self, msg: wire.Message, msg_id: int, body: bytes) -> None:
        phone = self._bcd.get(msg.phone)
        if phone is None:
            phone = self._bcd[msg.phone] = bytes.fromhex(msg.phone)
        self._out += self._encode_frame(msg_id, phone, self._next_serial(), body, msg.version,
                                        None)

    def _next_serial(self) -> int:
        serial = self._serial
        self._serial = (serial + 1) & 0xFFFF
        return serial

    def send_command(self, command: Command, ref: int) -> tuple[int, bytes]:
        """The frame of ``command`` for this connection's terminal and the serial it carries,
        which the terminal's answer names (:meth:`take_answers`). ``ref`` is not needed: the
        platform serial identifies the command.

        Raises:
            UnsupportedCommand: no terminal identified yet, or a kind JT/T 808 has no message
                for (``raw``).
        """
        if self._phone is None:
            raise UnsupportedCommand("the terminal has not identified itself yet")
        kind = command.kind
        if kind is CommandKind.SET_INTERVAL:
            pid, size = PARAM_IDS["report_interval_s"]
            assert command.interval_s is not None  # checked by Command
            msg_id, body = MsgId.SET_PARAMS, encode_params({pid: command.interval_s.to_bytes(
                size)})
        elif kind is CommandKind.LOCATE:
            msg_id, body = MsgId.LOCATION_QUERY, b""
        elif kind is CommandKind.TEXT:
            msg_id, body = MsgId.TEXT_MESSAGE, encode_text(command.text or "",
                                                           version=self._version)
        elif kind is CommandKind.RESET:
            msg_id, body = MsgId.TERMINAL_CONTROL, bytes((ControlWord.RESET,))
        else:
            raise UnsupportedCommand(f"JT/T 808 has no message for a {kind} command")
        serial = self._next_serial()
        return serial, wire.build(msg_id, self._phone, serial, body, version=self._version)

    def take_answers(self) -> list[CommandAnswer]:
        """The terminal's answers to commands since the last call."""
        answers, self._answers = self._answers, []
        return answers
